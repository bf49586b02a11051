/**
 * Freeze boundaries on the Keras architectures (VGG16, ResNet50, MobileNetV2, EfficientNetB0) with
 * seeded random weights (Keras' files cannot be downloaded here), at 32x32 input, in process:
 *  - the block ends offered, written here independently of the inspection's rules;
 *  - each offered boundary is a cut, checked on TensorFlow.js' own symbolic graph (walking back
 *    from the output, every path meets the boundary before the input);
 *  - a block end with a skip connection around it is neither offered nor accepted;
 *  - at every boundary the folded frozen part (TensorFlow.js; ONNX Runtime at three of them)
 *    equals the unfolded layers model, and the frozen part followed by the trainable part
 *    (trainable-net.ts, the graph from the cut on) equals the whole network.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KerasArchitecture } from '../../../src/shared/keras-architectures';
import { blockBoundaries, buildTrainPlan, TrainPlanError } from '../../../src/shared/train-plan';
import { initBackend } from '../../../src/main/engine/backend';
import { foldedForward, frozenForward, layersForward } from '../../../src/main/engine/frozen-forward';
import { buildArchitecture } from '../../../src/main/engine/keras/architectures';
import { inspectModel } from '../../../src/main/engine/model-layers';
import type { ModelInspection } from '../../../src/shared/domain';
import { NotACutError, trainableNet } from '../../../src/main/engine/trainable-net';
import { seedWeights } from '../../fixtures/keras';
import { startEngineInProcess } from '../../fixtures/engine-start';

const SIZE = 32;
let home: string;
let endEngineStart: () => void;

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-graph-cuts-'));
  endEngineStart = startEngineInProcess({ onnxCacheDir: path.join(home, 'models', '.onnx') });
  await initBackend({ prefer: 'wasm', threads: 1 });
});

afterAll(async () => {
  endEngineStart();
  await fs.rm(home, { recursive: true, force: true });
});

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** The block ends of each family as Keras names its layers: block outputs without a skip around them. */
const EXPECTED: Record<KerasArchitecture, { boundaries: string[]; cut: string; notACut: string; labels: Record<string, string> }> = {
  vgg16: { boundaries: range(1, 4).map((b) => `block${b}_pool`), cut: 'block5_pool', notACut: '', labels: { block3_pool: 'block 3' } },
  resnet50: {
    boundaries: ['pool1_pool', ...([[2, 3], [3, 4], [4, 6], [5, 2]] as const).flatMap(([s, n]) => range(1, n).map((b) => `conv${s}_block${b}_out`))],
    cut: 'conv5_block3_out',
    notACut: 'conv4_block3_2_relu',
    labels: { pool1_pool: 'stem', conv3_block2_out: 'stage conv3, block 2', conv4_block6_out: 'stage conv4, block 6 (end of the stage)' },
  },
  mobilenet_v2: {
    // Blocks 2, 4, 5, 7-9, 11, 12, 14, 15 end in a residual add; the others in their projection.
    boundaries: ['Conv1_relu', 'expanded_conv_project_BN', ...range(1, 16).map((b) => ([2, 4, 5, 7, 8, 9, 11, 12, 14, 15].includes(b) ? `block_${b}_add` : `block_${b}_project_BN`))],
    cut: 'out_relu',
    notACut: 'block_12_project_BN',
    labels: { expanded_conv_project_BN: 'block 0', block_12_add: 'block 12' },
  },
  efficientnetb0: {
    boundaries: ['stem_activation', ...([[1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 1]] as const).flatMap(([s, n]) => range(1, n).map((j) => `block${s}${'abcd'[j - 1]}_${j === 1 ? 'project_bn' : 'add'}`))],
    cut: 'top_activation',
    notACut: 'block5b_project_bn',
    labels: { block5a_project_bn: 'stage 5, block 5a', block6d_add: 'stage 6, block 6d (end of the stage)' },
  },
};

/** Whether every path from the model's input to `target`'s output crosses `boundary`'s output, on tfjs' symbolic graph. */
function everyPathCrosses(model: tf.LayersModel, boundary: string, target: string): boolean {
  const stop = model.getLayer(boundary);
  const stack = [model.getLayer(target).output as tf.SymbolicTensor];
  const seen = new Set<number>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t.id) || t.sourceLayer === stop) continue;
    seen.add(t.id);
    if (t.sourceLayer.getClassName() === 'InputLayer') return false;
    stack.push(...(t.sourceLayer.inboundNodes[t.nodeIndex]?.inputTensors ?? []));
  }
  return true;
}

