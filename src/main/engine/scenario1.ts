/**
 * Scenario 1 (feature extraction) in the engine process: frozen features through the folded
 * forward (cached per image content hash), then a dense head trained on them. Also ImageNet
 * classification with the full pretrained model (the photo test) and prediction with a saved run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo, PreprocessingMode, TrainResult } from '../../shared/domain';
import { preprocessVersion, valueRange } from '../../shared/preprocessing';
import { ModelError } from '../../shared/model-errors';
import { folderIOHandler, readModelFolder } from '../../shared/node/model-folder';
import { inspectModel, loadLayersModel, requireLayer, type LoadedModel } from './model-layers';
import { FeatureCache, type RowSink } from './feature-cache';
import { SquaresUnavailableError, frozenForward, type FrozenForward, type Pooling } from './frozen-forward';
import { trainHead } from './head';
import { readTeachable } from '../../shared/node/teachable';
import { classifierModel, disposeWeights, saveLayersModel, writeRunJson } from './model-files';
import { decodeImage, loadModelInput, modeMap, writeInput, writeSquare } from './preprocess';
import type { ClassifyResult, EngineErrorData, EngineEvent, ImageRef, PredictItem, PredictResult, TrainJob } from './protocol';

/** A job the engine refuses or cannot finish, with one of the protocol's codes. */
export class EngineJobError extends Error {
  constructor(
    readonly code: EngineErrorData['code'],
    message: string,
  ) {
    super(message);
  }
}

const INPUT_SIZE = 224;
const EXTRACT_BATCH = 32;
/** 32 MB of float32 rows at most wait in memory before they are appended to a cache. */
const FLUSH_FLOATS = 8 * 1024 * 1024;

/** Loaded models, reused across jobs (a few, least recently used dropped). */
const models = new Map<string, LoadedModel>();
export async function getModel(dir: string): Promise<LoadedModel> {
  const key = path.resolve(dir);
  const hit = models.get(key);
  if (hit) {
    models.delete(key);
    models.set(key, hit);
    return hit;
  }
  const loaded = await loadLayersModel(key);
  models.set(key, loaded);
  while (models.size > 2) {
    const [oldKey, old] = models.entries().next().value as [string, LoadedModel];
    old.model.dispose();
    models.delete(oldKey);
  }
  return loaded;
}

export function inputSizeOf(model: tf.LayersModel): number {
  const s = model.inputs[0]?.shape;
  return typeof s?.[1] === 'number' ? s[1] : INPUT_SIZE;
}

interface ExtractTarget extends ImageRef {
  hash: string;
}

/**
 * Features for every target not in the cache, appended to it in chunks (so a cancel keeps what
 * was done). Decoding of the next batch (sharp, libuv threads) overlaps inference of this one.
 */
