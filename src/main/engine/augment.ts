/**
 * Data augmentation for scenarios 2-4, in plain JavaScript on the decoded HWC float image (the
 * same on every backend, and deterministic: the parameters of each image come from a seeded
 * generator). Geometry (flip, crop + resize, rotation) is one inverse mapping with bilinear
 * sampling; photometric changes (brightness, contrast) act on the values, in the input's scale.
 */
import type { AugmentConfig } from '../../shared/domain';
import { seededRandom } from '../../shared/random';
import type { TtaView } from '../../shared/tta';

export interface AugmentParams {
  flip: boolean;
  /** Side of the crop as a share of the image (1 = no crop) and its centre offset in [-1, 1]. */
  cropScale: number;
  cropX: number;
  cropY: number;
  /** Radians. */
  angle: number;
  /** Added to every value, as a share of the value range. */
  brightness: number;
  /** Multiplies the distance of every value from the image mean. */
  contrast: number;
  /** Test-time views only: the content moves by this share of the side (positive: left / up). */
  shiftX?: number;
  shiftY?: number;
}

export const IDENTITY: AugmentParams = { flip: false, cropScale: 1, cropX: 0, cropY: 0, angle: 0, brightness: 0, contrast: 1 };

/** Test-time augmentation's views (src/shared/tta.ts) as the training transforms' parameters. */
export const TTA_PARAMS: Record<TtaView, AugmentParams> = {
  identity: IDENTITY,
  flip: { ...IDENTITY, flip: true },
  'shift-left': { ...IDENTITY, shiftX: 0.04 },
  'shift-right': { ...IDENTITY, shiftX: -0.04 },
  zoom: { ...IDENTITY, cropScale: 1 / 1.05 },
};

/** Ranges: crop 80-100% of the side, rotation up to 10 degrees, brightness +-0.15, contrast 0.8-1.2. */
export function sampleAugment(config: AugmentConfig, random: () => number): AugmentParams {
  const u = (lo: number, hi: number) => lo + (hi - lo) * random();
  return {
    flip: config.flip ? random() < 0.5 : false,
    cropScale: config.crop ? u(0.8, 1) : 1,
    cropX: config.crop ? u(-1, 1) : 0,
    cropY: config.crop ? u(-1, 1) : 0,
    angle: config.rotate ? (u(-10, 10) * Math.PI) / 180 : 0,
    brightness: config.brightness ? u(-0.15, 0.15) : 0,
    contrast: config.contrast ? u(0.8, 1.2) : 1,
  };
}

/** A generator per (seed, epoch, image position) so a batch's augmentation does not depend on batch size. */
export function augmentRandom(seed: number, epoch: number, index: number): () => number {
  return seededRandom((seed * 2654435761 + epoch * 40503 + index * 97) >>> 0);
}

/** Augmented copy of an HWC image of size x size x 3 whose values span `range` = [lo, hi]. */
export function augmentImage(src: Float32Array, size: number, p: AugmentParams, range: readonly [number, number]): Float32Array {
  const out = new Float32Array(src.length);
  const geometric = p.flip || p.cropScale !== 1 || p.angle !== 0 || Boolean(p.shiftX) || Boolean(p.shiftY);
  if (geometric) {
    // Output pixel (x, y) -> source point: centre, rotate, scale to the crop, shift to the crop centre.
    const c = (size - 1) / 2;
    const cos = Math.cos(p.angle);
    const sin = Math.sin(p.angle);
    const s = p.cropScale;
    const slack = ((1 - s) * size) / 2;
    const cx = c + p.cropX * slack + (p.shiftX ?? 0) * size;
    const cy = c + p.cropY * slack + (p.shiftY ?? 0) * size;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = (p.flip ? size - 1 - x : x) - c;
        const dy = y - c;
        const sx = cx + s * (cos * dx - sin * dy);
        const sy = cy + s * (sin * dx + cos * dy);
        sampleBilinear(src, size, sx, sy, out, (y * size + x) * 3);
      }
    }
  } else {
    out.set(src);
  }
  if (p.brightness !== 0 || p.contrast !== 1) {
    const [lo, hi] = range;
    let mean = 0;
    for (let i = 0; i < out.length; i++) mean += out[i] as number;
    mean /= out.length;
    const shift = p.brightness * (hi - lo);
    for (let i = 0; i < out.length; i++) {
      const v = ((out[i] as number) - mean) * p.contrast + mean + shift;
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
  }
  return out;
}

/** Bilinear sample at (sx, sy) with edge clamping, written to out[o..o+2]. */
function sampleBilinear(src: Float32Array, size: number, sx: number, sy: number, out: Float32Array, o: number): void {
  const max = size - 1;
  const x = sx < 0 ? 0 : sx > max ? max : sx;
  const y = sy < 0 ? 0 : sy > max ? max : sy;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = x0 < max ? x0 + 1 : x0;
  const y1 = y0 < max ? y0 + 1 : y0;
  const fx = x - x0;
  const fy = y - y0;
  const a = (y0 * size + x0) * 3;
  const b = (y0 * size + x1) * 3;
  const d = (y1 * size + x0) * 3;
  const e = (y1 * size + x1) * 3;
  for (let ch = 0; ch < 3; ch++) {
    const top = (src[a + ch] as number) * (1 - fx) + (src[b + ch] as number) * fx;
    const bottom = (src[d + ch] as number) * (1 - fx) + (src[e + ch] as number) * fx;
    out[o + ch] = top * (1 - fy) + bottom * fy;
  }
}
