/**
 * Out-of-sample class probabilities for every labelled image (what confident learning needs): the
 * images are dealt into K folds, stratified by label and seeded; for each fold the studio's head
 * (head.ts, the same trainer as scenario 1) is trained on the other K-1 folds, 10% of them held out
 * for early stopping, and predicts the fold. So every image is scored by a head that never saw it.
 * Cancel stops at a batch boundary; the folds already finished keep their probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../shared/domain';
import { stratifiedFolds } from '../../shared/folds';
import { seededRandom, shuffled } from '../../shared/random';
import { trainHead, type HeadData } from './head';

export const DEFAULT_FOLDS = 5;
/** Share of the training folds kept apart for early stopping, by default. */
export const STOP_SHARE = 0.1;

export interface FoldRecord {
  fold: number;
  /** Images the fold's head trained on, and those it stopped early on (both from the other folds). */
  trained: Int32Array;
  stopped: Int32Array;
  /** Images it predicted: its own fold. */
  scored: Int32Array;
}

export interface OutOfSampleInput {
  /** Row-major [n, dim] cached features. */
  features: Float32Array;
  dim: number;
  /** Given label of each image, 0..numClasses-1. */
  labels: Int32Array;
  numClasses: number;
  /** Head, optimiser, epochs, patience and seed (as a run's config). */
  config: TrainConfig;
  folds?: number;
  /** Share of the other folds held out for early stopping (default 0.1); 0 trains on all of them for config.epochs. */
  stopShare?: number;
  signal?: AbortSignal;
  /** Share of the whole job done, 0..1, with the fold being trained. */
  onProgress?: (p: { fold: number; folds: number; done: number }) => void;
  /** Once per finished fold: who trained and who was scored. */
  onFold?: (record: FoldRecord) => void;
}

export interface OutOfSampleResult {
  state: 'succeeded' | 'cancelled';
  /** Row-major [n, numClasses]; NaN rows for images of folds not finished (cancelled). */
  probabilities: Float32Array;
  /** Fold of each image (the fold whose head scored it). */
  fold: Int32Array;
  foldsDone: number;
}

/** Rows `idx` of the features with their labels. */
export function take(features: Float32Array, labels: Int32Array, dim: number, idx: ArrayLike<number>): HeadData {
  const x = new Float32Array(idx.length * dim);
  const y = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r] as number;
    x.set(features.subarray(i * dim, (i + 1) * dim), r * dim);
    y[r] = labels[i] as number;
  }
  return { x, y };
}

/**
 * A seeded share of `rows` kept apart for early stopping, the rest to train on; below 20 rows none
 * (too few to spare: the training loss is monitored instead).
 */
export function holdOut(rows: ArrayLike<number>, share: number, seed: number): { trained: Int32Array; stopped: Int32Array } {
  const order = shuffled(rows.length, seededRandom(seed));
  const count = rows.length >= 20 ? Math.round(rows.length * share) : 0;
  return {
    stopped: Int32Array.from(order.subarray(0, count), (r) => rows[r] as number),
    trained: Int32Array.from(order.subarray(count), (r) => rows[r] as number),
  };
}

/** Softmax outputs of a trained head for rows of x, in batches. */
export function headProbabilities(model: tf.Sequential, x: Float32Array, dim: number): Float32Array {
  const n = x.length / dim;
  const k = Number(model.outputs[0]?.shape[1] ?? 0);
  const out = new Float32Array(n * k);
  for (let s = 0; s < n; s += 1024) {
    const e = Math.min(n, s + 1024);
    const p = tf.tidy(() => model.predict(tf.tensor2d(x.subarray(s * dim, e * dim), [e - s, dim])) as tf.Tensor);
    out.set(p.dataSync() as Float32Array, s * k);
    p.dispose();
  }
  return out;
}

export interface TrainAndPredictInput {
  dim: number;
  numClasses: number;
  train: HeadData;
  /** Early-stopping images (may be empty: then the training loss is monitored). */
  stop: HeadData;
  /** Row-major [m, dim] features to predict. */
  predict: Float32Array;
  config: TrainConfig;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

/**
 * A fresh head trained on cached features, then its probabilities for other features: one fold
 * here, and label-next's quick retrain after a batch of labels (seconds on thousands of images).
 * null when cancelled.
 */
export async function trainAndPredict(input: TrainAndPredictInput): Promise<Float32Array | null> {
  const head = await trainHead({
    dim: input.dim,
    classNames: Array.from({ length: input.numClasses }, (_, c) => String(c)),
    train: input.train,
    val: input.stop,
    config: input.config,
    signal: input.signal,
    onBatch: (p) => input.onProgress?.(p.done / p.total),
  });
  try {
    return head.state === 'cancelled' ? null : headProbabilities(head.model, input.predict, input.dim);
  } finally {
    head.model.dispose();
  }
}

/**
 * Label next's quick retrain: a fresh head on labelled features (with patience, a seeded tenth of
 * them held out stops it early), then its probabilities for `predict`. null when cancelled.
 */
export async function retrainAndPredict(input: Omit<TrainAndPredictInput, 'train' | 'stop'> & { labelled: HeadData }): Promise<Float32Array | null> {
  const { labelled, ...rest } = input;
  const rows = Int32Array.from({ length: labelled.y.length }, (_, r) => r);
  const { trained, stopped } = input.config.patience > 0 ? holdOut(rows, STOP_SHARE, input.config.seed + 1) : { trained: rows, stopped: new Int32Array(0) };
  return trainAndPredict({ ...rest, train: take(labelled.x, labelled.y, input.dim, trained), stop: take(labelled.x, labelled.y, input.dim, stopped) });
}

export async function outOfSampleProbabilities(input: OutOfSampleInput): Promise<OutOfSampleResult> {
  const { features, dim, labels, numClasses: k, config } = input;
  const n = labels.length;
  const folds = input.folds ?? DEFAULT_FOLDS;
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer of at least 2, got ${folds}.`);
  if (n < folds) throw new RangeError(`${n} labelled images cannot be split into ${folds} folds.`);
  if (features.length !== n * dim) throw new RangeError(`features has ${features.length} values; ${n} images x ${dim} need ${n * dim}.`);
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!(Number.isInteger(y) && y >= 0 && y < k)) throw new RangeError(`Image ${i} has label ${y}, outside the ${k} classes.`);
  }
  const fold = stratifiedFolds(labels, folds, config.seed);
  const probabilities = new Float32Array(n * k).fill(NaN);
  for (let f = 0; f < folds; f++) {
    const scored: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? scored : rest).push(i);
    // Early-stopping images: a seeded share of the other folds, never the scored fold.
    const { trained, stopped } = holdOut(rest, input.stopShare ?? STOP_SHARE, config.seed + 1 + f);
    const held = Int32Array.from(scored);
    const p = await trainAndPredict({
      dim,
      numClasses: k,
      train: take(features, labels, dim, trained),
      stop: take(features, labels, dim, stopped),
      predict: take(features, labels, dim, held).x,
      config: { ...config, seed: config.seed + f },
      signal: input.signal,
      onProgress: (done) => input.onProgress?.({ fold: f, folds, done: (f + done) / folds }),
    });
    if (!p) return { state: 'cancelled', probabilities, fold, foldsDone: f };
    held.forEach((i, r) => probabilities.set(p.subarray(r * k, (r + 1) * k), i * k));
    input.onFold?.({ fold: f, trained, stopped, scored: held });
    input.onProgress?.({ fold: f, folds, done: (f + 1) / folds });
  }
  return { state: 'succeeded', probabilities, fold, foldsDone: folds };
}
