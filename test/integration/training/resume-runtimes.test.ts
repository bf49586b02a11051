/**
 * A scenario 2 run checkpointed on TensorFlow.js (an engine with onnxruntime turned off) resumes on
 * ONNX Runtime (a default engine): the checkpoint holds the model's own weights, which the ONNX
 * learner reads at its start, so the resumed epoch goes on from the trained head (its training loss
 * far below the first epoch's, which started from an untrained head) and every frozen weight and
 * BatchNorm statistic stays bit-identical across the two runtimes. Then the reverse: the ONNX
 * Runtime checkpoint (the weights epoch 3 trained there) resumes on TensorFlow.js for epoch 4.
 */
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../../src/shared/domain';
import { loadCheckpoint } from '../../../src/main/engine/checkpoint';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { loadSavedModel } from '../../../src/main/engine/model-files';
import type { TrainItem } from '../../../src/main/engine/protocol';
import { EngineClient, forkEngine } from '../../../src/main/training/engine-client';
import { MODEL_025 } from '../../fixtures/assets';
import { DIGIT_CLASSES, writeDigitItems } from '../../fixtures/digits';
import { trainPlanned, type UnplannedJob } from '../../fixtures/train-job';
import { removeTempDirs, tempDir } from '../helpers';

let tmp: string;
let items: TrainItem[];
const tfjsEngine = new EngineClient(() => forkEngine({ env: { TRANSFER_STUDIO_ONNXRUNTIME: 'off' } }));
const ortEngine = new EngineClient(() => forkEngine());

beforeAll(async () => {
  tmp = tempDir('ts-resume-runtimes-');
  items = await writeDigitItems(path.join(tmp, 'digits'), 6); // 10 classes x 6: 50 train, 10 val
});

afterAll(() => {
  tfjsEngine.dispose();
  ortEngine.dispose();
  removeTempDirs();
});

function job(epochs: number, resume: boolean): UnplannedJob {
  return {
    projectDir: tmp,
    runDir: path.join(tmp, 'run'),
    cacheDir: path.join(tmp, 'cache'),
    modelDir: MODEL_025,
    modelId: 'm025',
    classNames: DIGIT_CLASSES,
    items,
    config: trainConfigSchema.parse({ model: 'm025', scenario: 2, freezeTo: 'conv_pw_11_relu', epochs, batchSize: 10, lr: 0.01, patience: 0, seed: 5 }),
    tuning: { inputSize: 32 },
    ...(resume ? { resume: true } : {}),
  };
}

describe('resume across runtimes', () => {
  it('a TensorFlow.js checkpoint resumes on ONNX Runtime from the trained weights, and that one on TensorFlow.js', async () => {
    const first = await trainPlanned(tfjsEngine, job(2, false));
    expect(first.backend.training).toMatchObject({ runtime: 'tfjs', reason: expect.stringMatching(/turned off/) });
    const ckpt = await loadCheckpoint(path.join(tmp, 'run'));
    expect(ckpt?.file.epoch).toBe(2);
    const saved2 = await loadSavedModel(path.join(tmp, 'run', 'checkpoint'));
    const resumed = await trainPlanned(ortEngine, job(3, true));
    expect(resumed.backend.training).toMatchObject({ runtime: 'onnxruntime' });
    expect(resumed.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(resumed.metrics.slice(0, 2)).toEqual(first.metrics);
    // Epoch 3 starts where epoch 2 ended, not from the untrained head epoch 1 started from.
    const [e1, , e3] = resumed.metrics as [{ trainLoss: number }, unknown, { trainLoss: number }];
    expect(e3.trainLoss).toBeLessThan(0.9 * e1.trainLoss);

    // And the reverse: the ONNX Runtime checkpoint (epoch 3) resumes on TensorFlow.js. It holds what
    // epoch 3 trained on ONNX Runtime (the learner wrote its flat parameters back before saving):
    // every trainable kernel moved since the TensorFlow.js checkpoint of epoch 2.
    const trained = /^(conv_(dw|pw)_1[23]|head|dense(_\d+)?)$/;
    const kernels = (m: tf.LayersModel) => new Map(m.layers.filter((l) => trained.test(l.name)).map((l) => [l.name, l.getWeights()[0]?.dataSync().slice() as Float32Array]));
    const atEpoch2 = kernels(saved2);
    expect((await loadCheckpoint(path.join(tmp, 'run')))?.file.epoch).toBe(3);
    const atEpoch3 = kernels(await loadSavedModel(path.join(tmp, 'run', 'checkpoint')));
    expect([...atEpoch3.keys()].length, [...atEpoch3.keys()].join()).toBe(5);
    for (const [name, k] of atEpoch3) expect(k.some((v, i) => v !== atEpoch2.get(name)?.[i]), `${name} moved in epoch 3`).toBe(true);
    const back = await trainPlanned(tfjsEngine, job(4, true));
    expect(back.backend.training).toMatchObject({ runtime: 'tfjs' });
    expect(back.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4]);
    expect(back.metrics.slice(0, 3)).toEqual(resumed.metrics);
    const e4 = back.metrics[3] as { trainLoss: number };
    expect(e4.trainLoss).toBeLessThan(0.9 * e1.trainLoss);

    const { model: pretrained } = await loadLayersModel(MODEL_025);
    const before = new Map(pretrained.layers.map((l) => [l.name, l.getWeights()]));
    const saved = await loadSavedModel(path.join(tmp, 'run', 'checkpoint'));
    let frozenChecked = 0;
    for (const layer of saved.layers) {
      const ref = before.get(layer.name);
      if (!ref || ref.length === 0) continue;
      // Frozen layers (through conv_pw_11): every weight; trainable BatchNorm: its moving statistics.
      const frozen = /^conv(1|_(dw|pw)_([1-9]|1[01]))(_bn)?$/.test(layer.name);
      const weights = layer.getWeights();
      const check = frozen ? weights.map((_, i) => i) : /_bn$/.test(layer.name) ? [2, 3] : [];
      for (const i of check) {
        const a = weights[i]?.dataSync() as Float32Array;
        const b = ref[i]?.dataSync() as Float32Array;
        expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${layer.name} weight ${i}`).toBe(true);
        frozenChecked++;
      }
    }
    expect(frozenChecked).toBeGreaterThan(50);
  }, 300_000);
});
