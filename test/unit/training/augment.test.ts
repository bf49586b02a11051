import { describe, expect, it } from 'vitest';
import { augmentImage, augmentRandom, IDENTITY, sampleAugment, TTA_PARAMS } from '../../../src/main/engine/augment';
import { TTA_VIEWS } from '../../../src/shared/tta';

const SIZE = 16;
const RANGE = [-1, 1] as const;
/** A horizontal gradient with a bright top-left square: every geometric change shows. */
function image(): Float32Array {
  const img = new Float32Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      for (let c = 0; c < 3; c++) img[(y * SIZE + x) * 3 + c] = x < 4 && y < 4 ? 1 : -1 + (1.5 * x) / SIZE;
  return img;
}
const none = { flip: false, crop: false, rotate: false, brightness: false, contrast: false };
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('augmentation', () => {
  it('is deterministic for a seed, epoch and image position, and differs across them', () => {
    const all = { flip: true, crop: true, rotate: true, brightness: true, contrast: true };
    const a = augmentImage(image(), SIZE, sampleAugment(all, augmentRandom(42, 1, 7)), RANGE);
    const b = augmentImage(image(), SIZE, sampleAugment(all, augmentRandom(42, 1, 7)), RANGE);
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = augmentImage(image(), SIZE, sampleAugment(all, augmentRandom(42, 2, 7)), RANGE);
    const d = augmentImage(image(), SIZE, sampleAugment(all, augmentRandom(43, 1, 7)), RANGE);
    expect(maxDiff(a, c)).toBeGreaterThan(0);
    expect(maxDiff(a, d)).toBeGreaterThan(0);
  });

  it('leaves the image as it is when every switch is off', () => {
    const p = sampleAugment(none, augmentRandom(1, 1, 1));
    expect(p).toEqual(IDENTITY);
    expect(Array.from(augmentImage(image(), SIZE, p, RANGE))).toEqual(Array.from(image()));
  });

  it.each(['flip', 'crop', 'rotate', 'brightness', 'contrast'] as const)('switch %s alone changes the image, within the value range', (k) => {
    // Over a few positions at least one draw changes it (a flip is a coin toss).
    const changed = [0, 1, 2, 3, 4, 5].some((i) => {
      const out = augmentImage(image(), SIZE, sampleAugment({ ...none, [k]: true }, augmentRandom(9, 1, i)), RANGE);
      expect(Math.min(...out)).toBeGreaterThanOrEqual(-1);
      expect(Math.max(...out)).toBeLessThanOrEqual(1);
      return maxDiff(out, image()) > 1e-3;
    });
    expect(changed).toBe(true);
  });

  it('flips exactly: a flip of a flip is the image', () => {
    const p = { ...IDENTITY, flip: true };
    const once = augmentImage(image(), SIZE, p, RANGE);
    expect(once[0]).toBeCloseTo(image()[(SIZE - 1) * 3] as number, 6);
    expect(maxDiff(augmentImage(once, SIZE, p, RANGE), image())).toBeLessThan(1e-6);
  });
});

describe('test-time views', () => {
  const at = (img: Float32Array, x: number, y: number): number => img[(y * SIZE + x) * 3] as number;

  it('mirror, shift by 4% of the side and zoom 1.05x about the centre, with the training transforms', () => {
    const src = image();
    expect(Array.from(augmentImage(src, SIZE, TTA_PARAMS.identity, RANGE))).toEqual(Array.from(src));
    const flip = augmentImage(src, SIZE, TTA_PARAMS.flip, RANGE);
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) expect(at(flip, x, y)).toBeCloseTo(at(src, SIZE - 1 - x, y), 6);
    // Content moves left by 0.04 * 16 = 0.64 px: each pixel reads 0.64 px to its right (a gradient of 1.5/16 per px).
    const left = augmentImage(src, SIZE, TTA_PARAMS['shift-left'], RANGE);
    expect(at(left, 8, 10)).toBeCloseTo(at(src, 8, 10) + 0.64 * (1.5 / SIZE), 5);
    const right = augmentImage(src, SIZE, TTA_PARAMS['shift-right'], RANGE);
    expect(at(right, 8, 10)).toBeCloseTo(at(src, 8, 10) - 0.64 * (1.5 / SIZE), 5);
    // Zoomed in about the centre: the centre stays, a pixel off it reads nearer the centre.
    const zoom = augmentImage(src, SIZE, TTA_PARAMS.zoom, RANGE);
    const c = (SIZE - 1) / 2;
    expect(at(zoom, 12, 10)).toBeCloseTo(-1 + (1.5 * (c + (12 - c) / 1.05)) / SIZE, 5);
    expect(Object.keys(TTA_PARAMS)).toEqual([...TTA_VIEWS]);
  });
});
