/**
 * One candidate pair's alignment search (thumb-alignment.ts) with its second look, as the finder
 * and each of its search threads (alignment-pool.ts) run it, and the thumbnails packed for those
 * threads: every image's pixels in one shared buffer, which each thread reads without a copy.
 */
import type { GreyThumb } from '../media/perceptual-hash';
import { edgeNcc, interiorNcc, smoothedNcc } from './ncc';
import { alignThumbs } from './thumb-alignment';

/**
 * Sigma (pixels) of the smoothing before the smoothed correlation (ncc.ts smoothedNcc). On the
 * benchmark's alignments at 0.975-0.985, what copies leave unexplained drops from 0.019 to 0.0034
 * (median), what look-alikes leave only from 0.021 to 0.0082; at 1.5 the gap is no wider.
 */
export const SMOOTH_SIGMA = 1;

/** What the search found of one pair; edges NaN where it took no second look, smoothed NaN where it lined nothing up. */
export interface PairSearch {
  score: number;
  mirrored: boolean;
  edges: number;
  smoothed: number;
  /** Correlation of their foregrounds as lined up (ncc.ts interiorNcc); NaN where nothing lined up or too little is foreground in both. */
  interior: number;
}

/** The alignments that get the second look at their edges: from `from`, below `below`. */
export interface Doubtful {
  from: number;
  below: number;
}

export function searchPair(ta: GreyThumb, tb: GreyThumb, doubtful: Doubtful): PairSearch {
  const found = alignThumbs(ta, tb);
  const o = found.overlay;
  const look = o && found.score >= doubtful.from && found.score < doubtful.below;
  return {
    score: found.score,
    mirrored: found.mirrored,
    edges: look ? edgeNcc(o.w, o.h, o.a, o.b, o.inside) : NaN,
    smoothed: o ? smoothedNcc(o.w, o.h, o.a, o.b, o.inside, SMOOTH_SIGMA) : NaN,
    interior: o ? interiorNcc(o.w, o.h, o.a, o.b, o.inside, o.lightBackground) : NaN,
  };
}

/** What the searches found, pair by pair: edges NaN where no second look was taken, smoothed NaN where nothing lined up. */
export interface PairSearches {
  score: Float64Array<ArrayBuffer>;
  mirrored: Uint8Array<ArrayBuffer>;
  edges: Float64Array<ArrayBuffer>;
  smoothed: Float64Array<ArrayBuffer>;
  interior: Float64Array<ArrayBuffer>;
}

/** Room for `count` pairs' searches. */
export const searchesFor = (count: number): PairSearches => ({ score: new Float64Array(count), mirrored: new Uint8Array(count), edges: new Float64Array(count), smoothed: new Float64Array(count), interior: new Float64Array(count) });

/** The buffers of the searches (a thread hands them over without a copy). */
export const buffersOf = (s: PairSearches): ArrayBuffer[] => [s.score.buffer, s.mirrored.buffer, s.edges.buffer, s.smoothed.buffer, s.interior.buffer];

/** Puts `part`, the searches of the pairs from `at` on, into their places in `out`. */
export function placeSearches(out: PairSearches, part: PairSearches, at: number): void {
  out.score.set(part.score, at);
  out.mirrored.set(part.mirrored, at);
  out.edges.set(part.edges, at);
  out.smoothed.set(part.smoothed, at);
  out.interior.set(part.interior, at);
}

/** Searches pairs `from` to `to` of `pairs` (a and b of each in turn) into the same places of `out`. */
export function searchRange(thumb: (i: number) => GreyThumb, pairs: Int32Array, doubtful: Doubtful, out: PairSearches, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    const found = searchPair(thumb(pairs[2 * k] as number), thumb(pairs[2 * k + 1] as number), doubtful);
    out.score[k] = found.score;
    out.mirrored[k] = found.mirrored ? 1 : 0;
    out.edges[k] = found.edges;
    out.smoothed[k] = found.smoothed;
    out.interior[k] = found.interior;
  }
}

/** Thumbnails in shared memory: image i is `pixels[offsets[i] .. offsets[i] + widths[i] * heights[i])`. */
export interface PackedThumbs {
  pixels: Uint8Array;
  offsets: Float64Array;
  widths: Int32Array;
  heights: Int32Array;
}

export function packThumbs(thumbs: readonly GreyThumb[]): PackedThumbs {
  const shared = <T extends Uint8Array | Float64Array | Int32Array>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(bytes));
  const total = thumbs.reduce((s, t) => s + t.pixels.length, 0);
  const packed: PackedThumbs = {
    pixels: shared((b) => new Uint8Array(b), total),
    offsets: shared((b) => new Float64Array(b), 8 * thumbs.length),
    widths: shared((b) => new Int32Array(b), 4 * thumbs.length),
    heights: shared((b) => new Int32Array(b), 4 * thumbs.length),
  };
  let at = 0;
  thumbs.forEach((t, i) => {
    packed.pixels.set(t.pixels, at);
    packed.offsets[i] = at;
    packed.widths[i] = t.width;
    packed.heights[i] = t.height;
    at += t.pixels.length;
  });
  return packed;
}

export function unpackThumb(p: PackedThumbs, i: number): GreyThumb {
  const at = p.offsets[i] as number;
  const width = p.widths[i] as number;
  const height = p.heights[i] as number;
  return { width, height, pixels: p.pixels.subarray(at, at + width * height) };
}
