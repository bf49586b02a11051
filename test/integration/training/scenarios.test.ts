/**
 * Scenarios 2-4 through a real engine process on real digits and the real MobileNet v1 0.25:
 * frozen weights and BatchNorm statistics bit-identical, trainable ones changed, discriminative
 * learning rates, He initialisation, the activation cache, automatic batch reduction, cancel
 * keeping the best epoch and resuming from the checkpoint, prediction with a scenario-2 run; and the
 * similarity estimate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type TrainConfigInput } from '../../../src/shared/domain';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { EngineClient, forkEngine, type EngineError } from '../../../src/main/training/engine-client';
import type { EngineEvent, TrainItem, TrainTuning } from '../../../src/main/engine/protocol';
import { trainPlanned, type UnplannedJob } from '../../fixtures/train-job';
import { cloneNetwork } from '../../../src/main/engine/scenario-finetune';
import { heInitialise, trainableNet } from '../../../src/main/engine/trainable-net';
import { DIGIT_CLASSES, writeDigitItems } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';

/**
 * Convolution gradients on wasm need the training kernels (src/main/training/kernels). Where the
 * wasm engine cannot train yet (BACKEND_CANNOT_TRAIN), training runs on the pure JS cpu backend at a
 * small input size instead.
 */
let tuning: TrainTuning = {};
let tmp: string;
let items: TrainItem[];
const inference = new EngineClient(() => forkEngine());
let trainer: EngineClient = inference;

async function wasmCanTrain(): Promise<boolean> {
  const onePerClass = DIGIT_CLASSES.map((_, label) => items.find((i) => i.label === label && i.split === 'train')!);
  try {
    await trainPlanned(inference, { ...job('probe', { scenario: 4, epochs: 1 }, { inputSize: 32 }), items: onePerClass });
    return true;
  } catch (e) {
    if ((e as EngineError).code === 'BACKEND_CANNOT_TRAIN') return false;
    throw e;
  }
}

function job(name: string, config: Omit<TrainConfigInput, 'model'>, extra: TrainTuning = {}): UnplannedJob {
  return {
    projectDir: tmp,
    runDir: path.join(tmp, 'runs', name),
    cacheDir: path.join(tmp, 'cache'),
    modelDir: MODEL_025,
    modelId: 'mobilenet_v1_0.25_224',
    classNames: DIGIT_CLASSES,
    items,
    config: trainConfigSchema.parse({ model: 'mobilenet_v1_0.25_224', seed: 3, batchSize: 16, patience: 0, ...config }),
    tuning: { ...tuning, ...extra },
  };
}

/** Every weight of a saved run's classifier by layer name, and of the pretrained model. */
async function weightsByLayer(dir: string): Promise<Map<string, Float32Array[]>> {
  const { model } = await loadLayersModel(dir);
  const out = new Map(model.layers.map((l) => [l.name, l.getWeights().map((w) => w.dataSync() as Float32Array)]));
  model.dispose();
  return out;
}
const bitIdentical = (a: Float32Array[] | undefined, b: Float32Array[] | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((w, i) => Buffer.compare(Buffer.from(w.buffer, w.byteOffset, w.byteLength), Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength)) === 0);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
let pretrained: Map<string, Float32Array[]>;
let perImageBytes = 0;
/** Scenarios 3 and 4 run the whole network every step: 3 training images per class keep them short. */
const fewItems = () => items.filter((i) => i.split === 'val' || Number(/_(\d+)\.png$/.exec(i.path)?.[1]) < 3);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-scenarios-'));
  items = await writeDigitItems(path.join(tmp, 'digits'), 8); // 10 classes x 8: 70 train, 10 val
  pretrained = await weightsByLayer(MODEL_025);
  if (!(await wasmCanTrain())) {
    trainer = new EngineClient(() => forkEngine({ env: { ENGINE_BACKEND: 'cpu' } }));
    tuning = { inputSize: 48 };
  }
});

