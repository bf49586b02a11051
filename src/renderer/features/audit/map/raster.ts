/**
 * Draws the map's points straight into an ImageData's pixels (one Uint32 per pixel): a small
 * dot per point, no path, no per-point canvas call. 100,000 points cost a few milliseconds of
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

/** Per row of a size x size cell, the first and past-the-last column of a disc (a square below 5 pixels). */
function discSpans(size: number): Int32Array {
  const spans = new Int32Array(2 * size);
  const r = size / 2;
  for (let row = 0; row < size; row++) {
    const dy = row + 0.5 - r;
    const half = size < 5 ? r : Math.sqrt(Math.max(0, r * r - dy * dy));
    spans[2 * row] = Math.round(r - half);
    spans[2 * row + 1] = Math.round(r + half);
  }
  return spans;
}

/**
 * Dots of `size` device pixels centred on the points (discs from 5 pixels, squares below),
 * coloured per point (`color[i]`) or all alike (a number). `only` draws just those indices (the
 * selection, on top), else every point in index order. `dpr` is device pixels per CSS pixel (the
 * view is in CSS pixels).
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
  const spans = discSpans(size);
  const count = only ? only.length : x.length;
  for (let k = 0; k < count; k++) {
    const i = only ? only[k]! : k;
    const fx = x[i]! * s + ox;
    const fy = y[i]! * s + oy;
    if (!(fx > -size && fy > -size && fx < width && fy < height)) continue; // also skips NaN
    const x0 = Math.round(fx);
    const y0 = Math.round(fy);
    const c = per ? per[i]! : one;
    const r0 = y0 < 0 ? -y0 : 0;
    const r1 = y0 + size > height ? height - y0 : size;
    for (let row = r0; row < r1; row++) {
      const base = (y0 + row) * width;
      let a = x0 + spans[2 * row]!;
      let b = x0 + spans[2 * row + 1]!;
      if (a < 0) a = 0;
      if (b > width) b = width;
      for (let col = a; col < b; col++) data[base + col] = c;
    }
  }
}

/** Device pixels of a dot: larger for small maps, growing (slower than the zoom) as one zooms in. */
export function dotSize(count: number, dpr: number, zoom: number): number {
  const base = count > 50_000 ? 2 : count > 10_000 ? 3 : count > 2_000 ? 4 : 6;
  return Math.max(2, Math.min(16, Math.round(base * dpr * Math.sqrt(Math.max(1, zoom)))));
}
