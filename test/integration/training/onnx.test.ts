/**
 * The fold plan and its two executors, in process: ONNX Runtime (onnxruntime-node, CPU provider)
 * and TensorFlow.js (wasm, one thread) agree with the plain layers model on the real MobileNet v1
 * weights (photos and random input, alpha 0.25 and 0.75) and on small graphs built here with
 * skip connections, squeeze-excite, padding, pooling and the activations the model library uses;
 * a corrupt cached .onnx is detected and rebuilt; the session's own thread takes batches handed over
 * and survives a wrong one; small images upscaled in the graph equal the engine's own upscale.
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { foldedForward, frozenForward, layersForward, SquaresUnavailableError, type FrozenForward } from '../../../src/main/engine/frozen-forward';
import { extractMissing } from '../../../src/main/engine/extract';
import { buildFoldPlan } from '../../../src/main/engine/frozen/plan';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { decodeImage, loadImage, modeMap, writeInput, writeSquare } from '../../../src/main/engine/preprocess';
import sharp from 'sharp';
import { buildHead } from '../../../src/main/engine/head';
import { exportClassifierOnnx } from '../../../src/main/engine/classifier-onnx';
import { classifierModel, saveLayersModel } from '../../../src/main/engine/model-files';
import { trainConfigSchema } from '../../../src/shared/domain';
import { MODEL_025, MODEL_075, PHOTOS } from '../../fixtures/assets';
import { legacyModelRunJson } from '../../fixtures/run-record';
import { relDiff } from '../../fixtures/compare';
import { startEngineInProcess } from '../../fixtures/engine-start';

const PHOTO_FILES = ['coffee.png', 'motorcycle_left.png', 'chelsea.png', 'fruits.jpg'];
let home: string;
let endEngineStart: () => void;

function random(n: number, size: number, seed: number, lo = -1, hi = 1): Float32Array {
  return tf.tidy(() => tf.randomUniform([n, size, size, 3], lo, hi, 'float32', seed).dataSync() as Float32Array);
}

let photos: Float32Array;

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-onnx-'));
  endEngineStart = startEngineInProcess({ onnxCacheDir: path.join(home, 'models', '.onnx') });
  const info = await initBackend({ prefer: 'wasm', threads: 1 });
  expect(info.inference?.runtime).toBe('onnxruntime');
  expect(info.inference?.provider).toBe('cpu');
  const imgs = await Promise.all(PHOTO_FILES.map((f) => loadImage(path.join(PHOTOS, f), 224)));
  photos = new Float32Array(imgs.length * 224 * 224 * 3);
  imgs.forEach((d, i) => photos.set(d, i * 224 * 224 * 3));
});

afterAll(async () => {
  endEngineStart();
  await fs.rm(home, { recursive: true, force: true });
});

describe.each([
  ['0.25', MODEL_025],
  ['0.75', MODEL_075],
])('MobileNet v1 %s: ONNX Runtime == TensorFlow.js folded == layers model', (_alpha, dir) => {
  let model: tf.LayersModel;
  beforeAll(async () => {
    model = (await loadLayersModel(dir)).model;
  });
  afterAll(() => model.dispose());

  it.each([
    ['global_average_pooling2d_1', 'avg'],
    ['conv_pw_11_relu', 'none'],
    ['conv_pw_13_relu', 'avg'],
  ] as const)('at %s (pool %s), on the photos and on random input', async (cut, pool) => {
    const ort = await frozenForward(model, cut, { pool, cacheAs: 'test-model' });
    const folded = foldedForward(model, cut, { pool });
    const plain = layersForward(model, cut, { pool });
    try {
      expect(ort.kind).toMatch(/^onnxruntime cpu x\d+/);
      expect(ort.inference).toMatchObject({ runtime: 'onnxruntime', provider: 'cpu' });
      expect(ort.outputShape).toEqual(plain.outputShape);
      for (const input of [photos, random(3, 224, 5)]) {
        const n = input.length / (224 * 224 * 3);
        const ref = await plain.runBatch(input, n, 224);
        expect(relDiff(await ort.runBatch(input, n, 224), ref)).toBeLessThan(1e-4);
        expect(relDiff(await folded.runBatch(input, n, 224), ref)).toBeLessThan(1e-4);
      }
    } finally {
      ort.dispose();
      folded.dispose();
    }
  });

  it('runs on its own thread: a batch handed over moves without a copy, a wrong batch fails alone and the session goes on', async () => {
    const ort = await frozenForward(model, 'global_average_pooling2d_1', { pool: 'avg', cacheAs: 'test-model' });
    try {
      const ref = await ort.runBatch(photos, 4, 224);
      expect(photos.length).toBe(4 * 224 * 224 * 3); // not handed over: still the caller's
      const moved = photos.slice();
      expect(relDiff(await ort.runBatch(moved, 4, 224, true), ref)).toBeLessThan(1e-6);
      expect(moved.length).toBe(0); // handed over: its buffer went to the session's thread
      await expect(ort.runBatch(new Float32Array(5 * 7), 1, 5)).rejects.toThrow(/./);
      await expect(ort.runBatch(moved, 4, 224)).rejects.toThrow(/./); // a detached buffer cannot be sent
      expect(relDiff(await ort.runBatch(photos, 4, 224), ref)).toBeLessThan(1e-6);
    } finally {
      ort.dispose();
    }
  });

  it('upscales small images in its graph exactly as the engine does in JavaScript (squares of 28, 32 and 224)', async () => {
    const ort = await frozenForward(model, 'global_average_pooling2d_1', { pool: 'avg', cacheAs: 'test-model' });
    try {
      for (const side of [28, 32, 224]) {
        const files = await Promise.all(
          PHOTO_FILES.map(async (f, i) => {
            const file = path.join(home, `${side}-${i}.png`);
            await sharp(path.join(PHOTOS, f)).resize(side + i, side, { fit: 'fill' }).png().toFile(file); // wider than high: a centre crop too
            return file;
          }),
        );
        const map = modeMap('tf');
        const squares = new Float32Array(files.length * side * side * 3);
        const upscaled = new Float32Array(files.length * 224 * 224 * 3);
        for (const [i, f] of files.entries()) {
          const img = await decodeImage(f, 224);
          writeSquare(img, map, squares, i * side * side * 3);
          writeInput(img, 224, map, upscaled, i * 224 * 224 * 3);
        }
        const ref = await ort.runBatch(upscaled, files.length, 224);
        expect(relDiff(await ort.runSquares!(squares, files.length, side), ref), `side ${side}`).toBeLessThan(1e-4);
      }
    } finally {
      ort.dispose();
    }
  });

  it('extraction sends a batch of small images as squares, and upscales them itself where the runtime refuses that model', async () => {
    const ort = await frozenForward(model, 'global_average_pooling2d_1', { pool: 'avg', cacheAs: 'test-model' });
    const targets = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const file = path.join(home, `small-${i}.png`);
        await sharp(path.join(PHOTOS, PHOTO_FILES[i % 4]!)).resize(28, 28, { fit: 'fill' }).modulate({ brightness: 0.6 + i / 50 }).png().toFile(file);
        return { hash: `h${i}`, path: file };
      }),
    );
    const extract = async (forward: FrozenForward) => {
      const rows = new Map<string, Float32Array>();
      const logs: string[] = [];
      const r = await extractMissing(forward, 224, targets, { append: async (e) => void e.forEach((x) => rows.set(x.hash, x.features)) }, undefined, (e) => void (e.type === 'log' && logs.push(e.message)));
      return { rows, logs, r };
    };
    try {
      const inGraph = await extract(ort);
      expect(inGraph.logs.join('\n')).toMatch(/40 small images upscaled in the runtime's graph/);
      // The refusal, as runSquares reports it when ONNX Runtime cannot build the upscaling model.
      const refusing: FrozenForward = { ...ort, runSquares: () => Promise.reject(new SquaresUnavailableError('ONNX Runtime cannot upscale 28x28 images in its graph (test); they are upscaled in JavaScript instead.')) };
      const inJs = await extract(refusing);
      expect(inJs.r).toEqual({ state: 'done', failed: [] });
      expect(inJs.logs.join('\n')).toMatch(/upscaled in JavaScript instead/);
      expect(inJs.logs.join('\n')).not.toMatch(/upscaled in the runtime's graph/);
      expect([...inJs.rows.keys()].sort()).toEqual([...inGraph.rows.keys()].sort());
      for (const [hash, row] of inGraph.rows) expect(relDiff(inJs.rows.get(hash)!, row), hash).toBeLessThan(1e-4);
    } finally {
      ort.dispose();
    }
  });

  it('the whole network to its softmax keeps the photos\' ImageNet classes', async () => {
    const ort = await frozenForward(model, 'act_softmax', { pool: 'none', cacheAs: null });
    const probs = await ort.runBatch(photos, 4, 224);
    ort.dispose();
    const top = [0, 1, 2, 3].map((i) => {
      const row = Array.from(probs.subarray(i * 1000, (i + 1) * 1000));
      return row.indexOf(Math.max(...row));
    });
    expect(top[0]).toBe(967); // espresso
    expect(top[1]).toBe(665); // moped
    expect(top[2]).toBeGreaterThanOrEqual(281); // a cat
    expect(top[2]).toBeLessThanOrEqual(287);
    expect([950, 951]).toContain(top[3]);
  });
});

/** Moving statistics and affine parameters that are not the identity, so a wrong fold shows. */
function randomiseBatchNorms(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.weights.map((w, i) => {
        const lo = w.name.includes('variance') ? 0.5 : -0.5;
        const hi = w.name.includes('variance') || w.name.includes('gamma') ? 1.5 : 0.5;
        return tf.randomUniform(w.shape as number[], lo, hi, 'float32', s++ * 31 + i);
      }),
    );
  }
}