function relDiff(a: Float32Array, ref: Float32Array): number {
  expect(a.length).toBe(ref.length);
  let d = 0;
  let s = 0;
  ref.forEach((r, i) => {
    d = Math.max(d, Math.abs(a[i]! - r));
    s = Math.max(s, Math.abs(r));
  });
  expect(s).toBeGreaterThan(1e-3);
  return d / s;
}

describe.each(Object.keys(EXPECTED) as KerasArchitecture[])('%s', (arch) => {
  const expected = EXPECTED[arch];
  let model: tf.LayersModel;
  let inspection: ModelInspection;
  let input: Float32Array;

  beforeAll(() => {
    model = buildArchitecture(arch, { includeTop: false, inputSize: SIZE, init: 'zeros' });
    seedWeights(model, 7); // BatchNorm statistics and affines far from the identity: a wrong fold shows
    inspection = inspectModel({ dir: '', name: arch, weightBytes: 0, model, preprocessing: 'raw' });
    input = tf.tidy(() => tf.randomUniform([3, SIZE, SIZE, 3], 0, 255, 'float32', 5).dataSync() as Float32Array);
  });
  afterAll(() => model.dispose());

  it('offers the block ends as freeze boundaries, each a cut of the graph', () => {
    expect(inspection.defaultCutLayer).toBe(expected.cut);
    const offered = blockBoundaries(inspection.layers, expected.cut);
    expect(offered).toEqual(expected.boundaries);
    for (const b of offered) expect(everyPathCrosses(model, b, expected.cut), b).toBe(true);
    for (const [name, label] of Object.entries(expected.labels)) expect(inspection.layers.find((l) => l.name === name)?.block, name).toBe(label);
    // Every plan splits the parameters up to the cut between frozen and trainable.
    const whole = buildTrainPlan(inspection.layers, { scenario: 4, cutLayer: expected.cut }).trainableParams;
    expect(whole).toBe(model.countParams());
    for (const b of offered) {
      const p = buildTrainPlan(inspection.layers, { scenario: 2, cutLayer: expected.cut, freezeTo: b });
      expect(p.frozenParams + p.trainableParams).toBe(whole);
      expect(p.frozenParams).toBe(tf.model({ inputs: model.inputs, outputs: model.getLayer(b).output as tf.SymbolicTensor }).countParams());
    }
  });

  it.skipIf(!expected.notACut)('neither offers nor accepts a block end that a skip connection goes around', () => {
    expect(everyPathCrosses(model, expected.notACut, expected.cut)).toBe(false);
    expect(inspection.layers.find((l) => l.name === expected.notACut)?.cutPoint).toBe(false);
    const plan = () => buildTrainPlan(inspection.layers, { scenario: 2, cutLayer: expected.cut, freezeTo: expected.notACut });
    expect(plan).toThrow(TrainPlanError);
    expect(plan).toThrow(/skip connection goes around it/);
    expect(() => trainableNet(model, { from: expected.notACut, to: expected.cut, mode: 'inference' })).toThrow(NotACutError);
  });

  it('folds the frozen part to the unfolded graph, and the frozen plus the trainable part is the whole network, at every boundary', async () => {
    const n = input.length / (SIZE * SIZE * 3);
    const whole = await layersForward(model, expected.cut, { pool: 'avg' }).runBatch(input, n, SIZE);
    const offered = blockBoundaries(inspection.layers, expected.cut);
    const onOnnx = new Set([offered[0], offered[Math.floor(offered.length / 2)], offered.at(-1)]);
    for (const b of offered) {
      const ref = await layersForward(model, b, { pool: 'none' }).runBatch(input, n, SIZE);
      const folded = foldedForward(model, b, { pool: 'none' });
      const frozen = await folded.runBatch(input, n, SIZE);
      expect(relDiff(frozen, ref), `${b} folded`).toBeLessThan(1e-4);
      if (onOnnx.has(b)) {
        const ort = await frozenForward(model, b, { pool: 'none', inputSize: SIZE, cacheAs: null });
        expect(ort.kind, b).toMatch(/^onnxruntime/);
        expect(relDiff(await ort.runBatch(input, n, SIZE), ref), `${b} on ONNX Runtime`).toBeLessThan(1e-4);
        ort.dispose();
      }
      const net = trainableNet(model, { from: b, to: expected.cut, mode: 'inference' });
      const out = tf.tidy(() => net.forward(tf.tensor(frozen, [n, ...folded.outputShape]), false).dataSync() as Float32Array);
      expect(relDiff(out, whole), `${b} frozen + trainable`).toBeLessThan(1e-4);
      net.dispose();
      folded.dispose();
    }
  });
});
