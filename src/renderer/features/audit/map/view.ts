/**
 * The map's view: data coordinates to CSS pixels, screen = data * scale + offset (y grows
 * downwards on both). Pure functions, so pan and zoom are exact and testable.
 */

export interface View {
  scale: number;
  tx: number;
  ty: number;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export function boundsOf(x: ArrayLike<number>, y: ArrayLike<number>): Bounds {
  const b: Bounds = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (let i = 0; i < x.length; i++) {
    const px = x[i]!;
    const py = y[i]!;
    if (px < b.minX) b.minX = px;
    if (px > b.maxX) b.maxX = px;
    if (py < b.minY) b.minY = py;
    if (py > b.maxY) b.maxY = py;
  }
  return x.length > 0 ? b : { minX: 0, minY: 0, maxX: 1, maxY: 1 };
}

/** The whole map in a width x height box with `margin` pixels around it, centred. */
export function fitView(b: Bounds, width: number, height: number, margin = 16): View {
  const w = Math.max(b.maxX - b.minX, 1e-9);
  const h = Math.max(b.maxY - b.minY, 1e-9);
  const scale = Math.max(1e-9, Math.min((width - 2 * margin) / w, (height - 2 * margin) / h));
  return { scale, tx: width / 2 - ((b.minX + b.maxX) / 2) * scale, ty: height / 2 - ((b.minY + b.maxY) / 2) * scale };
}

export const toScreen = (v: View, x: number, y: number): [number, number] => [x * v.scale + v.tx, y * v.scale + v.ty];
export const toData = (v: View, sx: number, sy: number): [number, number] => [(sx - v.tx) / v.scale, (sy - v.ty) / v.scale];

export function pan(v: View, dx: number, dy: number): View {
  return { scale: v.scale, tx: v.tx + dx, ty: v.ty + dy };
}

/** Zooms by `factor` keeping the data point under (sx, sy) where it is; the scale stays within [min, max]. */
export function zoomAt(v: View, sx: number, sy: number, factor: number, min = 0, max = Infinity): View {
  const scale = Math.min(max, Math.max(min, v.scale * factor));
  const k = scale / v.scale;
  return { scale, tx: sx - (sx - v.tx) * k, ty: sy - (sy - v.ty) * k };
}

/** A screen-space polygon (x0, y0, x1, y1, ...) in data coordinates. */
export function polygonToData(v: View, screen: readonly number[]): Float64Array {
  const out = new Float64Array(screen.length);
  for (let k = 0; k < screen.length; k += 2) {
    out[k] = (screen[k]! - v.tx) / v.scale;
    out[k + 1] = (screen[k + 1]! - v.ty) / v.scale;
  }
  return out;
}
