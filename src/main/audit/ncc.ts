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
