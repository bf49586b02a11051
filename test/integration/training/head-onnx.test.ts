/**
 * The head's training step on ONNX Runtime (onnx/head-graph.ts, head-step-onnx.ts) against the
 * TensorFlow.js step (head-step.ts), in process: with the same initial weights, batches, dropout
 * masks and class weights, every step's loss and the parameters after several steps agree within
 * float tolerance, for Adam and momentum, heads without and with hidden layers, every activation.
 * Then whole trainings (trainHead) on learnable data: ONNX Runtime is chosen when it runs, and it
 * reaches the accuracy of the TensorFlow.js path; cancel stops it at a batch boundary.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { buildHead, trainHead, type HeadData } from '../../../src/main/engine/head';
import { HeadStepper, type HeadStep } from '../../../src/main/engine/head-step';
import { dropoutMasks, onnxHeadStep } from '../../../src/main/engine/head-step-onnx';
import { trainConfigSchema, type TrainConfig } from '../../../src/shared/domain';
import { seededRandom } from '../../../src/shared/random';
import { relDiff } from '../../fixtures/compare';

beforeAll(async () => {
  const info = await initBackend({ prefer: 'wasm', threads: 1 });
  expect(info.inference?.runtime).toBe('onnxruntime');
});

function flatten(ws: tf.Tensor[]): Float32Array {
  const out = Float32Array.from(ws.flatMap((w) => Array.from(w.dataSync())));
  ws.forEach((w) => w.dispose());
  return out;
}

const DIM = 24;
const K = 5;

/** Rows drawn around a centre per class, so training moves the parameters in a consistent direction. */
function learnable(n: number, seed: number, dim = DIM, k = K): HeadData {
  const random = seededRandom(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: dim }, () => random() * 2 - 1));
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(random() * k);
    y[i] = c;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (centres[c]?.[j] as number) + (random() - 0.5) * 1.5;
  }
  return { x, y };
}

interface Case {
  name: string;
  config: Omit<Partial<TrainConfig>, 'head'> & { head: Partial<TrainConfig['head']> };
  classWeights: boolean;
}

const CASES: Case[] = [
  { name: 'Adam, no hidden layer', config: { optimizer: 'adam', lr: 0.01, head: { hidden: [], dropout: 0 } }, classWeights: false },
  { name: 'momentum, no hidden layer, class weights', config: { optimizer: 'sgd', lr: 0.05, head: { hidden: [], dropout: 0 } }, classWeights: true },
  { name: 'Adam, [128] relu, dropout, class weights', config: { optimizer: 'adam', lr: 0.005, head: { hidden: [128], dropout: 0.3, activation: 'relu' } }, classWeights: true },
  { name: 'momentum, [128] relu, dropout', config: { optimizer: 'sgd', lr: 0.05, head: { hidden: [128], dropout: 0.2, activation: 'relu' } }, classWeights: false },
  { name: 'Adam, [16, 8] elu', config: { optimizer: 'adam', lr: 0.01, head: { hidden: [16, 8], dropout: 0.1, activation: 'elu' } }, classWeights: true },
  { name: 'momentum, [16] tanh', config: { optimizer: 'sgd', lr: 0.05, head: { hidden: [16], dropout: 0, activation: 'tanh' } }, classWeights: false },
  { name: 'Adam, [16] sigmoid', config: { optimizer: 'adam', lr: 0.01, head: { hidden: [16], dropout: 0.2, activation: 'sigmoid' } }, classWeights: false },
];

function configOf(c: Case): TrainConfig {
  const base = trainConfigSchema.parse({ scenario: 1, model: 'm', seed: 5 });
  return { ...base, ...c.config, head: { ...base.head, ...c.config.head } };
}

