/** Image preprocessing: size, range, greyscale and alpha handling, EXIF orientation honoured. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../../src/main/training/engine/preprocess';
import { PHOTOS } from '../../fixtures/shared';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-preprocess-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return s / a.length;
}

describe('preprocessing', () => {
  it('gives 224x224x3 values in [-1, 1]', async () => {
    const x = await loadImage(path.join(PHOTOS, 'coffee.png'), 224);
    expect(x.length).toBe(224 * 224 * 3);
    const lo = x.reduce((a, b) => Math.min(a, b), Infinity);
    const hi = x.reduce((a, b) => Math.max(a, b), -Infinity);
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(1.5);
  });

  it('greyscale and RGBA inputs come out as RGB', async () => {
    const grey = path.join(tmp, 'grey.png');
    await sharp(path.join(PHOTOS, 'coffee.png')).greyscale().png().toFile(grey);
    const g = await loadImage(grey, 32);
    expect(g.length).toBe(32 * 32 * 3);
    expect(g[0]).toBeCloseTo(g[1] ?? NaN, 5);
    const rgba = path.join(tmp, 'rgba.png');
    await sharp(path.join(PHOTOS, 'coffee.png')).ensureAlpha(0.5).png().toFile(rgba);
    expect((await loadImage(rgba, 32)).length).toBe(32 * 32 * 3);
  });

  it('honours the EXIF orientation', async () => {
    const upright = path.join(tmp, 'upright.jpg');
    const rotated = path.join(tmp, 'rotated.jpg');
    await sharp(path.join(PHOTOS, 'motorcycle_left.png')).jpeg({ quality: 100 }).toFile(upright);
    // Pixels stored turned 90 degrees counter-clockwise, with orientation 6 ("rotate 90 CW to display").
    await sharp(path.join(PHOTOS, 'motorcycle_left.png')).rotate(270).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(rotated);
    const a = await loadImage(upright, 64);
    const b = await loadImage(rotated, 64);
    expect(meanAbsDiff(a, b)).toBeLessThan(0.03);
    const raw = path.join(tmp, 'raw.jpg');
    await sharp(path.join(PHOTOS, 'motorcycle_left.png')).rotate(270).jpeg({ quality: 100 }).toFile(raw);
    expect(meanAbsDiff(a, await loadImage(raw, 64))).toBeGreaterThan(0.1);
  });
});