/** Keras' Normalization as the model library defines it (TensorFlow.js lacks it): (x - mean) / max(sqrt(variance), 1e-7). */
class Normalization extends tf.layers.Layer {
  static className = 'Normalization';
  private mean: tf.LayerVariable | null = null;
  private variance: tf.LayerVariable | null = null;
  override build(shape: tf.Shape | tf.Shape[]): void {
    const c = (shape as tf.Shape)[3] ?? 3;
    this.mean = this.addWeight('mean', [c], 'float32', tf.initializers.constant({ value: 120 }), undefined, false);
    this.variance = this.addWeight('variance', [c], 'float32', tf.initializers.constant({ value: 3000 }), undefined, false);
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
    return tf.tidy(() => tf.div(tf.sub(x, (this.mean as tf.LayerVariable).read()), tf.maximum(tf.sqrt((this.variance as tf.LayerVariable).read()), 1e-7)));
  }
}

/** A small EfficientNet / ResNet / MobileNetV2-like graph with every layer type of the model library. */
function dagModel(withNormalization = true): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [32, 32, 3] });
  // (Normalization is not registered here, so a model holding it cannot be saved and loaded back.)
  let x = withNormalization ? (new Normalization({}).apply(input) as tf.SymbolicTensor) : input;
  x = L.rescaling({ scale: 2, offset: -0.5 }).apply(x) as tf.SymbolicTensor;
  x = L.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(x) as tf.SymbolicTensor;
  x = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(x) as tf.SymbolicTensor;
  x = L.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = L.reLU({ maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  // Inverted residual with squeeze-excite (EfficientNet's MBConv): swish, sigmoid gate, multiply, add.
  let b = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthMultiplier: 2 }).apply(x) as tf.SymbolicTensor;
  b = L.batchNormalization().apply(b) as tf.SymbolicTensor;
  b = L.activation({ activation: 'swish' }).apply(b) as tf.SymbolicTensor;
  let se = L.globalAveragePooling2d({}).apply(b) as tf.SymbolicTensor;
  se = L.reshape({ targetShape: [1, 1, 16] }).apply(se) as tf.SymbolicTensor;
  se = L.conv2d({ filters: 4, kernelSize: 1, activation: 'swish' }).apply(se) as tf.SymbolicTensor;
  se = L.conv2d({ filters: 16, kernelSize: 1, activation: 'sigmoid' }).apply(se) as tf.SymbolicTensor;
  b = L.multiply().apply([b, se]) as tf.SymbolicTensor;
  b = L.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(b) as tf.SymbolicTensor;
  b = L.batchNormalization().apply(b) as tf.SymbolicTensor;
  b = L.dropout({ rate: 0.5 }).apply(b) as tf.SymbolicTensor;
  x = L.add().apply([x, b]) as tf.SymbolicTensor;
  // ResNet-like: a strided projection shortcut, max pooling, a BatchNorm after the add (not foldable).
  let shortcut = L.conv2d({ filters: 12, kernelSize: 1, strides: 2, biasInitializer: 'randomNormal' }).apply(x) as tf.SymbolicTensor;
  shortcut = L.batchNormalization().apply(shortcut) as tf.SymbolicTensor; // folded into a conv with a bias
  let r = L.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', dilationRate: 1 }).apply(x) as tf.SymbolicTensor;
  r = L.activation({ activation: 'elu' }).apply(r) as tf.SymbolicTensor;
  x = L.add().apply([shortcut, r]) as tf.SymbolicTensor;
  x = L.batchNormalization().apply(x) as tf.SymbolicTensor;
  x = L.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const p1 = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const p2 = L.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
  x = L.concatenate({ axis: -1 }).apply([p1, p2]) as tf.SymbolicTensor;
  x = L.activation({ activation: 'hardSigmoid' }).apply(x) as tf.SymbolicTensor;
  const pooled = L.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  let d = L.dense({ units: 10, activation: 'tanh', name: 'fc1' }).apply(L.flatten().apply(x) as tf.SymbolicTensor) as tf.SymbolicTensor;
  d = L.leakyReLU({ alpha: 0.1 }).apply(d) as tf.SymbolicTensor;
  d = L.concatenate({ name: 'features' }).apply([pooled, d]) as tf.SymbolicTensor;
  const out = L.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(d) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  randomiseBatchNorms(model, 3);
  return model;
}

