/**
 * Scenarios 2-4's data, streamed in batches: from the activation cache (scenario 2 without
 * augmentation: the frozen part's output is computed once per image) or decoded from disk
 * (+ augmentation, + the frozen part) every epoch. Memory does not depend on the number of images.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { PreprocessingMode } from '../../shared/domain';
import { preprocessVersion, valueRange } from '../../shared/preprocessing';
import { ActivationCache } from './activation-cache';
import { augmentImage, augmentRandom, sampleAugment } from './augment';
import { extractMissing } from './extract';
import type { FrozenForward } from './frozen-forward';
import { decodeImage, modeMap, writeInput } from './preprocess';
import type { EngineEvent, TrainItem, TrainJob } from './protocol';

export interface PreparedBatch {
  data: Float32Array;
  y: Int32Array;
  hashes: string[];
}

/** Everything one run needs to turn item indices into the trainable part's input. */
export class BatchSource {
  private failed = new Set<string>();

  constructor(
    private readonly size: number,
    private readonly frozen: FrozenForward | null,
    /** Shape of one row of the trainable part's input (the frozen output, or the image). */
    readonly rowShape: number[],
    private readonly cache: ActivationCache | null,
    private readonly augment: TrainJob['config']['augment'],
    private readonly seed: number,
    private readonly emit: (e: EngineEvent) => void,
    private readonly mode: PreprocessingMode,
  ) {}

  /**
   * CPU side (disk, decoding, augmentation): runs while the previous batch trains. `augmentAt`
   * (training only) seeds each image's augmentation by epoch and position in the training set.
   */
  async prepare(items: readonly TrainItem[], useCache: boolean, augmentAt: { epoch: number; positions: ArrayLike<number> } | null): Promise<PreparedBatch> {
    if (useCache && this.cache) {
      const dim = this.rowShape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(items.length * dim);
      const hashes = items.map((i) => i.hash);
      await this.cache.read(hashes, data);
      return { data, y: Int32Array.from(items, (i) => i.label), hashes };
    }
    const pixels = this.size * this.size * 3;
    const decoded = await Promise.all(
      items.map(async (item, k) => {
        if (this.failed.has(item.path)) return null;
        try {
          return { item, k, image: await decodeImage(item, this.size) };
        } catch (e) {
          this.failed.add(item.path);
          this.emit({ type: 'log', message: `Skipped ${item.path}: it could not be decoded (${(e as Error).message})` });
          return null;
        }
      }),
    );
    const ok = decoded.filter((d) => d !== null);
    // Written straight into the batch (no image-sized array each), augmented through one scratch image.
    const images = new Float32Array(ok.length * pixels);
    const map = modeMap(this.mode);
    const augment = augmentAt && this.augment ? { at: augmentAt, config: this.augment, scratch: new Float32Array(pixels) } : null;
    ok.forEach((d, i) => {
      if (!augment) return writeInput(d.image, this.size, map, images, i * pixels);
      writeInput(d.image, this.size, map, augment.scratch);
      const params = sampleAugment(augment.config, augmentRandom(this.seed, augment.at.epoch, augment.at.positions[d.k] as number));
      images.set(augmentImage(augment.scratch, this.size, params, valueRange(this.mode)), i * pixels);
    });
    // The frozen part runs here too (ONNX Runtime or TensorFlow.js), while the previous batch trains.
    const data = this.frozen && ok.length ? await this.frozen.runBatch(images, ok.length, this.size, true) : images;
    return { data, y: Int32Array.from(ok, (d) => d.item.label), hashes: ok.map((d) => d.item.hash) };
  }

  /** GPU/wasm side: the input tensor of the trainable part. */
  tensor(b: PreparedBatch): tf.Tensor4D {
    return tf.tensor4d(b.data, [b.y.length, ...(this.rowShape as [number, number, number])]);
  }
}

/** A run's images, ready to be read in batches. */
export interface FinetuneData {
  source: BatchSource;
  /** The items that can train and validate (an image whose activations could not be cached is left out). */
  trainItems: TrainItem[];
  valItems: TrainItem[];
  /** Whether training epochs read the activation cache (else the full forward runs every epoch). */
  trainCached: boolean;
  cache: ActivationCache | null;
  cacheStats: { hits: number; misses: number };
  extractMs: number;
}

/**
 * The run's items and their batch source. With a frozen part, its activations are cached (and
 * extracted now when missing): for validation always (never augmented), for training when not augmented.
 */
export async function prepareFinetuneData(
  job: TrainJob,
  frozen: FrozenForward | null,
  size: number,
  rowShape: number[],
  mode: PreprocessingMode,
  emit: (e: EngineEvent) => void,
  signal: AbortSignal | undefined,
): Promise<FinetuneData> {
  const augment = job.config.augment;
  const train = job.items.filter((i) => i.split === 'train');
  const val = job.items.filter((i) => i.split === 'val');
  let cache: ActivationCache | null = null;
  let cacheStats = { hits: 0, misses: 0 };
  let extractMs = 0;
  if (frozen) {
    cache = await ActivationCache.open(
      path.join(job.cacheDir, 'activations'),
      { modelId: job.modelId, cutLayer: job.plan.freezeTo ?? '', pool: 'none', inputSize: size, preprocess: preprocessVersion(mode) },
      rowShape.reduce((a, b) => a * b, 1),
    );
    const wanted = new Map<string, { hash: string; path: string }>();
    for (const it of augment ? val : job.items) wanted.set(it.hash, { hash: it.hash, path: it.path });
    const missing = [...wanted.values()].filter((t) => !cache?.has(t.hash));
    cacheStats = { hits: wanted.size - missing.length, misses: missing.length };
    emit({ type: 'phase', phase: 'extract' });
    const t0 = performance.now();
    const ex = await extractMissing(frozen, size, missing, cache, signal, emit, mode);
    extractMs = performance.now() - t0;
    for (const f of ex.failed) emit({ type: 'log', message: `Left out ${f}: it could not be decoded.` });
  }
  const usable = (items: TrainItem[], cached: boolean) => (cached && cache ? items.filter((i) => cache.has(i.hash)) : items);
  const trainCached = Boolean(cache && !augment);
  return {
    source: new BatchSource(size, frozen, rowShape, cache, augment, job.config.seed, emit, mode),
    trainItems: usable(train, trainCached),
    valItems: usable(val, Boolean(cache)),
    trainCached,
    cache,
    cacheStats,
    extractMs,
  };
}