export async function extractMissing(
  forward: FrozenForward,
  size: number,
  targets: ExtractTarget[],
  cache: RowSink,
  signal: AbortSignal | undefined,
  emit: (e: EngineEvent) => void,
  /** The model's input preprocessing (its family's). */
  mode: PreprocessingMode = 'tf',
): Promise<{ state: 'done' | 'cancelled'; failed: string[] }> {
  const dim = forward.outputShape.reduce((a, b) => a * b, 1);
  const map = modeMap(mode);
  const failed: string[] = [];
  /**
   * One batch ready for the forward: decoded (sharp or small-png.ts, libuv threads) and written into
   * the network's input while the previous batch's forward runs on its own thread. A batch of small
   * images of one size goes to ONNX Runtime as they are (their centre squares), to be upscaled in
   * its graph; any other batch is upscaled or reduced here. Images that fail are logged and left out.
   */
  let squaresOk = forward.runSquares !== undefined;
  let upscaledInGraph = 0;
  const decode = async (s: number): Promise<{ hashes: string[]; batch: Float32Array; side: number }> => {
    const slice = targets.slice(s, s + EXTRACT_BATCH);
    const images = await Promise.all(
      slice.map(async (t) => {
        try {
          return { t, image: await decodeImage(t, size) };
        } catch (e) {
          failed.push(t.path);
          emit({ type: 'log', message: `Skipped ${t.path}: it could not be decoded (${(e as Error).message})` });
          return null;
        }
      }),
    );
    const ok = images.filter((d) => d !== null);
    const sides = new Set(ok.map((d) => (d.image.fits ? size : Math.min(d.image.width, d.image.height))));
    const side = sides.size === 1 && squaresOk ? [...sides][0]! : size;
    const pixels = side * side * 3;
    const batch = new Float32Array(ok.length * pixels);
    ok.forEach((d, i) => (side < size ? writeSquare(d.image, map, batch, i * pixels) : writeInput(d.image, size, map, batch, i * pixels)));
    return { hashes: ok.map((d) => d.t.hash), batch, side };
  };
  const t0 = performance.now();
  // Where the time goes: waiting for decoded images (not hidden behind the forward), the forward, cache writes.
  const spent = { decode: 0, forward: 0, write: 0 };
  const timed = async <T>(part: keyof typeof spent, p: Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await p;
    spent[part] += performance.now() - t;
    return r;
  };
  let pending: ReturnType<typeof decode> | null = targets.length ? decode(0) : null;
  let buffer: { hash: string; features: Float32Array }[] = [];
  let done = 0;
  for (let s = 0; s < targets.length; s += EXTRACT_BATCH) {
    let decoded = await timed('decode', pending as ReturnType<typeof decode>);
    // Squares decoded before the runtime said it cannot take them: decoded again, for the full input.
    if (decoded.side < size && !squaresOk) decoded = await decode(s);
    if (signal?.aborted) {
      await cache.append(buffer);
      return { state: 'cancelled', failed };
    }
    pending = s + EXTRACT_BATCH < targets.length ? decode(s + EXTRACT_BATCH) : null;
    if (decoded.hashes.length) {
      // The batch moves to the runtime's thread; the next one is being decoded meanwhile.
      const n = decoded.hashes.length;
      let values: Float32Array;
      try {
        values = await timed('forward', decoded.side < size ? forward.runSquares!(decoded.batch, n, decoded.side, true) : forward.runBatch(decoded.batch, n, size, true));
        if (decoded.side < size) upscaledInGraph += n;
      } catch (e) {
        if (!(e instanceof SquaresUnavailableError)) throw e;
        squaresOk = false;
        emit({ type: 'log', message: e.message });
        decoded = await decode(s);
        values = await timed('forward', forward.runBatch(decoded.batch, decoded.hashes.length, size, true));
      }
      decoded.hashes.forEach((hash, i) => buffer.push({ hash, features: values.slice(i * dim, (i + 1) * dim) }));
    }
    done += Math.min(EXTRACT_BATCH, targets.length - s);
    emit({ type: 'progress', done, total: targets.length, imagesPerSec: done / Math.max(1e-3, (performance.now() - t0) / 1000) });
    // Flush by rows (pooled features) or by bytes (activations of 100 KB-1 MB per image): memory stays flat.
    if (buffer.length >= 512 || buffer.length * dim >= FLUSH_FLOATS) {
      await timed('write', cache.append(buffer));
      buffer = [];
    }
  }
  await timed('write', cache.append(buffer));
  if (targets.length) {
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const total = performance.now() - t0;
    emit({
      type: 'log',
      message: `Extracted ${targets.length} images in ${sec(total)} (${Math.round(targets.length / (total / 1000))} img/s): forward ${sec(spent.forward)}, waiting for decoding ${sec(spent.decode)} (the rest overlaps the forward), cache writes ${sec(spent.write)}; ${forward.kind}${upscaledInGraph ? `; ${upscaledInGraph} small images upscaled in the runtime's graph` : ''}.`,
    });
  }
  return { state: 'done', failed: [...new Set(failed)] }; // a batch decoded twice (above) logs its failures twice
}

export function pickCutLayer(loaded: LoadedModel, requested: string | undefined): string {
  if (requested) {
    requireLayer(loaded.model, requested);
    return requested;
  }
  return inspectModel(loaded).defaultCutLayer;
}

/** Refuses a job that cannot train (any scenario). */
export function validateJob(job: TrainJob): void {
  if (job.classNames.length < 2) throw new EngineJobError('BAD_JOB', 'Training needs at least two classes.');
  const train = job.items.filter((i) => i.split === 'train');
  if (train.length === 0) throw new EngineJobError('BAD_JOB', 'Training needs labelled images in the train split.');
  for (const it of job.items) {
    if (!(it.label >= 0 && it.label < job.classNames.length)) {
      throw new EngineJobError('BAD_JOB', `Image ${it.imageId} has label ${it.label}, outside the ${job.classNames.length} classes.`);
    }
  }
}

