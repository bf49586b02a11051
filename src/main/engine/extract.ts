/**
 * Frozen features (or activations) of images not yet cached, appended to a cache in chunks: the
 * extraction step of scenario 1, scenario 2's activation cache, prediction and the audit methods.
 */
import type { PreprocessingMode } from '../../shared/domain';
import { valueRange } from '../../shared/preprocessing';
import { augmentImage, type AugmentParams } from './augment';
import { SquaresUnavailableError, type FrozenForward } from './frozen-forward';
import type { RowSink } from './feature-cache';
import { decodeImage, modeMap, writeInput, writeSquare, type DecodedImage } from './preprocess';
import type { EngineEvent, ImageRef } from './protocol';

const EXTRACT_BATCH = 32;
/** 32 MB of float32 rows at most wait in memory before they are appended to a cache. */
const FLUSH_FLOATS = 8 * 1024 * 1024;

export interface ExtractTarget extends ImageRef {
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
  /** A test-time view (augment.ts's TTA_PARAMS) applied to each network input; null: the image as it is. */
  view: AugmentParams | null = null,
  /**
   * How a target becomes the network's inputs; null: decoded as usual (preprocess.ts decodeImage).
   * Several inputs of one target (content-crop.ts: its content as it is and mirrored) are decoded
   * once and their features summed into its row.
   */
  inputsOf: ((target: ExtractTarget, size: number) => Promise<DecodedImage[]>) | null = null,
): Promise<{ state: 'done' | 'cancelled'; failed: string[] }> {
  const dim = forward.outputShape.reduce((a, b) => a * b, 1);
  const map = modeMap(mode);
  const range = valueRange(mode);
  const failed: string[] = [];
  /**
   * One batch ready for the forward: decoded (sharp or small-png.ts, libuv threads) and written into
   * the network's input while the previous batch's forward runs on its own thread. A batch of small
   * images of one size goes to ONNX Runtime as they are (their centre squares), to be upscaled in
   * its graph; any other batch is upscaled or reduced here. Images that fail are logged and left out.
   */
  // A view transforms the full-size input, and inputs of another kind differ in size: their batches never take the squares route.
  let squaresOk = forward.runSquares !== undefined && view === null && inputsOf === null;
  let upscaledInGraph = 0;
  const read = inputsOf ?? (async (t: ExtractTarget) => [await decodeImage(t, size)]);
  /** A batch's targets (hash and how many inputs each has, in order) and their inputs. */
  const decode = async (s: number): Promise<{ hashes: string[]; counts: number[]; batch: Float32Array; side: number }> => {
    const slice = targets.slice(s, s + EXTRACT_BATCH);
    const decoded = await Promise.all(
      slice.map(async (t) => {
        try {
          return { t, images: await read(t, size) };
        } catch (e) {
          failed.push(t.path);
          emit({ type: 'log', message: `Skipped ${t.path}: it could not be decoded (${(e as Error).message})` });
          return null;
        }
      }),
    );
    const ok = decoded.filter((d) => d !== null);
    const images = ok.flatMap((d) => d.images);
    const sides = new Set(images.map((im) => (im.fits ? size : Math.min(im.width, im.height))));
    const side = sides.size === 1 && squaresOk ? [...sides][0]! : size;
    const pixels = side * side * 3;
    const batch = new Float32Array(images.length * pixels);
    images.forEach((im, i) => (side < size ? writeSquare(im, map, batch, i * pixels) : writeInput(im, size, map, batch, i * pixels)));
    if (view) for (let i = 0; i < images.length; i++) batch.set(augmentImage(batch.subarray(i * pixels, (i + 1) * pixels), size, view, range), i * pixels);
    return { hashes: ok.map((d) => d.t.hash), counts: ok.map((d) => d.images.length), batch, side };
  };
  const inputCount = (d: { counts: number[] }): number => d.counts.reduce((a, b) => a + b, 0);
  /** Each target's row: the sum of its inputs' features. */
  const rowsOf = (counts: number[], values: Float32Array): Float32Array[] => {
    let at = 0;
    return counts.map((count) => {
      const row = values.slice(at * dim, (at + 1) * dim);
      for (let k = 1; k < count; k++) for (let d = 0, o = (at + k) * dim; d < dim; d++) row[d] = row[d]! + values[o + d]!;
      at += count;
      return row;
    });
  };
  const t0 = performance.now();
  // Where the time goes: waiting for decoded images (not hidden behind the forward), the forward, cache writes.
  const spent = { decode: 0, forward: 0, write: 0 };
  // A thunk, not a promise: a forward that computes on this thread (TensorFlow.js) does its work when called.
  const timed = async <T>(part: keyof typeof spent, start: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await start();
    spent[part] += performance.now() - t;
    return r;
  };
  let pending: ReturnType<typeof decode> | null = targets.length ? decode(0) : null;
  let buffer: { hash: string; features: Float32Array }[] = [];
  let done = 0;
  for (let s = 0; s < targets.length; s += EXTRACT_BATCH) {
    let decoded = await timed('decode', () => pending as ReturnType<typeof decode>);
    // Squares decoded before the runtime said it cannot take them: decoded again, for the full input.
    if (decoded.side < size && !squaresOk) decoded = await decode(s);
    if (signal?.aborted) {
      await cache.append(buffer);
      return { state: 'cancelled', failed };
    }
    pending = s + EXTRACT_BATCH < targets.length ? decode(s + EXTRACT_BATCH) : null;
    if (decoded.hashes.length) {
      // The batch moves to the runtime's thread; the next one is being decoded meanwhile.
      const n = inputCount(decoded);
      let values: Float32Array;
      try {
        values = await timed('forward', () => (decoded.side < size ? forward.runSquares!(decoded.batch, n, decoded.side, true) : forward.runBatch(decoded.batch, n, size, true)));
        if (decoded.side < size) upscaledInGraph += n;
      } catch (e) {
        if (!(e instanceof SquaresUnavailableError)) throw e;
        squaresOk = false;
        emit({ type: 'log', message: e.message });
        decoded = await decode(s);
        values = await timed('forward', () => forward.runBatch(decoded.batch, inputCount(decoded), size, true));
      }
      const rows = rowsOf(decoded.counts, values);
      decoded.hashes.forEach((hash, i) => buffer.push({ hash, features: rows[i]! }));
    }
    done += Math.min(EXTRACT_BATCH, targets.length - s);
    emit({ type: 'progress', done, total: targets.length, imagesPerSec: done / Math.max(1e-3, (performance.now() - t0) / 1000) });
    // Flush by rows (pooled features) or by bytes (activations of 100 KB-1 MB per image): memory stays flat.
    if (buffer.length >= 512 || buffer.length * dim >= FLUSH_FLOATS) {
      await timed('write', () => cache.append(buffer));
      buffer = [];
    }
  }
  await timed('write', () => cache.append(buffer));
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
