/**
 * Draws the map's points straight into an ImageData's pixels (one Uint32 per pixel): a small
 * square per point, no path, no per-point canvas call. 100,000 points cost a few milliseconds of
 * plain arithmetic, so every pan and zoom frame is drawn afresh from the typed arrays.
 */
import type { View } from './view';

export interface Pixels {
  /** RGBA bytes viewed as Uint32 (ImageData.data.buffer). */
  data: Uint32Array;
  /** Device pixels. */
  width: number;
  height: number;
}

/** A colour as ImageData's Uint32 on a little-endian machine (every machine the studio runs on). */
export function packRgba(r: number, g: number, b: number, a = 255): number {
  return ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

/** '#rrggbb' packed; anything else is grey. */
export function packHex(hex: string, alpha = 255): number {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? packRgba(parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16), alpha) : packRgba(128, 128, 128, alpha);
}

/**
 * Squares of `size` device pixels centred on the points, coloured per point (`color[i]`) or all
 * alike (a number). `only` draws just those indices (the selection, on top), else every point in
 * index order. `dpr` is device pixels per CSS pixel (the view is in CSS pixels).
 */
export function drawPoints(
  px: Pixels,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  color: Uint32Array | number,
  view: View,
  dpr: number,
  size: number,
  only?: ArrayLike<number>,
): void {
  const { data, width, height } = px;
  const s = view.scale * dpr;
  const half = size / 2;
  const ox = view.tx * dpr - half;
  const oy = view.ty * dpr - half;
  const one = typeof color === 'number' ? color : 0;
  const per = typeof color === 'number' ? null : color;
  const count = only ? only.length : x.length;
  for (let k = 0; k < count; k++) {
    const i = only ? only[k]! : k;
    const fx = x[i]! * s + ox;
    const fy = y[i]! * s + oy;
    if (!(fx > -size && fy > -size && fx < width && fy < height)) continue; // also skips NaN
    let x0 = Math.round(fx);
    let y0 = Math.round(fy);
    let x1 = x0 + size;
    let y1 = y0 + size;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > width) x1 = width;
    if (y1 > height) y1 = height;
    const c = per ? per[i]! : one;
    for (let row = y0; row < y1; row++) {
      const base = row * width;
      for (let col = x0; col < x1; col++) data[base + col] = c;
    }
  }
}