export async function runScenario1(
  job: TrainJob,
  backend: BackendInfo,
  emit: (e: EngineEvent) => void,
  signal?: AbortSignal,
): Promise<TrainResult> {
  validateJob(job);
  const loaded = await getModel(job.modelDir);
  const cutLayer = pickCutLayer(loaded, job.config.cutLayer);
  const pool: Pooling = 'avg';
  const size = inputSizeOf(loaded.model);
  const log = (message: string) => emit({ type: 'log', message });
  const forward = await frozenForward(loaded.model, cutLayer, { pool, cacheAs: job.modelId, log });
  try {
    const dim = forward.outputShape.reduce((a, b) => a * b, 1);
    emit({ type: 'log', message: `Frozen part: ${loaded.name} up to ${cutLayer} (${forward.kind}), ${dim} features; training backend ${backend.name} x${backend.threads}` });
    const cache = await FeatureCache.open(
      path.join(job.cacheDir, 'features'),
      { modelId: job.modelId, cutLayer, pool, inputSize: size, preprocess: preprocessVersion(loaded.preprocessing) },
      dim,
    );
    // Extraction: unique content hashes not yet cached.
    emit({ type: 'phase', phase: 'extract' });
    const unique = new Map<string, ExtractTarget>();
    for (const it of job.items) if (!unique.has(it.hash)) unique.set(it.hash, { hash: it.hash, path: it.path, ...(it.root !== undefined ? { root: it.root } : {}) });
    const missing = [...unique.values()].filter((t) => !cache.has(t.hash));
    const hits = unique.size - missing.length;
    const te = performance.now();
    const ex = await extractMissing(forward, size, missing, cache, signal, emit, loaded.preprocessing);
    const extractMs = performance.now() - te;
    const base = {
      backend: { ...backend, inference: forward.inference },
      baseline: null,
      cache: { hits, misses: missing.length },
      extractMs,
      cutLayer,
      featureDim: dim,
      frozenKind: forward.kind,
    };
    if (ex.state === 'cancelled') {
      return { ...base, state: 'cancelled', epochsRun: 0, bestEpoch: null, trainMs: 0, modelFiles: [], metrics: [], confusion: null };
    }
    // Training data from the cache.
    const gather = (split: 'train' | 'val') => {
      const rows = job.items.filter((i) => i.split === split && cache.has(i.hash));
      const x = new Float32Array(rows.length * dim);
      const y = new Int32Array(rows.length);
      rows.forEach((r, k) => {
        x.set(cache.get(r.hash) as Float32Array, k * dim);
        y[k] = r.label;
      });
      return { x, y };
    };
    emit({ type: 'phase', phase: 'train' });
    const head = await trainHead({
      dim,
      classNames: job.classNames,
      train: gather('train'),
      val: gather('val'),
      config: job.config,
      signal,
      onBatch: (p) => emit({ type: 'progress', done: p.done, total: p.total, epoch: p.epoch, batch: p.batch, imagesPerSec: p.imagesPerSec }),
      onEpoch: (metrics, confusion) => emit({ type: 'epoch', metrics, confusion }),
    });
    log(`Head trained on ${head.stepKind}`);
    const modelFiles: string[] = [];
    try {
      if (head.bestEpoch !== null) {
        await fs.mkdir(job.runDir, { recursive: true });
        modelFiles.push(...(await saveLayersModel(head.model, path.join(job.runDir, 'head'))));
        // The whole classifier (pretrained part up to the cut + pooling + head) for export.
        const full = classifierModel(loaded.model, cutLayer, head.model);
        modelFiles.push(...(await saveLayersModel(full, path.join(job.runDir, 'model'))));
        const runJson = await writeRunJson(job.runDir, {
          scenario: 1,
          modelId: job.modelId,
          modelDir: path.resolve(job.modelDir),
          cutLayer,
          pool,
          inputSize: size,
          scaling: valueRange(loaded.preprocessing),
          preprocessing: loaded.preprocessing,
          preprocess: preprocessVersion(loaded.preprocessing),
          classNames: job.classNames,
          featureDim: dim,
          backend,
          bestEpoch: head.bestEpoch,
          state: head.state,
          savedAt: new Date().toISOString(),
        });
        modelFiles.push(runJson);
      }
    } finally {
      disposeWeights(head.model); // it was also applied in the classifier: dispose() alone would keep it
    }
    return {
      ...base,
      state: head.state,
      epochsRun: head.epochsRun,
      bestEpoch: head.bestEpoch,
      baseline: head.baseline,
      trainMs: head.trainMs,
      modelFiles,
      metrics: head.metrics,
      confusion: head.confusion,
      headKind: head.stepKind,
    };
  } finally {
    forward.dispose();
  }
}

