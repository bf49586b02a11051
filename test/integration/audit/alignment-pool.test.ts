/**
 * The alignment search on worker threads (alignment-pool.ts): the same numbers as one search after
 * another on this thread, a cancel that stops the threads, and a bad pair refused with its reason.
 * Real thumbnails of the look-alike garments and their copies changed three ways, real threads.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { searchPairs } from '../../../src/main/audit/alignment-pool';
import { DOUBTFUL_FLOOR, TRANSFORMED_SURE } from '../../../src/main/audit/near-duplicates';
import { greyThumb, type GreyThumb } from '../../../src/main/media/perceptual-hash';
import { alteredCopy, type Alteration } from '../../fixtures/altered-copies';
import { FASHION_LOOKALIKES } from '../../fixtures/assets';

const doubtful = { from: DOUBTFUL_FLOOR, below: TRANSFORMED_SURE };
const SETS: Alteration[][] = [['cropped', 'mirrored', 'recompressed'], ['upscaled', 'padded', 'brightness-contrast'], ['downscaled', 'cropped', 'padded'], ['mirrored', 'upscaled', 'recompressed']];
let thumbs: GreyThumb[];
let pairs: Int32Array;

beforeAll(async () => {
  thumbs = [];
  for (const name of ['bag-619.png', 'dress-6308.png', 'dress-9898.png', 'pullover-46.png']) {
    const file = path.join(FASHION_LOOKALIKES, name);
    thumbs.push(await greyThumb(file));
    for (const set of SETS) thumbs.push(await greyThumb(await alteredCopy(file, set)));
  }
  // Every pair of the 20 thumbnails, and again the other way round: 380 searches, six threads' chunks.
  const list: number[] = [];
  for (let a = 0; a < thumbs.length; a++) for (let b = 0; b < thumbs.length; b++) if (a !== b) list.push(a, b);
  pairs = Int32Array.from(list);
});

describe('the alignment search on threads', () => {
  it('finds on two threads exactly what one search after another finds here, in the pairs\' order', async () => {
    const progress: number[] = [];
    const threaded = await searchPairs(thumbs, pairs, doubtful, { threads: 2, onProgress: (d) => progress.push(d) });
    const here = await searchPairs(thumbs, pairs, doubtful, { threads: 1 });
    expect(threaded).not.toBeNull();
    expect(Array.from(threaded!.score)).toEqual(Array.from(here!.score));
    expect(Array.from(threaded!.mirrored)).toEqual(Array.from(here!.mirrored));
    expect(Array.from(threaded!.edges)).toEqual(Array.from(here!.edges));
    expect(progress.at(-1)).toBe(pairs.length / 2);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    // Real searches: each garment's copies that are not mirrored line up with it, as is.
    const at = (a: number, b: number): number => {
      for (let k = 0; k < pairs.length / 2; k++) if (pairs[2 * k] === a && pairs[2 * k + 1] === b) return k;
      return -1;
    };
    for (let g = 0; g < 4; g++) {
      for (let s = 1; s <= SETS.length; s++) {
        if (SETS[s - 1]!.includes('mirrored')) continue;
        const k = at(5 * g, 5 * g + s);
        expect(threaded!.score[k], `garment ${g}, ${SETS[s - 1]!.join('+')}`).toBeGreaterThan(0.95);
        expect(threaded!.mirrored[k]).toBe(0);
      }
    }
  });

  it('stops its threads when cancelled, and says which pair is not one of the images', async () => {
    const controller = new AbortController();
    let after = 0;
    let cancelled = false;
    const result = await searchPairs(thumbs, pairs, doubtful, {
      threads: 2,
      signal: controller.signal,
      onProgress: () => {
        if (cancelled) after++;
        else controller.abort();
      },
    });
    cancelled = true;
    expect(result).toBeNull();
    await new Promise((r) => setTimeout(r, 500));
    expect(after, 'a thread went on after the cancel').toBe(0);
    await expect(searchPairs(thumbs, Int32Array.from([0, 1, 2, thumbs.length]), doubtful, { threads: 2 })).rejects.toThrow(`Pair member ${thumbs.length} is not one of the 20 images.`);
    expect(await searchPairs(thumbs, pairs, doubtful, { threads: 2, signal: AbortSignal.abort() })).toBeNull();
  });
});
