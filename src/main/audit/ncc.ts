/**
 * Normalised cross-correlation (Pearson's r) of two grey planes, the one measure of how alike two
 * thumbnails are that the near-duplicate check (near-duplicates.ts) and the alignment search
 * (thumb-alignment.ts) use: zero mean and unit variance on the compared part, so a brightness or
 * contrast change does not count.
 */

/** [x0, y0, x1, y1): a rectangle of pixels, ends excluded. */
export type Rect = readonly [number, number, number, number];

/**
 * a's pixels in `rect` (rows of `aw`) against b's pixel (x + ox, y + oy) (rows of `bw`), skipping
 * those where `inside` (indexed as b) is 0. The caller keeps b's index in range. -1 when fewer than
 * `minCount` pixels are compared or either side is flat there.
 */
export function ncc(a: Float32Array, aw: number, b: Float32Array, bw: number, rect: Rect, ox: number, oy: number, minCount: number, inside?: Uint8Array): number {
  const [x0, y0, x1, y1] = rect;
  let n = 0;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let y = y0; y < y1; y++) {
    let i = y * aw + x0;
    let j = (y + oy) * bw + x0 + ox;
    for (let x = x0; x < x1; x++, i++, j++) {
      if (inside && !inside[j]) continue;
      const va = a[i] as number;
      const vb = b[j] as number;
      n++;
      sa += va;
      sb += vb;
      saa += va * va;
      sbb += vb * vb;
      sab += va * vb;
    }
  }
  if (n === 0 || n < minCount) return -1;
  const vA = saa - (sa * sa) / n;
  const vB = sbb - (sb * sb) / n;
  if (vA <= 1e-6 * n || vB <= 1e-6 * n) return -1;
  return (sab - (sa * sb) / n) / Math.sqrt(vA * vB);
}
