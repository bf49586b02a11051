/**
 * Image -> network input: decode with sharp, honour the EXIF orientation, centre square crop,
 * bilinear resize to size x size, sRGB, alpha removed, then the model family's own normalisation
 * (models/preprocessing.ts: [-1, 1] for MobileNet, BGR minus the ImageNet means for VGG16/ResNet50,
 * 0..255 for EfficientNet). The preprocess version is part of every feature-cache key: change it
 * whenever the output changes.
 */
import sharp from 'sharp';
import type { PreprocessingMode } from '../../../shared/domain';
import { PREPROCESSING } from '../../models/preprocessing';

/** The [-1, 1] pipeline keeps the version it always had, so existing caches stay valid. */
export const PREPROCESS_VERSION = 'p1-exif-centercrop-linear-srgb-m1p1';

export function preprocessVersion(mode: PreprocessingMode): string {
  return mode === 'tf' ? PREPROCESS_VERSION : `p1-exif-centercrop-linear-srgb-${mode}`;
}

export type Scaling = readonly [number, number];

/** Decoded, cropped and resized pixels: HWC RGB 0..255, `channels` per pixel (1 for greyscale). */
async function decode(file: string | Buffer, size: number): Promise<{ data: Buffer; channels: number }> {
  const { data, info } = await sharp(file, { failOn: 'error' })
    .rotate()
    .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels };
}

/** The value of RGB channel c (0..2) of pixel i; greyscale is replicated. */
const channel = (data: Buffer, ch: number, i: number, c: number): number => data[i * ch + Math.min(c, ch - 1)] ?? 0;

/** Decode one image into an HWC float32 array of size*size*3 with pixel values mapped linearly to [lo, hi]. */
export async function loadImage(file: string | Buffer, size: number, scaling: Scaling = [-1, 1]): Promise<Float32Array> {
  const { data, channels } = await decode(file, size);
  const out = new Float32Array(size * size * 3);
  const [lo, hi] = scaling;
  const k = (hi - lo) / 255;
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = channel(data, channels, i, c) * k + lo;
  return out;
}

/** Decode one image into the network input of a model whose family preprocesses as `mode`. */
export async function loadModelInput(file: string | Buffer, size: number, mode: PreprocessingMode): Promise<Float32Array> {
  if (mode === 'tf') return loadImage(file, size, [-1, 1]); // the exact arithmetic the [-1, 1] caches were made with
  const { data, channels } = await decode(file, size);
  const p = PREPROCESSING[mode];
  const order = p.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = (channel(data, channels, i, order[c]!) - p.mean[c]!) / p.std[c]!;
  }
  return out;
}
