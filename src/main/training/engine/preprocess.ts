/**
 * Image -> network input: decode with sharp, honour the EXIF orientation, centre square crop,
 * bilinear resize to size x size, sRGB, alpha removed, scaled to [-1, 1] (MobileNet's pixel/127.5 - 1).
 * PREPROCESS_VERSION is part of every feature-cache key: change it whenever the output changes.
 */
import sharp from 'sharp';

export const PREPROCESS_VERSION = 'p1-exif-centercrop-linear-srgb-m1p1';

export type Scaling = readonly [number, number];

/** Decode one image into an HWC float32 array of size*size*3 scaled to [lo, hi]. */
export async function loadImage(file: string | Buffer, size: number, scaling: Scaling = [-1, 1]): Promise<Float32Array> {
  const { data, info } = await sharp(file, { failOn: 'error' })
    .rotate()
    .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = new Float32Array(size * size * 3);
  const [lo, hi] = scaling;
  const k = (hi - lo) / 255;
  const ch = info.channels;
  const n = size * size;
  if (ch === 3) {
    for (let i = 0; i < n * 3; i++) out[i] = (data[i] ?? 0) * k + lo;
  } else {
    // Greyscale (1 channel) or anything unexpected: replicate / take the first three channels.
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) out[i * 3 + c] = (data[i * ch + Math.min(c, ch - 1)] ?? 0) * k + lo;
    }
  }
  return out;
}