describe('graphs with skip connections and squeeze-excite', () => {
  let model: tf.LayersModel;
  beforeAll(() => {
    model = dagModel();
  });
  afterAll(() => model.dispose());

  it('fold every layer: BatchNorm into its conv where nothing else reads the conv, relu6 fused', () => {
    const plan = buildFoldPlan(model, 'probs');
    const ops = plan.nodes.map((n) => n.op);
    expect(ops).not.toContain('layer');
    // Three BatchNorms follow a conv and fold; the one after the add stays an affine.
    expect(ops.filter((o) => o === 'affine')).toHaveLength(3); // Normalization, Rescaling and the post-add BatchNorm
    const first = plan.nodes.find((n) => n.op === 'conv');
    expect(first?.op === 'conv' && first.act.kind).toBe('relu6');
    expect(ops.filter((o) => o === 'add')).toHaveLength(2);
    expect(ops).toContain('mul');
  });

  it.each([
    ['probs', 'none'],
    ['features', 'none'],
    ['add_2', 'avg'], // hypothetical names are avoided: resolved below
  ])('ONNX Runtime and TensorFlow.js folded equal the layers model up to %s', async (wanted, pool) => {
    const cut = wanted === 'add_2' ? (model.layers.filter((l) => l.getClassName() === 'Add')[1]?.name ?? '') : wanted;
    const input = random(6, 32, 11, 0, 255);
    const plain = layersForward(model, cut, { pool: pool as 'none' | 'avg' });
    const ref = await plain.runBatch(input, 6, 32);
    const forwards: FrozenForward[] = [await frozenForward(model, cut, { pool: pool as 'none' | 'avg', cacheAs: null }), foldedForward(model, cut, { pool: pool as 'none' | 'avg' })];
    expect(forwards[0]?.kind).toMatch(/^onnxruntime/);
    for (const f of forwards) {
      expect(f.outputShape).toEqual(plain.outputShape);
      expect(relDiff(await f.runBatch(input, 6, 32), ref)).toBeLessThan(1e-4);
      f.dispose();
    }
  });
});

