/**
 * Fashion-MNIST (Debian's dataset-fashion-mnist) as PNG files for benchmarks: the first n training
 * and test images written once into a folder (reused across runs), with content hashes and labels.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const FASHION_ROOT = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface FashionImage {
  path: string;
  hash: string;
  label: number;
}

const readIdx = (file: string): Buffer => zlib.gunzipSync(fs.readFileSync(path.join(FASHION_ROOT, file)));

export async function fashionPngs(dir: string, trainCount: number, testCount: number): Promise<{ train: FashionImage[]; test: FashionImage[] }> {
  const sharp = (await import('sharp')).default;
  fs.mkdirSync(dir, { recursive: true });
  const write = async (images: Buffer, labels: Buffer, count: number, prefix: string): Promise<FashionImage[]> => {
    const out: FashionImage[] = [];
    for (let i = 0; i < count; i++) {
      const file = path.join(dir, `${prefix}-${i}.png`);
      if (!fs.existsSync(file)) {
        const px = images.subarray(16 + i * 784, 16 + (i + 1) * 784);
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
