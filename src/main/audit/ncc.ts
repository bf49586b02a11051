/**
 * Normalised cross-correlation (Pearson's r) of two grey planes, the one measure of how alike two
 * thumbnails are that the near-duplicate check (near-duplicates.ts) and the alignment search
 * (thumb-alignment.ts) use: zero mean and unit variance on the compared part, so a brightness or
 * contrast change does not count.
 */

/** [x0, y0, x1, y1): a rectangle of pixels, ends excluded. */
export type Rect = readonly [number, number, number, number];

/** Sums of paired values, and their normalised cross-correlation: the one place it is computed. */
export class Correlation {
  n = 0;
  private sa = 0;
  private sb = 0;
  private saa = 0;
  private sbb = 0;
  private sab = 0;

  add(va: number, vb: number): void {
    this.n++;
    this.sa += va;
    this.sb += vb;
    this.saa += va * va;
    this.sbb += vb * vb;
    this.sab += va * vb;
  }

  /** -1..1; -1 when fewer than `minCount` pairs were added or either side is flat. */
  value(minCount: number): number {
    const n = this.n;
    if (n === 0 || n < minCount) return -1;
    const vA = this.saa - (this.sa * this.sa) / n;
    const vB = this.sbb - (this.sb * this.sb) / n;
    if (vA <= 1e-6 * n || vB <= 1e-6 * n) return -1;
    return (this.sab - (this.sa * this.sb) / n) / Math.sqrt(vA * vB);
  }
}

/**
 * a's pixels in `rect` (rows of `aw`) against b's pixel (x + ox, y + oy) (rows of `bw`), skipping
 * those where `inside` (indexed as b) is 0. The caller keeps b's index in range. -1 when fewer than
 * `minCount` pixels are compared or either side is flat there.
 */
export function ncc(a: Float32Array, aw: number, b: Float32Array, bw: number, rect: Rect, ox: number, oy: number, minCount: number, inside?: Uint8Array): number {
  const [x0, y0, x1, y1] = rect;
  const sums = new Correlation();
  for (let y = y0; y < y1; y++) {
    let i = y * aw + x0;
    let j = (y + oy) * bw + x0 + ox;
    for (let x = x0; x < x1; x++, i++, j++) if (!inside || inside[j]) sums.add(a[i] as number, b[j] as number);
  }
  return sums.value(minCount);
}

/**
 * Normalised cross-correlation of two planes' edges (w x h each): their differences to the right
 * and downward neighbour, where both pixels are marked in `inside`. Garments that look alike share
 * a silhouette but not the folds, seams and prints inside it; a copy keeps those even when it is
 * blurred or recompressed (near-duplicates.ts: the second look at a doubtful alignment).
 */
export function edgeNcc(w: number, h: number, a: Float32Array, b: Float32Array, inside: Uint8Array): number {
  const sums = new Correlation();
  let compared = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!inside[i]) continue;
      compared++;
      if (x + 1 < w && inside[i + 1]) sums.add((a[i + 1] as number) - (a[i] as number), (b[i + 1] as number) - (b[i] as number));
      if (y + 1 < h && inside[i + w]) sums.add((a[i + w] as number) - (a[i] as number), (b[i + w] as number) - (b[i] as number));
    }
  }
  return sums.value(compared / 2);
}

/** A pixel is foreground when it lies this share of the plane's range away from its background's end (interiorNcc). */
const FOREGROUND_SHARE = 0.3;
/** Fewer foreground pixels in common than this: no interior to compare. */
const INTERIOR_MIN_PIXELS = 16;

/** Which pixels of a plane (w x h, where `inside`) are its foreground: FOREGROUND_SHARE of its range brighter than its darkest, or on a light background darker than its brightest. */
function foreground(p: Float32Array, inside: Uint8Array, lightBackground: boolean): (i: number) => boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < p.length; i++) {
    if (!inside[i]) continue;
    lo = Math.min(lo, p[i] as number);
    hi = Math.max(hi, p[i] as number);
  }
  if (lightBackground) {
    const cut = hi - FOREGROUND_SHARE * (hi - lo);
    return (i) => (p[i] as number) < cut;
  }
  const cut = lo + FOREGROUND_SHARE * (hi - lo);
  return (i) => (p[i] as number) > cut;
}

/**
 * Normalised cross-correlation of two planes lined up (w x h each) over the pixels that are
 * foreground in both (foreground): the texture inside their silhouettes. Garments that look alike
 * share a silhouette, which dominates the whole plane's correlation (a patterned and a plain
 * sweater, padded alike, at 0.98); a copy keeps its prints and folds. The foreground is the bright
 * part, as a subject on a dark background is (the benchmark's garments), or on a light background
 * (`lightBackground`: product photos on white) the dark part: taken as bright there, it would be
 * mostly background, flat and adding nothing but the silhouette's edge. NaN when they have fewer
 * than INTERIOR_MIN_PIXELS in common (near-duplicates.ts: what a pair stands out by besides its
 * smoothed correlation).
 */
export function interiorNcc(w: number, h: number, a: Float32Array, b: Float32Array, inside: Uint8Array, lightBackground = false): number {
  const inA = foreground(a, inside, lightBackground);
  const inB = foreground(b, inside, lightBackground);
  const both = new Uint8Array(w * h);
  let count = 0;
  for (let i = 0; i < both.length; i++) {
    if (inside[i] && inA(i) && inB(i)) {
      both[i] = 1;
      count++;
    }
  }
  return count < INTERIOR_MIN_PIXELS ? NaN : ncc(a, w, b, w, [0, 0, w, h], 0, 0, count / 2, both);
}

/** A Gaussian's weights from -3 sigma to 3 sigma (whole pixels), summing to 1. */
export function gaussianTaps(sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const taps = Float32Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((s, t) => s + t, 0);
  return taps.map((t) => t / sum);
}

/**
 * Normalised cross-correlation of two planes (w x h each) where `inside` marks them, both first
 * smoothed by a Gaussian of `sigma` pixels over the marked pixels only. What a copy's own noise
 * (recompression, resampling twice) adds is fine-grained and smooths away; what tells look-alike
 * garments apart (a collar's shape, a sleeve's length) is coarser and stays (near-duplicates.ts:
 * how far a pair stands out above its images' other alignments).
 */
export function smoothedNcc(w: number, h: number, a: Float32Array, b: Float32Array, inside: Uint8Array, sigma: number): number {
  const taps = gaussianTaps(sigma);
  const r = (taps.length - 1) / 2;
  // One pass along x or along y: each output the weighted mean of the marked pixels it reaches.
  const pass = (src: Float32Array, alongX: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        let weight = 0;
        for (let j = -r; j <= r; j++) {
          const xx = alongX ? x + j : x;
          const yy = alongX ? y : y + j;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h || !inside[yy * w + xx]) continue;
          sum += (taps[j + r] as number) * (src[yy * w + xx] as number);
          weight += taps[j + r] as number;
        }
        out[y * w + x] = weight > 0 ? sum / weight : 0;
      }
    }
    return out;
  };
  const smooth = (p: Float32Array): Float32Array => pass(pass(p, true), false);
  let compared = 0;
  for (const v of inside) compared += v;
  return ncc(smooth(a), w, smooth(b), w, [0, 0, w, h], 0, 0, compared / 2, inside);
}
