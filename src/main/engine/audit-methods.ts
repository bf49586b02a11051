/**
 * The data audit's engine methods. Each reads the pooled features of its images through the
 * scenario-1 path (the model's frozen forward up to the cut, average pooling, the project's feature
 * cache; images not cached yet are extracted and cached on the way, so training, prediction and the
 * audit share one cache), then runs its part: K-fold out-of-sample head probabilities, feature
 * neighbours, the embedding map, or label next's quick retrain. Cancel rejects with CANCELLED.
 */
import path from 'node:path';
import type { TrainConfig } from '../../shared/domain';
import { poolDensity } from '../../shared/pool-density';
import type { AuditStage, EngineEvent, EngineResult, FeatureFacts, FeatureSource } from './protocol';
import { embeddingMap } from './embedding-map';
import { FeatureCache } from './feature-cache';
import { featureNeighbours } from './feature-neighbours';
import { foldedForward, type Pooling } from './frozen-forward';
import { outOfSampleProbabilities, retrainAndPredict } from './out-of-sample';
import { preprocessVersion } from '../../shared/preprocessing';
import { contentInputs } from './content-crop';
import { extractMissing } from './extract';
import { EngineJobError } from './job-error';
import { getModel, inputSizeOf } from './model-cache';
import { pickCutLayer } from './model-layers';

type Emit = (e: EngineEvent) => void;

/** Progress within a stage as done/total of 1000. */
const SCALE = 1000;
function stage(emit: Emit, s: AuditStage): (share: number) => void {
  emit({ type: 'stage', stage: s });
  return (share) => emit({ type: 'progress', done: Math.round(Math.min(1, Math.max(0, share)) * SCALE), total: SCALE });
}

/** The content features' cache key, apart from the frame's (the caches ';content-plain' and ';content-mirrored' before it saw a large image's centre square only). */
const CONTENT_KEY = ';content';

const cancelled = (): EngineJobError => new EngineJobError('CANCELLED', 'Cancelled.');

interface Features extends FeatureFacts {
  /** Row-major [kept, dim]: the features of the items that could be read, in item order. */
  rows: Float32Array;
  /** Item index of each kept row. */
  kept: Int32Array;
}

/**
 * The features of every item, extracting those the cache lacks (as a scenario-1 run does). With
 * `content`, its content features, cached apart: the sum of its content box's features as it is
 * and mirrored (content-crop.ts), so a copy padded, cropped, rescaled or mirrored lies near its
 * original.
 */
async function readFeatures(source: FeatureSource, signal: AbortSignal, emit: Emit, content = false): Promise<Features> {
  const loaded = await getModel(source.modelDir);
  const cutLayer = pickCutLayer(loaded, source.cutLayer);
  const pool: Pooling = 'avg';
  const size = inputSizeOf(loaded.model);
  const forward = foldedForward(loaded.model, cutLayer, { pool });
  try {
    const dim = forward.outputShape.reduce((a, b) => a * b, 1);
    const cache = await FeatureCache.open(
      path.join(source.cacheDir, 'features'),
      { modelId: source.modelId, cutLayer, pool, inputSize: size, preprocess: preprocessVersion(loaded.preprocessing) + (content ? CONTENT_KEY : '') },
      dim,
    );
    const missing = new Map<string, { hash: string; path: string }>();
    for (const it of source.items) if (!cache.has(it.hash) && !missing.has(it.hash)) missing.set(it.hash, it);
    emit({ type: 'stage', stage: 'extract' });
    const t0 = performance.now();
    const ex = await extractMissing(forward, size, [...missing.values()], cache, signal, emit, loaded.preprocessing, null, content ? contentInputs : null);
    if (ex.state === 'cancelled' || signal.aborted) throw cancelled();
    const failed: number[] = [];
    const kept: number[] = [];
    source.items.forEach((it, i) => (cache.has(it.hash) ? kept : failed).push(i));
    const rows = new Float32Array(kept.length * dim);
    kept.forEach((i, r) => rows.set(cache.get(source.items[i]!.hash)!, r * dim));
    return { dim, cutLayer, failed, extractMs: performance.now() - t0, rows, kept: Int32Array.from(kept) };
  } finally {
    forward.dispose();
  }
}

const facts = (f: Features): FeatureFacts => ({ dim: f.dim, cutLayer: f.cutLayer, failed: f.failed, extractMs: f.extractMs });