describe('one ONNX Runtime step equals the TensorFlow.js step', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const config = configOf(c);
      const model = buildHead(DIM, K, config);
      const initial = model.getWeights();
      const weights = c.classWeights ? Float32Array.from({ length: K }, (_, i) => 0.5 + 0.3 * i) : null;
      const weightsT = weights ? tf.tensor1d(weights) : null;
      const reference = new HeadStepper(initial, config, K, weightsT);
      const onnx = await onnxHeadStep(
        initial.map((w) => w.dataSync() as Float32Array),
        [DIM, ...config.head.hidden, K],
        config,
        weights,
      );
      if ('unavailable' in onnx) throw new Error(onnx.unavailable);
      const steppers: HeadStep[] = [reference, onnx];
      expect(onnx.kind).toContain('ONNX Runtime');
      const data = learnable(200, 3);
      // Batches of 32, and one of 7 (a last, smaller batch).
      for (const [step, n] of [32, 32, 7, 32, 32, 32].entries()) {
        const start = (step * 32) % 150;
        const xb = data.x.slice(start * DIM, (start + n) * DIM);
        const yb = data.y.slice(start, start + n);
        const masks = config.head.dropout > 0 ? dropoutMasks(n, config.head.hidden, config.head.dropout, 100 + step) : undefined;
        const [a, b] = await Promise.all(steppers.map((s) => s.step(xb, yb, 0, masks)));
        expect(Math.abs((b?.loss as number) - (a?.loss as number)), `loss at step ${step}`).toBeLessThan(1e-5 * Math.max(1, a?.loss as number));
        expect(b?.correct, `correct at step ${step}`).toBe(a?.correct);
      }
      const before = flatten(initial.map((w) => w.clone()));
      const after = flatten(reference.weights());
      expect(relDiff(after, before)).toBeGreaterThan(1e-3); // the steps really changed the parameters
      expect(relDiff(flatten(onnx.weights()), after)).toBeLessThan(2e-5);
      reference.dispose();
      onnx.dispose();
      weightsT?.dispose();
      model.dispose();
    });
  }
});

describe('dropout masks', () => {
  it('keep 1 - rate of the units, scaled, differently per seed and layer, the same for the same seed', () => {
    const [a, b] = dropoutMasks(101, [128, 64], 0.3, 9) as [Float32Array, Float32Array];
    expect(a.length).toBe(101 * 128);
    expect(b.length).toBe(101 * 64);
    const kept = a.filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.7)]));
    expect(Math.abs(kept.length / a.length - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(b.filter((v) => v !== 0).length / b.length - 0.7)).toBeLessThan(0.03);
    expect(dropoutMasks(101, [128], 0.3, 9)[0]).toEqual(a);
    expect(dropoutMasks(101, [128], 0.3, 10)[0]).not.toEqual(a);
  });
});

describe('trainHead on ONNX Runtime', () => {
  const dim = 64;
  const k = 4;
  // One draw split in two, so train and val share the class centres.
  const all = learnable(1500, 11, dim, k);
  const train = { x: all.x.slice(0, 1200 * dim), y: all.y.slice(0, 1200) };
  const val = { x: all.x.slice(1200 * dim), y: all.y.slice(1200) };
  const config = trainConfigSchema.parse({ scenario: 1, model: 'm', seed: 3, epochs: 6, batchSize: 32, classWeights: true, head: { hidden: [32], dropout: 0.2 } });
  const classNames = Array.from({ length: k }, (_, i) => `c${i}`);

  it('is chosen when it runs, and learns as well as the TensorFlow.js path', async () => {
    const epochs: number[] = [];
    const onnx = await trainHead({ dim, classNames, train, val, config, onEpoch: (m) => epochs.push(m.epoch) });
    const tfjs = await trainHead({ dim, classNames, train, val, config, runtime: 'tfjs' });
    expect(onnx.stepKind).toContain('ONNX Runtime');
    expect(tfjs.stepKind).toBe('TensorFlow.js');
    expect(onnx.state).toBe('succeeded');
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6]);
    const best = (r: typeof onnx) => r.metrics[(r.bestEpoch as number) - 1]?.valAcc as number;
    expect(best(tfjs)).toBeGreaterThan(0.9);
    expect(Math.abs(best(onnx) - best(tfjs))).toBeLessThan(0.03);
    // Early stopping and the best epoch's weights: the saved model scores the best epoch's accuracy.
    const pred = tf.tidy(() => Array.from(tf.argMax(onnx.model.predict(tf.tensor2d(val.x, [val.y.length, dim])) as tf.Tensor, -1).dataSync()));
    const acc = pred.filter((p, i) => p === val.y[i]).length / val.y.length;
    expect(acc).toBeCloseTo(best(onnx), 5);
    onnx.model.dispose();
    tfjs.model.dispose();
  });

  it('stops at a batch boundary when cancelled', async () => {
    const controller = new AbortController();
    let batches = 0;
    const r = await trainHead({
      dim,
      classNames,
      train,
      val,
      config,
      signal: controller.signal,
      onBatch: (p) => {
        batches++;
        if (p.epoch === 2 && p.batch === 5) controller.abort();
      },
    });
    expect(r.stepKind).toContain('ONNX Runtime');
    expect(r.state).toBe('cancelled');
    expect(r.epochsRun).toBe(1);
    expect(batches).toBe(Math.ceil(1200 / 32) + 5);
    r.model.dispose();
  });
});
