/** Class probabilities of images with a saved run (scenario 1's head, or scenarios 2-4's whole classifier). */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PLAIN_VIEWS, type TtaView } from '../../shared/tta';
import { TTA_PARAMS } from './augment';
import { extractMissing } from './extract';
import { FeatureCache } from './feature-cache';
import { frozenForward, type FrozenForward, type Pooling } from './frozen-forward';
import { EngineJobError } from './job-error';
import { getModel } from './model-cache';
import { loadSavedModel, readRunRecord } from './model-files';
import type { EngineEvent, PredictItem, PredictResult } from './protocol';

/**
 * Class probabilities for images with a saved run. Scenario 1: the folded frozen part (features
 * cached in the project's cache) + the saved head. Scenarios 2-4: the saved whole classifier (the
 * network and the nested head) as one fold plan up to its softmax (BatchNorm folded, inference mode).
 * With several `views` (test-time augmentation) each image's probabilities are the mean over its
 * views; an image any view could not read gets none.
 */
export async function predict(
  runDir: string,
  items: PredictItem[],
  cacheDir?: string,
  signal?: AbortSignal,
  emit: (e: EngineEvent) => void = () => undefined,
  views: readonly TtaView[] = PLAIN_VIEWS,
): Promise<PredictResult> {
  const run = await readRunRecord(runDir);
  const k = run.classNames.length;
  const pool: Pooling = run.classifier === 'head' ? run.pool : 'none';
  const whole = run.classifier === 'model' ? await loadSavedModel(path.join(runDir, 'model')) : null;
  const head = whole ? null : await loadSavedModel(path.join(runDir, 'head'));
  const log = (message: string) => emit({ type: 'log', message });
  // A whole classifier (its own trained weights, not cached per machine) runs to its softmax as one plan.
  const forward = whole
    ? await frozenForward(whole, whole.layers[whole.layers.length - 1]?.name ?? '', { pool: 'none', inputSize: run.inputSize, cacheAs: null, log })
    : await frozenForward((await getModel(run.modelDir)).model, run.cutLayer, { pool, inputSize: run.inputSize, cacheAs: run.modelId, log });
  const targets = items.map((it, i) => ({ hash: it.hash ?? `path:${i}:${it.path}`, path: it.path, ...(it.root !== undefined ? { root: it.root } : {}) }));
  const sums = new Map<string, { sum: Float64Array; views: number }>();
  try {
    for (const [v, view] of views.entries()) {
      if (views.length > 1) log(`Test-time view ${v + 1} of ${views.length}: ${view}`);
      // Progress runs over all views: each reports its share.
      const scaled = (e: EngineEvent): void => emit(e.type === 'progress' ? { ...e, done: v * e.total + e.done, total: views.length * e.total } : e);
      const probs = await viewProbabilities(forward, head, { runDir, cacheDir, signal, emit: scaled, view }, run, targets, pool, k);
      for (const [hash, p] of probs) {
        const acc = sums.get(hash) ?? { sum: new Float64Array(k), views: 0 };
        for (let c = 0; c < k; c++) acc.sum[c]! += p[c]!;
        acc.views++;
        sums.set(hash, acc);
      }
    }
  } finally {
    forward.dispose();
    head?.dispose();
    whole?.dispose();
  }
  const mean = (hash: string): number[] => {
    const acc = sums.get(hash);
    return acc && acc.views === views.length ? Array.from(acc.sum, (s) => s / views.length) : [];
  };
  return {
    classNames: run.classNames,
    views: [...views],
    items: items.map((it, i) => ({
      ...(it.imageId !== undefined ? { imageId: it.imageId } : {}),
      path: it.path,
      probabilities: mean(targets[i]?.hash ?? ''),
    })),
  };
}

type RunRecordOf = Awaited<ReturnType<typeof readRunRecord>>;

/** One view's probabilities by target hash (images that could not be read are absent). */
async function viewProbabilities(
  forward: FrozenForward,
  head: tf.LayersModel | null,
  at: { runDir: string; cacheDir: string | undefined; signal: AbortSignal | undefined; emit: (e: EngineEvent) => void; view: TtaView },
  run: RunRecordOf,
  targets: { hash: string; path: string; root?: string }[],
  pool: Pooling,
  k: number,
): Promise<Map<string, Float32Array>> {
  const dim = head ? run.featureDim : k;
  // A view's features are other features: their own cache key (the plain image keeps the one training used).
  const preprocess = at.view === 'identity' ? run.preprocess : `${run.preprocess}+tta-${at.view}`;
  const key = { modelId: run.modelId, cutLayer: run.cutLayer, pool, inputSize: run.inputSize, preprocess };
  // A whole classifier's outputs are this run's alone: they go to a scratch cache, never the project's.
  const cache = at.cacheDir && head ? await FeatureCache.open(path.join(at.cacheDir, 'features'), key, dim) : null;
  const scratchDir = path.join(at.runDir, '.predict-cache');
  const scratch = cache ?? (await FeatureCache.open(scratchDir, key, dim));
  try {
    const missing = targets.filter((t) => !scratch.has(t.hash));
    const view = at.view === 'identity' ? null : TTA_PARAMS[at.view];
    const ex = await extractMissing(forward, run.inputSize, missing, scratch, at.signal, at.emit, run.preprocessing, view);
    if (ex.state === 'cancelled') throw new EngineJobError('CANCELLED', 'Prediction was cancelled.');
    const ok: string[] = [];
    const x = new Float32Array(targets.length * dim);
    for (const t of targets) {
      const f = scratch.get(t.hash);
      if (!f) continue;
      x.set(f, ok.length * dim);
      ok.push(t.hash);
    }
    const values = ok.length && head ? await predictHead(head, x.subarray(0, ok.length * dim), ok.length, dim) : x;
    return new Map(ok.map((hash, i) => [hash, values.subarray(i * k, (i + 1) * k)]));
  } finally {
    if (!cache) await fs.rm(scratchDir, { recursive: true, force: true });
  }
}

async function predictHead(head: tf.LayersModel, x: Float32Array, n: number, dim: number): Promise<Float32Array> {
  const probs = tf.tidy(() => head.predict(tf.tensor2d(x, [n, dim])) as tf.Tensor);
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}
