/** The engine's content crop (engine/content-crop.ts): what the content features see of an image. */
import { describe, expect, it } from 'vitest';
import { contentCrop, mirrored } from '../../../src/main/engine/content-crop';
import type { DecodedImage } from '../../../src/main/engine/preprocess';

/** A w x h image of `channels` channels: a textured block at [x0, x1) x [y0, y1) on a flat grey margin. */
function framed(w: number, h: number, box: [number, number, number, number], channels: number): DecodedImage {
  const data = Buffer.alloc(w * h * channels, 40);
  const [x0, y0, x1, y1] = box;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      for (let c = 0; c < channels; c++) data[(y * w + x) * channels + c] = c === 3 ? 255 : (x * 37 + y * 91 + c * 13) % 200 + 50;
    }
  }
  return { data, width: w, height: h, channels, fits: false };
}

describe('content crop', () => {
  it('cuts a flat pad off, as it is and mirrored, in grey and in colour with alpha', () => {
    for (const channels of [1, 4]) {
      const img = framed(30, 24, [6, 3, 26, 21], channels);
      const crop = contentCrop(img);
      expect([crop.width, crop.height, crop.channels, crop.fits]).toEqual([20, 18, channels, false]);
      const at = (im: DecodedImage, x: number, y: number) => [...im.data.subarray((y * im.width + x) * channels, (y * im.width + x + 1) * channels)];
      expect(at(crop, 0, 0)).toEqual(at(img, 6, 3));
      expect(at(crop, 19, 17)).toEqual(at(img, 25, 20));
      const flipped = mirrored(crop);
      expect(at(flipped, 0, 5)).toEqual(at(img, 25, 8));
      expect(at(flipped, 19, 5)).toEqual(at(img, 6, 8));
      expect([flipped.width, flipped.height, flipped.channels]).toEqual([20, 18, channels]);
    }
  });

  it('keeps an image with no flat margin whole, and takes at most 40% off each side of a flat one', () => {
    const full = framed(16, 16, [0, 0, 16, 16], 3);
    expect([contentCrop(full).width, contentCrop(full).height]).toEqual([16, 16]);
    const flat: DecodedImage = { data: Buffer.alloc(20 * 10, 7), width: 20, height: 10, channels: 1, fits: false };
    const c = contentCrop(flat);
    expect(c.width).toBeGreaterThanOrEqual(4);
    expect(c.height).toBeGreaterThanOrEqual(2);
    expect([...c.data].every((v) => v === 7)).toBe(true);
  });
});
