/**
 * Training batches read from disk (finetune-data.ts BatchSource) into a recycled buffer: a buffer
 * back from a finished step is written over completely, so a batch is the same as in a fresh buffer,
 * augmented or not, small images (upscaled) and large (reduced) alike.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchSource } from '../../../src/main/engine/finetune-data';
import type { TrainItem } from '../../../src/main/engine/protocol';
import { FASHION_LOOKALIKES, PHOTOS } from '../../fixtures/assets';

const SIZE = 64;
const files = [path.join(FASHION_LOOKALIKES, 'bag-619.png'), path.join(PHOTOS, 'apple.jpg'), path.join(FASHION_LOOKALIKES, 'dress-6308.png'), path.join(PHOTOS, 'coffee.png')];
const items: TrainItem[] = files.map((p, i) => ({ path: p, imageId: i + 1, hash: `h${i}`, label: i % 2, split: 'train' }));

function source(augment: boolean): BatchSource {
  const config = augment ? { flip: true, crop: true, rotate: true, brightness: true, contrast: true } : null;
  return new BatchSource(SIZE, null, [SIZE, SIZE, 3], null, config, 7, () => undefined, 'tf');
}

describe('training batches from disk', () => {
  for (const augment of [false, true]) {
    it(`fill a recycled buffer completely, as a fresh one${augment ? ', augmented' : ''}`, async () => {
      const at = augment ? { epoch: 2, positions: [5, 1, 9, 3] } : null;
      const fresh = await source(augment).prepare(items, false, at);
      const s = source(augment);
      s.recycle(new Float32Array(items.length * SIZE * SIZE * 3).fill(Number.NaN));
      const reused = await s.prepare(items, false, at);
      expect(reused.data.length).toBe(fresh.data.length);
      expect(reused.data.some(Number.isNaN)).toBe(false);
      expect(Buffer.from(reused.data.buffer).equals(Buffer.from(fresh.data.buffer))).toBe(true);
      expect(Array.from(reused.y)).toEqual([0, 1, 0, 1]);
    });
  }

  it('leaves a buffer of another length alone', async () => {
    const s = source(false);
    const other = new Float32Array(7);
    s.recycle(other);
    const b = await s.prepare(items.slice(0, 2), false, null);
    expect(b.data).not.toBe(other);
    expect(b.data.length).toBe(2 * SIZE * SIZE * 3);
  });
});
