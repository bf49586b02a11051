/**
 * Fashion-MNIST (Debian's dataset-fashion-mnist) as PNG files for benchmarks: the first n training
 * and test images written once into a folder (reused across runs), with content hashes and labels.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Studio } from '../src/main/host/studio';
import type { PredictionSource } from '../src/shared/domain';

export const FASHION_ROOT = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface FashionImage {
  path: string;
  hash: string;
  label: number;
}

const readIdx = (file: string): Buffer => zlib.gunzipSync(fs.readFileSync(path.join(FASHION_ROOT, file)));

/** `inverted`: every image's grey levels reversed (dark garments on white, as product photos are), in a folder of their own. */
export async function fashionPngs(dir: string, trainCount: number, testCount: number, inverted = false): Promise<{ train: FashionImage[]; test: FashionImage[] }> {
  const sharp = (await import('sharp')).default;
  fs.mkdirSync(dir, { recursive: true });
  const write = async (images: Buffer, labels: Buffer, count: number, prefix: string): Promise<FashionImage[]> => {
    const out: FashionImage[] = [];
    for (let i = 0; i < count; i++) {
      const file = path.join(dir, `${prefix}-${i}.png`);
      if (!fs.existsSync(file)) {
        const stored = images.subarray(16 + i * 784, 16 + (i + 1) * 784);
        const px = inverted ? stored.map((v) => 255 - v) : stored;
        fs.writeFileSync(file, await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
      }
      out.push({ path: file, hash: createHash('sha256').update(fs.readFileSync(file)).digest('hex'), label: labels[8 + i] ?? 0 });
    }
    return out;
  };
  return {
    train: await write(readIdx('train-images-idx3-ubyte.gz'), readIdx('train-labels-idx1-ubyte.gz'), trainCount, 'train'),
    test: await write(readIdx('t10k-images-idx3-ubyte.gz'), readIdx('t10k-labels-idx1-ubyte.gz'), testCount, 'test'),
  };
}

/**
 * Fashion-MNIST as a user gives it to the studio, in `work`: train/ with a folder per class (names
 * a folder can hold) and test/ with the test images loose; `truth` maps a test file's name to its
 * class folder's name.
 */
export async function fashionFolders(work: string, trainCount: number, testCount: number): Promise<{ truth: Map<string, string> }> {
  const pngs = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), trainCount, testCount);
  const folderOf = (label: number): string => FASHION_CLASSES[label]!.replace(/[^A-Za-z0-9-]+/g, '-');
  for (const img of pngs.train) {
    const dst = path.join(work, 'train', folderOf(img.label), path.basename(img.path));
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(img.path, dst);
  }
  fs.mkdirSync(path.join(work, 'test'));
  for (const img of pngs.test) fs.copyFileSync(img.path, path.join(work, 'test', path.basename(img.path)));
  return { truth: new Map(pngs.test.map((img) => [path.basename(img.path), folderOf(img.label)])) };
}

/** Ends a benchmark that needs the dataset, saying how to install it, when the machine lacks it. */
export function exitWithoutFashion(): void {
  if (fs.existsSync(FASHION_ROOT)) return;
  process.stdout.write(`Skipped: ${FASHION_ROOT} is missing (apt-get install -y dataset-fashion-mnist).\n`);
  process.exit(0);
}

/**
 * Test accuracy of a run's or an ensemble's stored predictions of fashionFolders' test images (its
 * `truth`), read through listPredictions; every test image must have one.
 */
export async function storedTestAccuracy(studio: Studio, source: PredictionSource, truth: ReadonlyMap<string, string>): Promise<number> {
  let right = 0;
  let seen = 0;
  for (let offset = 0; ; offset += 500) {
    const page = await studio.call('listPredictions', { ...source, split: 'test', offset, limit: 500 });
    for (const row of page.rows) if (truth.get(row.fileName) === row.predictedName) right++;
    seen += page.rows.length;
    if (page.rows.length < 500) break;
  }
  if (seen !== truth.size) throw new Error(`${seen} of ${truth.size} test images have a prediction`);
  return right / truth.size;
}
