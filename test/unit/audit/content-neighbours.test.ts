import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CROP_SIDE, DESCRIPTOR_LENGTH, contentDescriptors } from '../../../src/main/audit/content-box';

const contentDescriptor = (t: Parameters<typeof contentDescriptors>[0]): Float32Array => contentDescriptors(t).descriptor;
import { SHORTLIST, contentNeighbours } from '../../../src/main/audit/content-neighbours';
import { greyThumb } from '../../../src/main/media/perceptual-hash';
import { seededRandom } from '../../../src/shared/random';
import { alteredCopy, type Alteration } from '../../fixtures/altered-copies';
import { FASHION_LOOKALIKES } from '../../fixtures/assets';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

describe('content descriptors', () => {
  it('a copy changed three ways lies nearest its own original among look-alike garments; mirrored, it is the same vector', async () => {
    const files = fs.readdirSync(FASHION_LOOKALIKES).filter((f) => f.endsWith('.png')).map((f) => path.join(FASHION_LOOKALIKES, f));
    const originals = await Promise.all(files.map(async (f) => contentDescriptor(await greyThumb(f))));
    for (const d of originals) expect(dot(d, d)).toBeCloseTo(1, 5);
    const mirrored = contentDescriptor(await greyThumb(await alteredCopy(files[0] as string, 'mirrored')));
    for (let i = 0; i < DESCRIPTOR_LENGTH; i++) expect(mirrored[i]).toBeCloseTo(originals[0]?.[i] as number, 4);
    const sets: Alteration[][] = [
      ['downscaled', 'cropped', 'padded'],
      ['upscaled', 'brightness-contrast', 'padded'],
      ['recompressed', 'cropped', 'mirrored'],
    ];
    // The two dresses are look-alikes (0.958 between the originals): a copy of one may lie a shade
    // nearer the other, never farther than second; every other copy lies nearest its own.
    let nearest = 0;
    for (const kinds of sets) {
      for (const [i, file] of files.entries()) {
        const copy = contentDescriptor(await greyThumb(await alteredCopy(file, kinds)));
        const similarities = originals.map((o) => dot(copy, o));
        const rank = similarities.filter((s) => s > (similarities[i] as number)).length;
        expect(rank, `${path.basename(file)} ${kinds.join('+')}`).toBeLessThanOrEqual(path.basename(file).startsWith('dress') ? 1 : 0);
        if (rank === 0) nearest++;
      }
    }
    expect(nearest).toBeGreaterThanOrEqual(10);
    // A flat picture has no content to describe; a one-pixel line or dot is described without error.
    expect(Array.from(contentDescriptor({ width: 8, height: 8, pixels: new Uint8Array(64).fill(90) })).every((v) => v === 0)).toBe(true);
    for (const [width, height] of [
      [1, 1],
      [1, 32],
      [32, 1],
    ] as const) {
      const d = contentDescriptor({ width, height, pixels: Uint8Array.from({ length: width * height }, (_, i) => (i * 37) % 256) });
      expect(d).toHaveLength(DESCRIPTOR_LENGTH);
      expect(d.every((v) => Number.isFinite(v))).toBe(true);
    }
  });
});

describe('crop hypotheses', () => {
  it("a copy cropped into its content lies far from its original's descriptor and near one of its crops", async () => {
    // The bag fills its frame: the crop cuts into it, so the copy's content box holds less of it.
    const bag = path.join(FASHION_LOOKALIKES, 'bag-619.png');
    const original = contentDescriptors(await greyThumb(bag));
    expect(original.crops).toHaveLength(9);
    // Without crops (the finder's contentCrops off), the same descriptor alone.
    const alone = contentDescriptors(await greyThumb(bag), false);
    expect(alone.crops).toEqual([]);
    expect(alone.descriptor).toEqual(original.descriptor);
    for (const c of original.crops) expect(dot(c, c)).toBeCloseTo(1, 5);
    expect(CROP_SIDE).toBeLessThan(1);
    for (const kinds of [['cropped'], ['recompressed', 'cropped', 'padded']] as Alteration[][]) {
      const copy = contentDescriptor(await greyThumb(await alteredCopy(bag, kinds)));
      expect(dot(copy, original.descriptor), kinds.join('+')).toBeLessThan(0.8);
      expect(Math.max(...original.crops.map((c) => dot(c, copy))), kinds.join('+')).toBeGreaterThan(0.97);
    }
  });
});

