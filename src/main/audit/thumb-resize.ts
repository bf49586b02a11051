/** Resizing of the grey thumbnails the near-duplicate checks compare (near-duplicates.ts, thumb-alignment.ts). */
import type { GreyThumb } from '../media/perceptual-hash';

/** Box-filtered resize of a grey image to w x h (w, h no larger than the source). */
export function shrink(t: GreyThumb, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  if (t.width === w && t.height === h) {
    for (let i = 0; i < w * h; i++) out[i] = t.pixels[i] as number;
    return out;
  }
  const sx = t.width / w;
  const sy = t.height / h;
  for (let y = 0; y < h; y++) {
    const y0 = y * sy;
    const y1 = y0 + sy;
    for (let x = 0; x < w; x++) {
      const x0 = x * sx;
      const x1 = x0 + sx;
      let sum = 0;
      let area = 0;
      for (let yy = Math.floor(y0); yy < Math.min(t.height, Math.ceil(y1)); yy++) {
        const wy = Math.min(y1, yy + 1) - Math.max(y0, yy);
        for (let xx = Math.floor(x0); xx < Math.min(t.width, Math.ceil(x1)); xx++) {
          const wgt = wy * (Math.min(x1, xx + 1) - Math.max(x0, xx));
          sum += wgt * (t.pixels[yy * t.width + xx] as number);
          area += wgt;
        }
      }
      out[y * w + x] = area > 0 ? sum / area : 0;
    }
  }
  return out;
}