describe('a saved whole classifier (the network, pooling and the nested head model)', () => {
  it('runs to its softmax as one plan, equal to the model itself', async () => {
    const network = dagModel(false);
    const head = buildHead(24 + 10, 4, trainConfigSchema.parse({ scenario: 2, model: 'x', head: { hidden: [6], dropout: 0.3 } }));
    const dir = path.join(home, 'whole');
    await saveLayersModel(classifierModel(network, 'features', head), dir);
    const { model: whole } = await loadLayersModel(dir);
    const last = whole.layers[whole.layers.length - 1]?.name ?? '';
    const input = random(5, 32, 4, 0, 255);
    const ref = tf.tidy(() => (whole.predict(tf.tensor4d(input, [5, 32, 32, 3])) as tf.Tensor).dataSync() as Float32Array);
    const ort = await frozenForward(whole, last, { pool: 'none', cacheAs: null });
    expect(ort.kind).toMatch(/^onnxruntime/);
    expect(ort.outputShape).toEqual([4]);
    expect(relDiff(await ort.runBatch(input, 5, 32), ref)).toBeLessThan(1e-4);
    const folded = foldedForward(whole, last, { pool: 'none' });
    expect(relDiff(await folded.runBatch(input, 5, 32), ref)).toBeLessThan(1e-4);
    for (const f of [ort, folded]) f.dispose();
    for (const m of [whole, network, head]) m.dispose();
  });

  it('is refused for export when a layer has no ONNX form here, naming it, and nothing is written', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'odd_upsampling' }).apply(input);
    const pooled = tf.layers.globalAveragePooling2d({}).apply(up);
    const probs = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: probs });
    const runDir = path.join(home, 'run-upsampling');
    await saveLayersModel(model, path.join(runDir, 'model'));
    await fs.writeFile(path.join(runDir, 'run.json'), JSON.stringify(legacyModelRunJson({ inputSize: 8, classNames: ['a', 'b'] })));
    const target = path.join(home, 'refused.onnx');
    await expect(exportClassifierOnnx(runDir, target)).rejects.toMatchObject({ code: 'UNSUPPORTED_TOPOLOGY', message: expect.stringMatching(/cannot be written as ONNX: .*odd_upsampling/) });
    await expect(fs.access(target)).rejects.toThrow();
    model.dispose();
  });
});