export async function readLabels(modelDir: string, labelsPath?: string): Promise<string[]> {
  // A Teachable Machine export's head knows the export's own classes, whatever lies beside it.
  const teachable = labelsPath ? null : readTeachable(modelDir);
  if (teachable) return teachable.labels;
  const candidates = labelsPath ? [labelsPath] : [path.join(modelDir, 'imagenet_classes.txt'), path.join(path.dirname(modelDir), 'imagenet_classes.txt')];
  for (const c of candidates) {
    try {
      return (await fs.readFile(c, 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean);
    } catch {
      // next candidate
    }
  }
  return [];
}

/** Top-k classes of the pretrained model's own output (ImageNet for the catalog models). */
export async function classify(modelDir: string, imagePaths: string[], topK = 5, labelsPath?: string): Promise<ClassifyResult[]> {
  const loaded = await getModel(modelDir);
  const size = inputSizeOf(loaded.model);
  const labels = await readLabels(modelDir, labelsPath);
  const out: ClassifyResult[] = [];
  for (let s = 0; s < imagePaths.length; s += 16) {
    const paths = imagePaths.slice(s, s + 16);
    const imgs = await Promise.all(paths.map((p) => loadModelInput(p, size, loaded.preprocessing)));
    const batch = new Float32Array(imgs.length * size * size * 3);
    imgs.forEach((d, i) => batch.set(d, i * size * size * 3));
    const probs = tf.tidy(() => tf.reshape(loaded.model.predict(tf.tensor4d(batch, [imgs.length, size, size, 3])) as tf.Tensor, [imgs.length, -1]));
    const values = (await probs.data()) as Float32Array;
    const k = probs.shape[1] ?? 0;
    probs.dispose();
    paths.forEach((p, i) => {
      const row = Array.from(values.subarray(i * k, (i + 1) * k));
      const top = row
        .map((probability, index) => ({ index, probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, topK)
        .map((t) => ({ ...t, label: labels[t.index] ?? String(t.index) }));
      out.push({ path: p, top });
    });
  }
  return out;
}

/** What prediction and explanation read of a run's run.json. */
export interface RunJson {
  scenario?: number;
  modelId: string;
  modelDir: string;
  cutLayer: string;
  pool: Pooling;
  inputSize: number;
  preprocess: string;
  /** Absent in runs from before per-family preprocessing: those are [-1, 1]. */
  preprocessing?: PreprocessingMode;
  classNames: string[];
  featureDim: number;
  /** 'model' (scenarios 2-4): the whole trained classifier is runDir/model, there is no separate head. */
  classifier?: 'model';
  /** When the run's model was saved (a resumed run saves again: caches of its outputs key on it). */
  savedAt?: string;
}

export async function readRunJson(runDir: string): Promise<RunJson> {
  try {
    return JSON.parse(await fs.readFile(path.join(runDir, 'run.json'), 'utf8')) as RunJson;
  } catch {
    throw new EngineJobError('RUN_NOT_FOUND', `No trained model in ${runDir} (run.json is missing or unreadable).`);
  }
}

export async function loadSaved(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(folderIOHandler(await readModelFolder(dir)));
}

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
  const run = await readRunJson(runDir);
  const k = run.classNames.length;
  const whole = run.classifier === 'model' ? await loadSaved(path.join(runDir, 'model')) : null;
  const head = whole ? null : await loadSaved(path.join(runDir, 'head'));
  const log = (message: string) => emit({ type: 'log', message });
  // A whole classifier (its own trained weights, not cached per machine) runs to its softmax as one plan.
  const forward = whole
    ? await frozenForward(whole, whole.layers[whole.layers.length - 1]?.name ?? '', { pool: 'none', inputSize: run.inputSize, cacheAs: null, log })
    : await frozenForward((await getModel(run.modelDir)).model, run.cutLayer, { pool: run.pool, inputSize: run.inputSize, cacheAs: run.modelId, log });
  try {
    const dim = whole ? k : run.featureDim;
    const features = new Map<string, Float32Array>();
    const targets = items.map((it, i) => ({ hash: it.hash ?? `path:${i}:${it.path}`, path: it.path, ...(it.root !== undefined ? { root: it.root } : {}) }));
    const key = { modelId: run.modelId, cutLayer: run.cutLayer, pool: run.pool, inputSize: run.inputSize, preprocess: run.preprocess };
    // A whole classifier's outputs are this run's alone: they go to a scratch cache, never the project's.
    const cache = cacheDir && !whole ? await FeatureCache.open(path.join(cacheDir, 'features'), key, dim) : null;
    const scratch = cache ?? (await FeatureCache.open(path.join(runDir, '.predict-cache'), key, dim));
    const missing = targets.filter((t) => !scratch.has(t.hash));
    const ex = await extractMissing(forward, run.inputSize, missing, scratch, signal, emit, run.preprocessing ?? 'tf');
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

export { ModelError };
