/**
 * Scenario 1's trainable part: a dense head on cached features. The shared epoch loop
 * (epoch-loop.ts, not model.fit) and our own step (gradients by hand, one flat Adam update): on
 * ONNX Runtime when it runs here (head-step-onnx.ts, one session.run per batch, several times
 * faster), else on TensorFlow.js (head-step.ts; 3-4x fewer operations than the gradient tape), so
 * that: init and shuffle are deterministic from the seed; cancel happens at a batch boundary;
 * class weights, early stopping on validation loss (patience) and best-epoch weights are exact;
 * and each epoch yields train/val loss+accuracy and the validation confusion matrix.
 *
 * Optimisers: 'adam' = Adam(lr); 'sgd' = SGD with momentum 0.9 (plain SGD on a fresh head crawls).
 * Dropout is applied by hand during training with seeded masks; the saved model holds Dropout
 * layers (identity at inference) so its structure matches the config.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConfusionMatrix, EpochMetrics, TrainConfig } from '../../shared/domain';
import { runEpochs, type EpochTrainer } from './epoch-loop';
import { HeadStepper, type HeadStep } from './head-step';
import { onnxHeadStep } from './head-step-onnx';

export interface HeadData {
  /** Row-major [n, dim]. */
  x: Float32Array;
  y: Int32Array;
}

export interface HeadTrainInput {
  dim: number;
  classNames: string[];
  train: HeadData;
  val: HeadData;
  config: TrainConfig;
  signal?: AbortSignal;
  /** 'auto': ONNX Runtime when it is loaded, else TensorFlow.js; 'tfjs' forces TensorFlow.js (benchmarks, tests). */
  runtime?: 'auto' | 'tfjs';
  onBatch?: (p: { epoch: number; batch: number; batches: number; done: number; total: number; imagesPerSec: number }) => void;
  onEpoch?: (metrics: EpochMetrics, confusion: ConfusionMatrix) => void;
}

export interface HeadTrainResult {
  state: 'succeeded' | 'cancelled';
  model: tf.Sequential;
  epochsRun: number;
  /** 1-based; null when no epoch finished. */
  bestEpoch: number | null;
  metrics: EpochMetrics[];
  /** Confusion matrix of the best epoch on the validation set. */
  confusion: ConfusionMatrix | null;
  /** Share of the validation set's most frequent class: the accuracy of always guessing it. */
  baseline: number | null;
  trainMs: number;
  imagesPerSec: number;
  /** What ran the training steps, in words. */
  stepKind: string;
}

export function majorityBaseline(y: Int32Array, numClasses: number): number | null {
  if (y.length === 0) return null;
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of y) counts[c] = (counts[c] ?? 0) + 1;
  return Math.max(...counts) / y.length;
}

/** Balanced class weights n / (k * n_c), so the average weight over the training set is 1. */
export function classWeights(y: Int32Array, numClasses: number): Float32Array {
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of y) counts[c] = (counts[c] ?? 0) + 1;
  return Float32Array.from(counts, (n) => (n > 0 ? y.length / (numClasses * n) : 0));
}

export function buildHead(dim: number, numClasses: number, config: TrainConfig): tf.Sequential {
  const model = tf.sequential({ name: 'head' });
  config.head.hidden.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        ...(i === 0 ? { inputShape: [dim] } : {}),
        units,
        activation: config.head.activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed + 17 * i }),
        name: `head_dense_${i + 1}`,
      }),
    );
    if (config.head.dropout > 0) model.add(tf.layers.dropout({ rate: config.head.dropout, name: `head_dropout_${i + 1}` }));
  });
  model.add(
    tf.layers.dense({
      ...(config.head.hidden.length === 0 ? { inputShape: [dim] } : {}),
      units: numClasses,
      activation: 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed + 9973 }),
      name: 'head_logits',
    }),
  );
  model.add(tf.layers.activation({ activation: 'softmax', name: 'head_softmax' }));
  return model;
}

/** 'adam' = Adam(lr); 'sgd' = SGD with momentum 0.9. */
export function optimizerFor(kind: TrainConfig['optimizer'], lr: number): tf.Optimizer {
  return kind === 'sgd' ? tf.train.momentum(lr, 0.9) : tf.train.adam(lr);
}

/** Mean cross-entropy of logits against class indices, each example weighted by its class weight when given. */
export function crossEntropy(logits: tf.Tensor2D, yIdx: tf.Tensor1D, numClasses: number, weights: tf.Tensor1D | null): tf.Scalar {
  const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(yIdx, numClasses), tf.logSoftmax(logits)), -1));
  return weights ? tf.mean(tf.mul(ce, tf.gather(weights, yIdx))) : tf.mean(ce);
}

/** Logits through the head; dropout masks seeded by `dropSeed` when training. */
export function logitsOf(model: tf.Sequential, x: tf.Tensor, rate: number, dropSeed: number | null): tf.Tensor2D {
  let h = x;
  let k = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dropout') {
      if (dropSeed !== null && rate > 0) {
        const keep = tf.greaterEqual(tf.randomUniform(h.shape, 0, 1, 'float32', dropSeed + k++), rate);
        h = tf.div(tf.mul(h, tf.cast(keep, 'float32')), 1 - rate);
      }
      continue;
    }
    if (cls === 'Activation' && layer.name === 'head_softmax') continue;
    h = layer.apply(h) as tf.Tensor;
  }
  return h as tf.Tensor2D;
}