describe('the machine\'s ONNX cache', () => {
  it('writes the model once, reuses it, and rebuilds a corrupt or truncated file', async () => {
    const { model } = await loadLayersModel(MODEL_025);
    const logs: string[] = [];
    const log = (m: string) => logs.push(m);
    const input = random(2, 224, 9);
    const first = await frozenForward(model, 'conv_pw_5_relu', { pool: 'avg', cacheAs: 'mobilenet_v1_0.25_224', log });
    expect(first.kind).toContain('cache built');
    const ref = await first.runBatch(input, 2, 224);
    first.dispose();
    const cacheDir = path.join(home, 'models', '.onnx');
    const files = (await fs.readdir(cacheDir)).filter((f) => f.startsWith('mobilenet_v1_0.25_224-conv_pw_5_relu-avg-224'));
    const onnx = path.join(cacheDir, files.find((f) => f.endsWith('.onnx')) ?? '');
    expect(files).toHaveLength(2); // the model and its checksum
    const again = await frozenForward(model, 'conv_pw_5_relu', { pool: 'avg', cacheAs: 'mobilenet_v1_0.25_224', log });
    expect(again.kind).toContain('cache hit');
    again.dispose();
    const good = await fs.readFile(onnx);

    // One flipped byte in the weights: the checksum catches it.
    const bad = Buffer.from(good);
    bad[bad.length - 100] = (bad[bad.length - 100] as number) ^ 0xff;
    await fs.writeFile(onnx, bad);
    const rebuilt = await frozenForward(model, 'conv_pw_5_relu', { pool: 'avg', cacheAs: 'mobilenet_v1_0.25_224', log });
    expect(rebuilt.kind).toContain('cache rebuilt');
    expect(logs.some((l) => /corrupt and has been rebuilt: .*does not match its checksum/.test(l))).toBe(true);
    expect(relDiff(await rebuilt.runBatch(input, 2, 224), ref)).toBeLessThan(1e-6);
    rebuilt.dispose();
    expect(Buffer.compare(await fs.readFile(onnx), good)).toBe(0);

    // Cut short (a torn write): detected by its size.
    await fs.writeFile(onnx, good.subarray(0, 1000));
    const again2 = await frozenForward(model, 'conv_pw_5_relu', { pool: 'avg', cacheAs: 'mobilenet_v1_0.25_224', log });
    expect(again2.kind).toContain('cache rebuilt');
    again2.dispose();
    expect(logs.some((l) => /has 1000 bytes/.test(l))).toBe(true);
    model.dispose();
  });
});