/** Row-major [n, width] with the kept rows' values in place and NaN elsewhere. */
function scatter(values: Float32Array, kept: Int32Array, n: number, width: number): Float32Array {
  const out = new Float32Array(n * width).fill(NaN);
  kept.forEach((i, r) => out.set(values.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

export async function outOfSample(
  p: { source: FeatureSource; labels: Int32Array; numClasses: number; config: TrainConfig; folds: number },
  signal: AbortSignal,
  emit: Emit,
): Promise<EngineResult<'outOfSample'>> {
  if (p.labels.length !== p.source.items.length) throw new EngineJobError('BAD_JOB', `${p.source.items.length} images but ${p.labels.length} labels.`);
  const f = await readFeatures(p.source, signal, emit);
  const progress = stage(emit, 'folds');
  let r;
  try {
    r = await outOfSampleProbabilities({
      features: f.rows,
      dim: f.dim,
      labels: Int32Array.from(f.kept, (i) => p.labels[i]!),
      numClasses: p.numClasses,
      config: p.config,
      folds: p.folds,
      signal,
      onProgress: (x) => progress(x.done),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new EngineJobError('BAD_JOB', e.message);
    throw e;
  }
  if (r.state === 'cancelled') throw cancelled();
  const fold = new Int32Array(p.source.items.length).fill(-1);
  f.kept.forEach((i, r2) => (fold[i] = r.fold[r2]!));
  return { ...facts(f), probabilities: scatter(r.probabilities, f.kept, p.source.items.length, p.numClasses), fold };
}

export async function neighbours(p: { source: FeatureSource; k?: number; minCosine?: number; content?: boolean }, signal: AbortSignal, emit: Emit): Promise<EngineResult<'featureNeighbours'>> {
  const f = await readFeatures(p.source, signal, emit, p.content === true);
  const r = await featureNeighbours({
    features: f.rows,
    dim: f.dim,
    ...(p.k !== undefined ? { k: p.k } : {}),
    ...(p.minCosine !== undefined ? { minCosine: p.minCosine } : {}),
    signal,
    onProgress: stage(emit, 'neighbours'),
  });
  if (r.state === 'cancelled') throw cancelled();
  return { ...facts(f), pairs: r.pairs.map((x) => ({ a: f.kept[x.a]!, b: f.kept[x.b]!, cosine: x.cosine })) };
}

/** The embedding map of a feature source's images: their features (cached), then PCA and the 2-D layout. */
export async function embeddingMapOfSource(p: { source: FeatureSource; seed: number }, signal: AbortSignal, emit: Emit): Promise<EngineResult<'embeddingMap'>> {
  const f = await readFeatures(p.source, signal, emit);
  let current: AuditStage | null = null;
  let progress = (_share: number): void => undefined;
  const r = await embeddingMap({
    features: f.rows,
    dim: f.dim,
    seed: p.seed,
    signal,
    onProgress: (x) => {
      const s: AuditStage = x.phase === 'layout' ? 'layout' : x.phase === 'pca' ? 'pca' : 'neighbours';
      if (s !== current) progress = stage(emit, (current = s));
      progress(x.done);
    },
  });
  if (r.state === 'cancelled') throw cancelled();
  return { ...facts(f), coordinates: scatter(r.coordinates, f.kept, p.source.items.length, 2), pcaComponents: r.pcaComponents, pcaExplained: r.pcaExplained };
}

export async function labelNextRetrain(
  p: { source: FeatureSource; labels: Int32Array; numClasses: number; config: TrainConfig },
  signal: AbortSignal,
  emit: Emit,
): Promise<EngineResult<'labelNext'>> {
  const labelled = p.labels.length;
  const n = p.source.items.length;
  if (labelled > n) throw new EngineJobError('BAD_JOB', `${labelled} labels for ${n} images.`);
  const f = await readFeatures(p.source, signal, emit);
  // Kept rows are in item order: the labelled ones first.
  const split = f.kept.findIndex((i) => i >= labelled);
  const cut = split < 0 ? f.kept.length : split;
  if (cut === 0) throw new EngineJobError('BAD_JOB', 'No labelled image could be read to train on.');
  const t0 = performance.now();
  const probs = await retrainAndPredict({
    dim: f.dim,
    numClasses: p.numClasses,
    labelled: { x: f.rows.subarray(0, cut * f.dim), y: Int32Array.from(f.kept.subarray(0, cut), (i) => p.labels[i]!) },
    predict: f.rows.subarray(cut * f.dim),
    config: p.config,
    signal,
    onProgress: stage(emit, 'train'),
  });
  if (!probs) throw cancelled();
  const trainMs = performance.now() - t0;
  stage(emit, 'predict');
  const pool = f.rows.subarray(cut * f.dim);
  const density = pool.length ? poolDensity(pool, f.dim) : new Float32Array(0);
  const unlabelledKept = Int32Array.from(f.kept.subarray(cut), (i) => i - labelled);
  return {
    ...facts(f),
    probabilities: scatter(probs, unlabelledKept, n - labelled, p.numClasses),
    density: scatter(density, unlabelledKept, n - labelled, 1),
    trainMs,
  };
}
