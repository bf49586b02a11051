/** Class probabilities of images with a saved run (scenario 1's head, or scenarios 2-4's whole classifier). */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { extractMissing } from './extract';
import { FeatureCache } from './feature-cache';
import { frozenForward, type Pooling } from './frozen-forward';
import { EngineJobError } from './job-error';
import { getModel } from './model-cache';
import { loadSavedModel, readRunRecord } from './model-files';
import type { EngineEvent, PredictItem, PredictResult } from './protocol';

/**
 * Class probabilities for images with a saved run. Scenario 1: the folded frozen part (features
 * cached in the project's cache) + the saved head. Scenarios 2-4: the saved whole classifier (the
 * network and the nested head) as one fold plan up to its softmax (BatchNorm folded, inference mode).
 */
export async function predict(
  runDir: string,
  items: PredictItem[],
  cacheDir?: string,
  signal?: AbortSignal,
  emit: (e: EngineEvent) => void = () => undefined,
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
  try {
    const dim = whole ? k : run.featureDim;
    const features = new Map<string, Float32Array>();
    const targets = items.map((it, i) => ({ hash: it.hash ?? `path:${i}:${it.path}`, path: it.path, ...(it.root !== undefined ? { root: it.root } : {}) }));
    const key = { modelId: run.modelId, cutLayer: run.cutLayer, pool, inputSize: run.inputSize, preprocess: run.preprocess };
    // A whole classifier's outputs are this run's alone: they go to a scratch cache, never the project's.
    const cache = cacheDir && !whole ? await FeatureCache.open(path.join(cacheDir, 'features'), key, dim) : null;
    const scratch = cache ?? (await FeatureCache.open(path.join(runDir, '.predict-cache'), key, dim));
    const missing = targets.filter((t) => !scratch.has(t.hash));
    const ex = await extractMissing(forward, run.inputSize, missing, scratch, signal, emit, run.preprocessing);
    if (ex.state === 'cancelled') throw new EngineJobError('CANCELLED', 'Prediction was cancelled.');
    for (const t of targets) {
      const f = scratch.get(t.hash);
      if (f) features.set(t.hash, f);
    }
    const ok = targets.filter((t) => features.has(t.hash));
    const x = new Float32Array(ok.length * dim);
    ok.forEach((t, i) => x.set(features.get(t.hash) as Float32Array, i * dim));
    const probs = ok.length && head ? tf.tidy(() => head.predict(tf.tensor2d(x, [ok.length, dim])) as tf.Tensor) : null;
    const values = probs ? ((await probs.data()) as Float32Array) : x;
    probs?.dispose();
    const byHash = new Map(ok.map((t, i) => [t.hash, Array.from(values.subarray(i * k, (i + 1) * k))]));
    if (!cache) await fs.rm(path.join(runDir, '.predict-cache'), { recursive: true, force: true });
    return {
      classNames: run.classNames,
      items: items.map((it, i) => ({
        ...(it.imageId !== undefined ? { imageId: it.imageId } : {}),
        path: it.path,
        probabilities: byHash.get(targets[i]?.hash ?? '') ?? [],
      })),
    };
  } finally {
    forward.dispose();
    head?.dispose();
    whole?.dispose();
  }
}