/** Log-probabilities [n, classes] of n rows of features. */
type LogProbs = (x: Float32Array, n: number) => Float32Array | Promise<Float32Array>;

/** Through the tf.layers model (dropout off). */
function modelLogProbs(model: tf.Sequential, dim: number): LogProbs {
  return (x, n) => tf.tidy(() => tf.logSoftmax(logitsOf(model, tf.tensor2d(x, [n, dim]), 0, null)).dataSync() as Float32Array);
}

async function evaluate(logProbs: LogProbs, data: HeadData, dim: number, numClasses: number, batchSize: number) {
  const n = data.y.length;
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let lossSum = 0;
  let correct = 0;
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const lp = await logProbs(data.x.subarray(s * dim, e * dim), e - s);
    for (let i = s; i < e; i++) {
      const t = data.y[i] as number;
      const row = (i - s) * numClasses;
      let p = 0;
      for (let c = 1; c < numClasses; c++) if ((lp[row + c] as number) > (lp[row + p] as number)) p = c;
      lossSum -= lp[row + t] as number;
      (matrix[t] as number[])[p] = ((matrix[t] as number[])[p] ?? 0) + 1;
      if (t === p) correct++;
    }
  }
  return { loss: n ? lossSum / n : NaN, acc: n ? correct / n : NaN, matrix };
}

/** ONNX Runtime's step when it runs here (several times faster on small matrices), else TensorFlow.js'. */
async function headStep(
  model: tf.Sequential,
  dim: number,
  k: number,
  config: TrainConfig,
  weights: Float32Array | null,
  weightsT: tf.Tensor1D | null,
  runtime: 'auto' | 'tfjs',
): Promise<HeadStep> {
  const initial = model.getWeights();
  if (runtime === 'auto') {
    const units = [dim, ...config.head.hidden, k];
    const onnx = await onnxHeadStep(initial.map((w) => w.dataSync() as Float32Array), units, config, weights);
    if (!('unavailable' in onnx)) return onnx;
  }
  return new HeadStepper(initial, config, k, weightsT);
}

export async function trainHead(input: HeadTrainInput): Promise<HeadTrainResult> {
  const { dim, classNames, train, val, config, signal } = input;
  const k = classNames.length;
  const t0 = performance.now();
  const model = buildHead(dim, k, config);
  const weights = config.classWeights ? classWeights(train.y, k) : null;
  const weightsT = weights ? tf.tensor1d(weights) : null;
  const stepper = await headStep(model, dim, k, config, weights, weightsT, input.runtime ?? 'auto');
  const n = train.y.length;
  let bestWeights: tf.Tensor[] | null = null;
  const trainer: EpochTrainer<HeadData> = {
    prepare: (positions) => {
      const x = new Float32Array(positions.length * dim);
      const y = new Int32Array(positions.length);
      // Plain loops: a subarray per row costs more than the copy at 30,000 batches a run.
      for (let i = 0; i < positions.length; i++) {
        const r = positions[i] as number;
        for (let j = 0, src = r * dim, dst = i * dim; j < dim; j++) x[dst + j] = train.x[src + j] as number;
        y[i] = train.y[r] as number;
      }
      return { x, y };
    },
    step: async (b, dropoutSeed) => ({ ...(await stepper.step(b.x, b.y, dropoutSeed)), count: b.y.length }),
    validate: async () => {
      const current = stepper.weights();
      model.setWeights(current);
      current.forEach((w) => w.dispose());
      // On the stepper's own runtime when it has a forward pass (no second runtime's threads woken).
      return val.y.length > 0 ? evaluate(stepper.logProbs?.bind(stepper) ?? modelLogProbs(model, dim), val, dim, k, 256) : null;
    },
  };
  const loop = await runEpochs({
    trainer,
    size: n,
    config,
    batchSize: Math.max(1, Math.min(config.batchSize, n)),
    classNames,
    signal,
    yieldEvery: 8,
    onBatch: (p) => input.onBatch?.(p),
    onEpoch: (m, confusion) => input.onEpoch?.(m, confusion),
    onBest: () => {
      bestWeights?.forEach((w) => w.dispose());
      bestWeights = model.getWeights().map((w) => w.clone());
    },
  });
  if (bestWeights) {
    const kept: tf.Tensor[] = bestWeights;
    model.setWeights(kept);
    kept.forEach((w) => w.dispose());
  }
  weightsT?.dispose();
  stepper.dispose();
  return {
    state: loop.state,
    model,
    epochsRun: loop.metrics.length,
    bestEpoch: loop.best?.epoch ?? null,
    metrics: loop.metrics,
    confusion: loop.best?.confusion ?? null,
    baseline: majorityBaseline(val.y, k),
    trainMs: performance.now() - t0,
    imagesPerSec: loop.seen / Math.max(1e-3, loop.trainMs / 1000),
    stepKind: stepper.kind,
  };
}