describe('content neighbours', () => {
  /** Unit vectors near a few centres (groups of look-alikes), seeded. */
  function vectors(n: number, dim: number, seed: number): Float32Array[] {
    const random = seededRandom(seed);
    const centres = Array.from({ length: 5 }, () => Float32Array.from({ length: dim }, () => random() - 0.5));
    return Array.from({ length: n }, (_, i) => {
      const v = Float32Array.from(centres[i % 5] as Float32Array, (c) => c + 0.3 * (random() - 0.5));
      const norm = Math.sqrt(dot(v, v));
      return v.map((x) => x / norm);
    });
  }

  it('gives exactly the pairs of each one and its k nearest from the least similarity, as counting every pair does', async () => {
    const d = vectors(300, DESCRIPTOR_LENGTH, 7);
    for (const [k, min] of [
      [1, -1],
      [3, 0.5],
      [5, 0.9],
    ] as const) {
      const expected = new Map<string, number>();
      for (let i = 0; i < d.length; i++) {
        const ranked = d.map((v, j) => ({ j, s: dot(d[i] as Float32Array, v) })).filter((e) => e.j !== i && e.s >= min);
        for (const e of ranked.sort((x, y) => y.s - x.s).slice(0, k)) expected.set(`${Math.min(i, e.j)},${Math.max(i, e.j)}`, e.s);
      }
      const found = await contentNeighbours(d, k, min);
      expect(found?.map((p) => `${p.a},${p.b}`)).toEqual([...expected.keys()].sort((x, y) => Number(x.split(',')[0]) - Number(y.split(',')[0]) || Number(x.split(',')[1]) - Number(y.split(',')[1])));
      for (const p of found ?? []) expect(p.similarity).toBeCloseTo(expected.get(`${p.a},${p.b}`) as number, 5);
    }
  }, 30_000);

  it("with crops, ranks each image's shortlist by the best of descriptor and crops, as counting the shortlist's pairs does", async () => {
    const d = vectors(300, DESCRIPTOR_LENGTH, 11);
    const random = seededRandom(12);
    // Crops near another image of the same group (a copy of it cropped), and near their own.
    const near = (v: Float32Array, spread: number) => {
      const c = Float32Array.from(v, (x) => x + spread * (random() - 0.5));
      const norm = Math.sqrt(dot(c, c));
      return c.map((x) => x / norm);
    };
    const crops = d.map((v, i) => [near(d[(i + 5) % d.length] as Float32Array, 0.1), near(v, 0.3), near(v, 0.3)]);
    const best = (i: number, j: number) => Math.max(dot(d[i] as Float32Array, d[j] as Float32Array), ...[...(crops[i] as Float32Array[]).map((c) => dot(c, d[j] as Float32Array)), ...(crops[j] as Float32Array[]).map((c) => dot(c, d[i] as Float32Array))]);
    const k = 2;
    // The shortlist: each image's SHORTLIST nearest by descriptor, either way round.
    const listed = d.map(() => new Set<number>());
    for (let i = 0; i < d.length; i++) {
      const ranked = d.map((v, j) => ({ j, s: dot(d[i] as Float32Array, v) })).filter((e) => e.j !== i);
      for (const e of ranked.sort((x, y) => y.s - x.s).slice(0, SHORTLIST)) {
        listed[i]?.add(e.j);
        listed[e.j]?.add(i);
      }
    }
    const expected = new Set<string>();
    for (let i = 0; i < d.length; i++) {
      const ranked = [...(listed[i] as Set<number>)].map((j) => ({ j, s: best(i, j) })).sort((x, y) => y.s - x.s);
      for (const e of ranked.slice(0, k)) expected.add(`${Math.min(i, e.j)},${Math.max(i, e.j)}`);
    }
    const found = await contentNeighbours(d, k, -1, { crops });
    expect(new Set(found?.map((p) => `${p.a},${p.b}`))).toEqual(expected);
    for (const p of found ?? []) expect(p.similarity).toBeCloseTo(best(p.a, p.b), 5);
    // Crops move the pairs: without them the same search keeps others.
    expect(new Set((await contentNeighbours(d, k, -1))?.map((p) => `${p.a},${p.b}`))).not.toEqual(expected);
  }, 30_000);

  it("with crops, finds a garment's copy cropped into it where look-alikes lie nearer by descriptor", async () => {
    const bag = contentDescriptors(await greyThumb(path.join(FASHION_LOOKALIKES, 'bag-619.png')));
    const copy = contentDescriptors(await greyThumb(await alteredCopy(path.join(FASHION_LOOKALIKES, 'bag-619.png'), ['recompressed', 'cropped', 'padded'])));
    // Look-alikes halfway between the two (0.9 or more to each), the bag and its copy 0.7 apart.
    const random = seededRandom(5);
    const alike = Array.from({ length: SHORTLIST / 2 }, () => {
      const v = Float32Array.from(bag.descriptor, (x, i) => x + (copy.descriptor[i] as number) + 0.05 * (random() - 0.5));
      const norm = Math.sqrt(dot(v, v));
      return v.map((x) => x / norm);
    });
    const descriptors = [bag.descriptor, copy.descriptor, ...alike];
    const crops = [bag.crops, copy.crops, ...alike.map((v) => [v])];
    expect(dot(bag.descriptor, copy.descriptor)).toBeLessThan(0.8);
    expect(Math.min(...alike.map((v) => Math.min(dot(v, bag.descriptor), dot(v, copy.descriptor))))).toBeGreaterThan(0.9);
    const pairOf = (r: { a: number; b: number; similarity: number }[] | null) => r?.find((p) => p.a === 0 && p.b === 1);
    expect(pairOf(await contentNeighbours(descriptors, 1, 0.5))).toBeUndefined();
    expect(pairOf(await contentNeighbours(descriptors, 1, 0.5, { crops }))?.similarity).toBeGreaterThan(0.97);
  });

  it('stops when cancelled, and refuses descriptors of another length', async () => {
    const controller = new AbortController();
    controller.abort();
    // 3,000 vectors: 4.5 M dot products, far more than one stretch between yields.
    expect(await contentNeighbours(vectors(3000, DESCRIPTOR_LENGTH, 1), 3, 0, { signal: controller.signal })).toBeNull();
    await expect(contentNeighbours([new Float32Array(4), new Float32Array(5)], 1, 0)).rejects.toThrow(/Descriptor 1 has 5 values, not 4/);
    expect(await contentNeighbours([new Float32Array(4)], 3, 0)).toEqual([]);
    expect(await contentNeighbours(vectors(3000, DESCRIPTOR_LENGTH, 1), 3, 0, { signal: controller.signal, crops: vectors(3000, DESCRIPTOR_LENGTH, 2).map((v) => [v]) })).toBeNull();
    await expect(contentNeighbours(vectors(3, 4, 1), 1, 0, { crops: [[]] })).rejects.toThrow(/3 descriptors but crops for 1 images/);
    await expect(contentNeighbours(vectors(3, 4, 1), 1, -1, { crops: vectors(3, 5, 1).map((v) => [v]) })).rejects.toThrow(/crops have 5 values, not 4/);
  });
});
