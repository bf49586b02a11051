/**
 * A thumbnail's content without its flat margins, as a second hash for the near-duplicate
 * candidates (near-duplicates.ts). A pad, a letterbox, a crop into an empty background or an
 * upscale change a picture's pHash completely (the content moves and changes size in the frame),
 * but not the content inside its flat margins: trimmed, stretched to pHash's 32 x 32 and hashed,
 * a padded copy hashes like its original, and hashing the trimmed content mirrored as well finds
 * mirrored copies the same way. Computed from the stored grey thumbnails, nothing new is stored.
 */
import { dctHash, type GreyThumb } from '../media/perceptual-hash';
import type { Rect } from './ncc';

/** A grey plane: w x h values, row-major. */
export interface GreyPlane {
  w: number;
  h: number;
  px: ArrayLike<number>;
}

/** b's value at (fx, fy) by bilinear interpolation, edges clamped. */
export function bilinear(p: GreyPlane, fx: number, fy: number): number {
  const xc = Math.min(p.w - 1, Math.max(0, fx));
  const yc = Math.min(p.h - 1, Math.max(0, fy));
  const x0 = Math.max(0, Math.min(p.w - 2, Math.floor(xc)));
  const y0 = Math.max(0, Math.min(p.h - 2, Math.floor(yc)));
  const x1 = Math.min(p.w - 1, x0 + 1);
  const y1 = Math.min(p.h - 1, y0 + 1);
  const ax = xc - x0;
  const ay = yc - y0;
  const top = (p.px[y0 * p.w + x0] as number) * (1 - ax) + (p.px[y0 * p.w + x1] as number) * ax;
  const bottom = (p.px[y1 * p.w + x0] as number) * (1 - ax) + (p.px[y1 * p.w + x1] as number) * ax;
  return top * (1 - ay) + bottom * ay;
}

/** A row or column is flat when its grey levels vary this little against the whole plane's (a pad, JPEG noise and blur included). */
const FLAT = 0.12;
/** The same for the content box: a pad recompressed as JPEG rings (a 24-pixel copy at quality 55: 0.14). */
const CONTENT_FLAT = 0.2;

/**
 * The part of p inside its flat border: top rows, bottom rows, left and right columns peeled
 * while each is flat (varying at most `flatShare` of the plane's deviation), at most `maxShare` of
 * a side from each end. `nested`: peeled over again
 * until nothing moves, so a border inside a border goes too (a pad around a picture on black:
 * once the pad's rows are off, its columns still cut through the black rows).
 */
export function flatBorder(p: GreyPlane, maxShare: number, nested = false, flatShare = FLAT): Rect {
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < p.px.length; i++) {
    const v = p.px[i] as number;
    sum += v;
    sum2 += v * v;
  }
  const limit = Math.max(3, flatShare * Math.sqrt(Math.max(0, sum2 / p.px.length - (sum / p.px.length) ** 2)));
  const flat = (i0: number, step: number, count: number): boolean => {
    let s = 0;
    let s2 = 0;
    for (let i = 0, j = i0; i < count; i++, j += step) {
      const v = p.px[j] as number;
      s += v;
      s2 += v * v;
    }
    return Math.sqrt(Math.max(0, s2 / count - (s / count) ** 2)) <= limit;
  };
  const mx = Math.floor(maxShare * p.w);
  const my = Math.floor(maxShare * p.h);
  let [x0, y0, x1, y1] = [0, 0, p.w, p.h];
  for (let before = -1; before !== x0 + y0 - x1 - y1; ) {
    before = x0 + y0 - x1 - y1;
    while (y0 < my && flat(y0 * p.w + x0, 1, x1 - x0)) y0++;
    while (p.h - y1 < my && flat((y1 - 1) * p.w + x0, 1, x1 - x0)) y1--;
    while (x0 < mx && flat(y0 * p.w + x0, p.w, y1 - y0)) x0++;
    while (p.w - x1 < mx && flat(y0 * p.w + x1 - 1, p.w, y1 - y0)) x1--;
    if (!nested) break;
  }
  return [x0, y0, x1, y1];
}

/** Largest margin trimmed from each end, as a share of the side (a garment on black fills 30-40% of the width). */
const MAX_TRIM = 0.4;
/** pHash's DCT size. */
const SIDE = 32;

/** pHashes of the thumbnail's content inside its flat margins, stretched to 32 x 32, as it is and mirrored. */
export function contentHashes(t: GreyThumb): { plain: string; mirrored: string } {
  const plane = { w: t.width, h: t.height, px: t.pixels };
  const [x0, y0, x1, y1] = flatBorder(plane, MAX_TRIM, true, CONTENT_FLAT);
  const sx = (x1 - x0) / SIDE;
  const sy = (y1 - y0) / SIDE;
  const plain = new Float64Array(SIDE * SIDE);
  const mirrored = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const v = bilinear(plane, x0 + (x + 0.5) * sx - 0.5, y0 + (y + 0.5) * sy - 0.5);
      plain[y * SIDE + x] = v;
      mirrored[y * SIDE + SIDE - 1 - x] = v;
    }
  }
  return { plain: dctHash(plain), mirrored: dctHash(mirrored) };
}
