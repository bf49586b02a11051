/**
 * The part of a grey plane inside its flat border (a pad, a letterbox, an empty background): the
 * near-duplicate finder's content box and alignment (src/main/audit) and the engine's content
 * crops of images (engine/content-crop.ts) peel margins the same way.
 */

/** A grey plane: w x h values, row-major. */
export interface GreyPlane {
  w: number;
  h: number;
  px: ArrayLike<number>;
}

/** A row or column is flat when its grey levels vary this little against the whole plane's (a pad, JPEG noise and blur included). */
const FLAT = 0.12;

/**
 * The part of p inside its flat border: top rows, bottom rows, left and right columns peeled
 * while each is flat (varying at most `flatShare` of the plane's deviation), at most `maxShare` of
 * a side from each end. `nested`: peeled over again
 * until nothing moves, so a border inside a border goes too (a pad around a picture on black:
 * once the pad's rows are off, its columns still cut through the black rows).
 */
export function flatBorder(p: GreyPlane, maxShare: number, nested = false, flatShare = FLAT): [number, number, number, number] {
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


/** The same for the content box: a pad recompressed as JPEG rings (a 24-pixel copy at quality 55: 0.14). */
const CONTENT_FLAT = 0.2;
/** Largest margin trimmed from each end, as a share of the side (a garment on black fills 30-40% of the width). */
const MAX_TRIM = 0.4;

/** The content's box: its flat margins peeled, nested, up to MAX_TRIM of each side. */
export const contentBorder = (p: GreyPlane): [number, number, number, number] => flatBorder(p, MAX_TRIM, true, CONTENT_FLAT);
