/**
 * Image preprocessing: size, range, greyscale and alpha handling, EXIF orientation honoured; small
 * images: the plain-PNG decoder against sharp, the upscale against TensorFlow's resizeBilinear.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadImage, loadModelInput } from '../../../src/main/engine/preprocess';
import { decodeSmallPng } from '../../../src/main/engine/small-png';
import { PHOTOS } from '../../fixtures/assets';

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

/** Real pixels of every kind the fast PNG decoder accepts: a photo reduced to w x h, as grey, grey + alpha, RGB or RGBA. */
async function smallPng(w: number, h: number, kind: 'grey' | 'grey-alpha' | 'rgb' | 'rgba', options: sharp.PngOptions = {}): Promise<Buffer> {
  let img = sharp(path.join(PHOTOS, 'fruits.jpg')).resize(w, h, { fit: 'fill' });
  if (kind === 'grey' || kind === 'grey-alpha') img = img.greyscale();
  if (kind === 'grey-alpha' || kind === 'rgba') img = img.ensureAlpha(0.6);
  return img.png(options).toBuffer();
}

describe('small images', () => {
  it('decodes plain 8-bit PNGs byte for byte as sharp does, every colour type and filter', async () => {
    const kinds = ['grey', 'grey-alpha', 'rgb', 'rgba'] as const;
    for (const kind of kinds) {
      for (const options of [{ adaptiveFiltering: true, compressionLevel: 9 }, { adaptiveFiltering: false, compressionLevel: 1 }, { compressionLevel: 0 }]) {
        const file = await smallPng(29, 23, kind, options);
        const mine = decodeSmallPng(file);
        const ref = await sharp(file).raw().toBuffer({ resolveWithObject: true });
        expect(mine, `${kind} ${JSON.stringify(options)}`).not.toBeNull();
        expect({ w: mine!.width, h: mine!.height, ch: mine!.channels }).toEqual({ w: ref.info.width, h: ref.info.height, ch: ref.info.channels });
        expect(mine!.data.equals(ref.data), `${kind} ${JSON.stringify(options)}`).toBe(true);
      }
    }
  });

  it('leaves everything else to sharp: palette, 16 bits, interlaced, a profile, EXIF, a bad CRC, truncated, not a PNG', async () => {
    const rgb = await smallPng(16, 16, 'rgb');
    expect(decodeSmallPng(rgb)).not.toBeNull();
    expect(decodeSmallPng(await smallPng(16, 16, 'rgb', { palette: true }))).toBeNull();
    expect(decodeSmallPng(await sharp(rgb).png({ progressive: true }).toBuffer())).toBeNull();
    expect(decodeSmallPng(await sharp(rgb).toColourspace('rgb16').png().toBuffer())).toBeNull();
    expect(decodeSmallPng(await sharp(rgb).withIccProfile('p3').png().toBuffer())).toBeNull();
    expect(decodeSmallPng(await sharp(rgb).withMetadata({ orientation: 6 }).png().toBuffer())).toBeNull();
    const badCrc = Buffer.from(rgb);
    badCrc[40] = badCrc[40]! ^ 0xff; // inside the first chunk after IHDR
    expect(decodeSmallPng(badCrc)).toBeNull();
    expect(decodeSmallPng(rgb.subarray(0, rgb.length - 20))).toBeNull();
    expect(decodeSmallPng(Buffer.from('<script>alert(1)</script>'.repeat(4)))).toBeNull();
    expect(decodeSmallPng(Buffer.alloc(0))).toBeNull();
    // Larger than the network input on its shorter side: left to libvips' reduction, not inflated here.
    expect(decodeSmallPng(rgb, 15)).toBeNull();
    expect(decodeSmallPng(rgb, 16)).not.toBeNull();
    // Through the whole pipeline a broken file is still refused with sharp's message, not a crash.
    const truncated = path.join(tmp, 'truncated.png');
    await fs.writeFile(truncated, rgb.subarray(0, rgb.length - 20));
    await expect(loadImage(truncated, 224)).rejects.toThrow();
  });

  it('upscales as TensorFlow resizeBilinear with half-pixel centres, grey or colour, square or the centre of a rectangle', async () => {
    for (const [w, h, kind] of [[28, 28, 'grey'], [32, 32, 'rgb'], [40, 24, 'rgba'], [24, 41, 'grey-alpha'], [224, 224, 'rgb']] as const) {
      const file = await smallPng(w, h, kind);
      const mine = await loadImage(file, 224, [0, 255]);
      const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      const side = Math.min(w, h);
      const ref = tf.tidy(() => {
        let img = tf.tensor3d(Float32Array.from(data), [info.height, info.width, info.channels]);
        img = img.slice([Math.floor((h - side) / 2), Math.floor((w - side) / 2), 0], [side, side, info.channels <= 2 ? 1 : 3]);
        if (info.channels <= 2) img = tf.tile(img, [1, 1, 3]);
        return tf.image.resizeBilinear(img, [224, 224], false, true).dataSync() as Float32Array;
      });
      let worst = 0;
      for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i]! - ref[i]!));
      expect(worst, `${w}x${h} ${kind}`).toBeLessThan(1e-3);
    }
  });

  it('maps the upscaled pixels with the model family\'s preprocessing (BGR minus the ImageNet means for caffe)', async () => {
    const file = await smallPng(20, 20, 'rgb');
    const plain = await loadImage(file, 64, [0, 255]);
    const caffe = await loadModelInput(file, 64, 'caffe');
    const mean = [103.939, 116.779, 123.68];
    for (const i of [0, 1000, 64 * 64 - 1]) {
      for (let c = 0; c < 3; c++) expect(caffe[i * 3 + c]).toBeCloseTo(plain[i * 3 + (2 - c)]! - mean[c]!, 3);
    }
  });
});