afterAll(() => {
  if (trainer !== inference) trainer.dispose();
  inference.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('scenario 2: freeze the first k layers', () => {
  it('keeps frozen weights and every BatchNorm statistic bit-identical, changes the trainable weights, improves on the untrained head, and predicts', async () => {
    const events: EngineEvent[] = [];
    const r = await trainPlanned(trainer, job('s2', { scenario: 2, freezeTo: 'conv_pw_11_relu', epochs: 2 }), { onEvent: (e) => events.push(e) });
    expect(r).toMatchObject({ state: 'succeeded', scenario: 2, freezeTo: 'conv_pw_11_relu', frozenPart: 'cached', cache: { hits: 0, misses: 80 }, epochsRun: 2 });
    // The steps ran on ONNX Runtime, and the model saved (the predictions below) is the one it trained.
    expect(r.backend.training).toMatchObject({ runtime: 'onnxruntime', provider: 'cpu' });
    expect(events.some((e) => e.type === 'log' && /^Training steps on ONNX Runtime/.test(e.message))).toBe(true);
    expect(r.frozenParams).toBeGreaterThan(0);
    perImageBytes = r.stepBytesPerImage ?? 0;
    expect(r.trainableParams).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(2);
    const saved = await weightsByLayer(path.join(tmp, 'runs', 's2', 'model'));
    const order = [...pretrained.keys()];
    const boundary = order.indexOf('conv_pw_11_relu');
    for (const [i, name] of order.entries()) {
      if (name === 'global_average_pooling2d_1') break;
      if (i <= boundary || /_bn$/.test(name)) {
        const w = saved.get(name)!;
        // Frozen layers: everything; trainable BatchNorm in inference mode: its moving mean and variance.
        if (i <= boundary) expect(bitIdentical(w, pretrained.get(name)), name).toBe(true);
        else expect(bitIdentical(w.slice(2), pretrained.get(name)!.slice(2)), `${name} statistics`).toBe(true);
      } else if (/^conv_(dw|pw)_1[23]$/.test(name)) {
        expect(maxAbsDiff(saved.get(name)![0]!, pretrained.get(name)![0]!), name).toBeGreaterThan(0);
      }
    }
    const val = items.filter((i) => i.split === 'val');
    const p = await trainer.call('predict', { runDir: path.join(tmp, 'runs', 's2'), items: val });
    const acc = p.items.filter((it, i) => it.probabilities.indexOf(Math.max(...it.probabilities)) === val[i]!.label).length / val.length;
    expect(p.items.every((it) => Math.abs(it.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4)).toBe(true);
    expect(acc).toBeCloseTo(r.metrics[r.bestEpoch! - 1]!.valAcc!, 5);
    // Better than where it started: the untrained head on the pretrained features.
    expect(r.metrics[r.bestEpoch! - 1]!.valLoss!).toBeLessThan(r.initialValLoss!);
  });

  it('reads the activation cache on a second run, lowers a batch that does not fit, keeps the best epoch when cancelled, and resumes', async () => {
    const events: EngineEvent[] = [];
    const controller = new AbortController();
    const again = job('s2-again', { scenario: 2, freezeTo: 'conv_pw_11_relu', epochs: 2, batchSize: 32 }, { memoryBudgetBytes: 3.5 * perImageBytes });
    const r = await trainPlanned(trainer, again, {
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'epoch') controller.abort();
      },
    });
    expect(r.cache).toEqual({ hits: 80, misses: 0 });
    expect(r.batchSize).toBe(2);
    expect(r.batchReductions?.[0]).toMatch(/Batch size lowered from 32 to 2/);
    expect(events.some((e) => e.type === 'log' && /Batch size lowered/.test(e.message))).toBe(true);
    expect(r).toMatchObject({ state: 'cancelled', epochsRun: 1, bestEpoch: 1 });
    const run = JSON.parse(fs.readFileSync(path.join(tmp, 'runs', 's2-again', 'run.json'), 'utf8')) as { state: string; bestEpoch: number };
    expect(run).toMatchObject({ state: 'cancelled', bestEpoch: 1 });
    expect((await trainer.call('predict', { runDir: path.join(tmp, 'runs', 's2-again'), items: items.slice(0, 2) })).items[0]!.probabilities).toHaveLength(10);

    const logs: string[] = [];
    const resumed = await trainPlanned(trainer, { ...again, resume: true }, { onEvent: (e) => e.type === 'log' && logs.push(e.message) });
    expect(resumed).toMatchObject({ state: 'succeeded', epochsRun: 2 });
    expect(resumed.metrics[0]).toEqual(r.metrics[0]);
    expect(logs.some((m) => /Resumed from the checkpoint after epoch 1/.test(m))).toBe(true);
    await expect(trainPlanned(trainer, { ...again, config: { ...again.config, lr: 0.5 }, resume: true })).rejects.toMatchObject({ code: 'BAD_JOB' });
  });

  it('keys the activation cache by the freeze boundary: frozen one block earlier, at an output of the same shape, it reads none of it', async () => {
    const few = fewItems();
    const r = await trainPlanned(trainer, { ...job('s2-pw10', { scenario: 2, freezeTo: 'conv_pw_10_relu', epochs: 1 }), items: few });
    expect(r).toMatchObject({ state: 'succeeded', freezeTo: 'conv_pw_10_relu', frozenPart: 'cached', cache: { hits: 0, misses: few.length } });
    const root = path.join(tmp, 'cache', 'activations');
    const metas = fs.readdirSync(root).map((d) => JSON.parse(fs.readFileSync(path.join(root, d, 'meta.json'), 'utf8')) as { cutLayer: string; dim: number });
    const dims = new Map(metas.map((m) => [m.cutLayer, m.dim]));
    // The two boundaries' outputs have the same shape: only the key tells their caches apart.
    expect(dims.get('conv_pw_10_relu')).toBeGreaterThan(0);
    expect(dims.get('conv_pw_10_relu')).toBe(dims.get('conv_pw_11_relu'));
  });

  it('fails with a clear message when not even one image fits', async () => {
    await expect(trainPlanned(trainer, job('s2-oom', { scenario: 2, epochs: 1 }, { memoryBudgetBytes: 1000 }))).rejects.toMatchObject({
      code: 'OUT_OF_MEMORY',
      message: expect.stringMatching(/One image needs about .* to train/),
    });
  });
});

describe('scenarios 3 and 4: everything trains', () => {
  it('scenario 3 starts from He-initialised weights, unlike the pretrained ones, and trains', async () => {
    const r = await trainPlanned(trainer, { ...job('s3', { scenario: 3, epochs: 1, augment: { flip: true, crop: true, rotate: true, brightness: true, contrast: true } }), items: fewItems() });
    expect(r).toMatchObject({ state: 'succeeded', scenario: 3, frozenParams: 0, frozenPart: 'none' });
    expect(Number.isFinite(r.metrics[0]!.trainLoss)).toBe(true);
    const saved = await weightsByLayer(path.join(tmp, 'runs', 's3', 'model'));
    const k = saved.get('conv_pw_5')![0]!;
    expect(maxAbsDiff(k, pretrained.get('conv_pw_5')![0]!)).toBeGreaterThan(0.01);
    // He: std sqrt(2 / fan_in), fan_in = 1x1 x 64 input channels (256 x alpha 0.25), plus one small training step.
    const std = Math.sqrt(k.reduce((a, v) => a + v * v, 0) / k.length);
    expect(std).toBeGreaterThan(0.9 * Math.sqrt(2 / 64));
    expect(std).toBeLessThan(1.1 * Math.sqrt(2 / 64));
    // Scenario 3's BatchNorm learns its statistics from the batches (there are none to keep).
    const bn = saved.get('conv_pw_5_bn')!;
    expect(bn[2]!.some((m) => m !== 0)).toBe(true);
    expect(bn[3]!.some((v) => v !== 1)).toBe(true);
  });

  it('scenario 4 changes every trainable layer, the pretrained ones at their smaller learning rate', async () => {
    const lrPretrained = 1e-5;
    const r = await trainPlanned(trainer, { ...job('s4', { scenario: 4, epochs: 1, lr: 1e-3, lrPretrained }), items: fewItems() });
    expect(r).toMatchObject({ state: 'succeeded', scenario: 4, frozenParams: 0, backend: { training: { runtime: 'onnxruntime' } } });
    const steps = Math.ceil(30 / 16);
    const saved = await weightsByLayer(path.join(tmp, 'runs', 's4', 'model'));
    for (const [name, w] of pretrained) {
      if (!/^conv(1|_dw_\d+|_pw_\d+)(_bn)?$/.test(name)) continue;
      const moved = maxAbsDiff(saved.get(name)![0]!, w[0]!);
      expect(moved, name).toBeGreaterThan(0);
      // An Adam step moves a weight by about lr (at most a few lr): far below the head's rate.
      expect(moved, name).toBeLessThan(3.2 * steps * lrPretrained);
      if (/_bn$/.test(name)) expect(bitIdentical(saved.get(name)!.slice(2), w.slice(2)), `${name} statistics`).toBe(true);
    }
  });

  it('He initialisation keeps activations alive through the whole network (tfjs defaults shrink them)', async () => {
    const { model } = await loadLayersModel(MODEL_025);
    const x = tf.randomUniform([2, 64, 64, 3], -1, 1, 'float32', 5);
    const stdAtCut = async (he: boolean) => {
      const clone = await cloneNetwork(model, 'he');
      const net = trainableNet(clone, { from: null, to: 'conv_pw_13_relu', mode: 'inference' });
      if (he) heInitialise(net.layers, 1);
      const out = tf.tidy(() => tf.moments(net.forward(x, false)).variance.sqrt().dataSync()[0]!);
      net.dispose();
      clone.dispose();
      return out;
    };
    const he = await stdAtCut(true);
    const glorot = await stdAtCut(false);
    expect(he).toBeGreaterThan(1e-2);
    expect(glorot).toBeLessThan(he / 100);
    x.dispose();
    model.dispose();
  });
});

describe('similarity estimate', () => {
  it('judges handwritten digits unlike ImageNet, with evidence in plain words', async () => {
    const est = await inference.call('estimateSimilarity', {
      modelDir: MODEL_025,
      modelId: 'mobilenet_v1_0.25_224',
      classNames: DIGIT_CLASSES,
      items: items.map((i) => ({ path: i.path, hash: i.hash, label: i.label })),
      cacheDir: path.join(tmp, 'cache'),
    });
    expect(est.level).toBe('low');
    expect(est.sampled).toBe(80);
    expect(est.pixelProbeAccuracy).toBeGreaterThan(est.chance);
    expect(est.meanTop1).toBeLessThan(0.5);
    expect(est.evidence).toHaveLength(4);
    expect(est.evidence.join('\n')).toMatch(/sure of its top guess[\s\S]*commonest pretrained label[\s\S]*on raw pixels[\s\S]*Estimate: low/);
  });
});
