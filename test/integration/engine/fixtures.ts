/**
 * Real data for the engine tests: the OpenCV digits sheet (2000x1000, 20x20 cells, 100 per row,
 * rows 5k..5k+4 are digit k) cut into PNG files, and the shared pretrained models and photos.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { TrainItem } from '../../../src/main/training/protocol';

export const SHARED = path.resolve(process.env['SHARED_DIR'] ?? path.join(import.meta.dirname, '../../../../shared'));
export const MODEL_025 = path.join(SHARED, 'models/mobilenet_v1_0.25_224');
export const MODEL_075 = path.join(SHARED, 'models/mobilenet_v1_0.75_224');
export const GRAPH_MODEL = path.join(SHARED, 'models/mobilenet_v1_0.25_224_graph_tfhub');
export const PHOTOS = path.join(SHARED, 'photos');
export const DIGITS_PNG = path.join(SHARED, 'datasets/opencv-digits.png');

export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * Write `perClass` digits of each class as PNG files into dir; every 5th image of a class goes to
 * val. Cells are taken from the class's 500 in order, starting at `offset`.
 */
export async function writeDigits(dir: string, perClass: number, offset = 0): Promise<TrainItem[]> {
  await fs.mkdir(dir, { recursive: true });
  const { data, info } = await sharp(DIGITS_PNG).greyscale().raw().toBuffer({ resolveWithObject: true });
  const items: TrainItem[] = [];
  let imageId = 1;
  for (let label = 0; label < 10; label++) {
    for (let k = 0; k < perClass; k++) {
      const cell = offset + k;
      const row = label * 5 + Math.floor(cell / 100);
      const col = cell % 100;
      const px = Buffer.alloc(400);
      for (let y = 0; y < 20; y++) {
        for (let x = 0; x < 20; x++) px[y * 20 + x] = data[(row * 20 + y) * info.width + col * 20 + x] ?? 0;
      }
      const file = path.join(dir, `d${label}_${cell}.png`);
      const png = await sharp(px, { raw: { width: 20, height: 20, channels: 1 } }).png().toBuffer();
      await fs.writeFile(file, png);
      items.push({
        imageId: imageId++,
        path: file,
        hash: createHash('sha256').update(png).digest('hex'),
        label,
        split: k % 5 === 4 ? 'val' : 'train',
      });
    }
  }
  return items;
}

/** Copy a model folder (to break it). */
export async function copyModel(src: string, dst: string): Promise<string> {
  await fs.cp(src, dst, { recursive: true });
  return dst;
}
