/**
 * A class-activation map (Grad-CAM) as the engine gives it: a small grid of cells >= 0 over the
 * centre square of the image (the network's input is the image's centre square crop, see
 * engine/preprocess.ts). The host draws it into overlay PNGs and finds its peak, the renderer draws
 * it over the image: both with these functions, so both place it the same way.
 */

export interface Heatmap {
  /** Cells, row-major. */
  values: readonly number[] | Float32Array;
  width: number;
  height: number;
}

/** The centre square of a width x height image, in pixels: what the network saw. */
export function centreSquare(width: number, height: number): { left: number; top: number; side: number } {
  const side = Math.min(width, height);
  return { left: (width - side) / 2, top: (height - side) / 2, side };
}

/**
 * The map's maximum as fractions 0..1 of the image's width and height (top-left origin): the
 * centre of the hottest cell (where the bilinear upsampled map peaks), placed in the centre square.
 */
export function heatmapPeak(map: Heatmap, imageWidth: number, imageHeight: number): { x: number; y: number } {
  let best = 0;
  for (let i = 1; i < map.values.length; i++) if ((map.values[i] ?? 0) > (map.values[best] ?? 0)) best = i;
  const col = best % map.width;
  const row = Math.floor(best / map.width);
  const sq = centreSquare(imageWidth, imageHeight);
  return {
    x: (sq.left + ((col + 0.5) / map.width) * sq.side) / imageWidth,
    y: (sq.top + ((row + 0.5) / map.height) * sq.side) / imageHeight,
  };
}

/**
 * The map resized to outWidth x outHeight by bilinear interpolation with cell centres at
 * (i + 0.5) / n (edges clamped), normalised to 0..1 by its maximum (an all-zero map stays zero).
 */
export function upsampleHeatmap(map: Heatmap, outWidth: number, outHeight: number): Float32Array {
  const out = new Float32Array(outWidth * outHeight);
  let max = 0;
  for (const v of map.values) max = Math.max(max, v);
  if (max <= 0) return out;
  const at = (r: number, c: number) => (map.values[r * map.width + c] ?? 0) / max;
  const axis = (i: number, n: number, cells: number): [number, number, number] => {
    const f = Math.min(cells - 1, Math.max(0, ((i + 0.5) / n) * cells - 0.5));
    const lo = Math.floor(f);
    return [lo, Math.min(cells - 1, lo + 1), f - lo];
  };
  for (let y = 0; y < outHeight; y++) {
    const [r0, r1, fy] = axis(y, outHeight, map.height);
    for (let x = 0; x < outWidth; x++) {
      const [c0, c1, fx] = axis(x, outWidth, map.width);
      const top = at(r0, c0) * (1 - fx) + at(r0, c1) * fx;
      const bottom = at(r1, c0) * (1 - fx) + at(r1, c1) * fx;
      out[y * outWidth + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** A value 0..1 as a colour of the usual blue-cyan-yellow-red heat scale, [r, g, b] 0..255. */
export function heatColour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const channel = (centre: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - centre))));
  return [channel(3), channel(2), channel(1)];
}
