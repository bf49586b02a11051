import { describe, expect, it } from 'vitest';
import { DESCRIPTOR_FLOOR_RATIO, DOUBTFUL_FLOOR, EDGES_MIN, FAR_RATIO, FLOOR, FLOOR_EDGES, FLOOR_INTERIOR_MIN, FLOOR_RATIO, FLOOR_RULE, INTERIOR_ALONE_FROM, INTERIOR_ALONE_MIN, INTERIOR_ALONE_RATIO, INTERIOR_FAR_MIN, INTERIOR_FAR_RATIO, INTERIOR_FROM, INTERIOR_MIN, INTERIOR_PLAUSIBLE_MIN, INTERIOR_RATIO, INTERIOR_RULE, PLAIN_SURE, Rivals, TRANSFORMED_MIN, TRANSFORMED_RATIO, TRANSFORMED_SURE, clusterPairs, confirmAlignments, decideAlignments, findNearDuplicates, pixelSimilarity, type CandidateScore, type DuplicatePair } from '../../../src/main/audit/near-duplicates';
import { alignThumbs } from '../../../src/main/audit/thumb-alignment';
import { DUPLICATE_THRESHOLDS } from '../../../src/shared/domain';
import path from 'node:path';
import sharp from 'sharp';
import { greyThumb, type GreyThumb } from '../../../src/main/media/perceptual-hash';
import { edgeNcc, interiorNcc, ncc, smoothedNcc } from '../../../src/main/audit/ncc';
import { SMOOTH_SIGMA } from '../../../src/main/audit/pair-search';
import { alteredCopy } from '../../fixtures/altered-copies';
import { FASHION_LOOKALIKES } from '../../fixtures/assets';
import { seededRandom } from '../../../src/shared/random';

/** A smooth random texture (sums of seeded sinusoids), 28x28. */
function texture(seed: number, w = 28, h = 28): GreyThumb {
  const pixels = new Uint8Array(w * h);
  const f = [1 + (seed % 3), 2 + (seed % 5), 0.5 + (seed % 7) / 3];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels[y * w + x] = Math.round(127 + 60 * Math.sin((f[0]! * x) / 5 + seed) + 60 * Math.cos((f[1]! * y) / 6 + (f[2]! * x) / 7 + seed * 2));
  return { width: w, height: h, pixels };
}

/** With seeded uniform noise of the given amplitude added (35: a copy correlating with it at about 0.986). */
function noisy(t: GreyThumb, seed: number, amplitude = 35): GreyThumb {
  const random = seededRandom(seed);
  return { ...t, pixels: Uint8Array.from(t.pixels, (v) => Math.max(0, Math.min(255, Math.round(v + amplitude * (random() - 0.5))))) };
}

/** Moved right and down by `by`, the uncovered edge repeating the border. */
function shift(t: GreyThumb, by: number): GreyThumb {
  const pixels = new Uint8Array(t.pixels.length);
  for (let y = 0; y < t.height; y++) for (let x = 0; x < t.width; x++) pixels[y * t.width + x] = t.pixels[Math.max(0, y - by) * t.width + Math.max(0, x - by)]!;
  return { ...t, pixels };
}

describe('pixel similarity', () => {
  it('a copy aligns; a shifted copy aligns only when shifts are searched; another image does not', () => {
    const a = texture(1);
    expect(pixelSimilarity(a, a).aligned).toBeCloseTo(1, 6);
    const moved = shift(a, 5);
    const s = pixelSimilarity(a, moved, 0.25);
    expect(s.aligned).toBeLessThan(0.9);
    expect(s.shifted).toBeGreaterThan(0.999);
    expect(pixelSimilarity(a, moved).shifted).toBeNull();
    const other = pixelSimilarity(a, texture(2), 0.25);
    expect(other.shifted).toBeLessThan(0.9);
  });

  it('compares at the smaller size, and refuses another aspect ratio', () => {
    const big = texture(3, 28, 28);
    const small: GreyThumb = { width: 14, height: 14, pixels: new Uint8Array(196) };
    for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) small.pixels[y * 14 + x] = Math.round((big.pixels[2 * y * 28 + 2 * x]! + big.pixels[2 * y * 28 + 2 * x + 1]! + big.pixels[(2 * y + 1) * 28 + 2 * x]! + big.pixels[(2 * y + 1) * 28 + 2 * x + 1]!) / 4);
    expect(pixelSimilarity(big, small).aligned).toBeGreaterThan(0.99);
    expect(pixelSimilarity(big, texture(3, 28, 20)).aligned).toBe(-1);
  });
});

/** Contrast and brightness lowered. */
function darker(t: GreyThumb): GreyThumb {
  return { ...t, pixels: Uint8Array.from(t.pixels, (v) => Math.round(v * 0.7 + 10)) };
}

/** Mirrored left to right. */
function mirrored(t: GreyThumb): GreyThumb {
  const pixels = new Uint8Array(t.pixels.length);
  for (let y = 0; y < t.height; y++) for (let x = 0; x < t.width; x++) pixels[y * t.width + x] = t.pixels[y * t.width + (t.width - 1 - x)]!;
  return { ...t, pixels };
}

/** The centre (1 - 2 * share) of each side, resized back to the full size (bilinear): a cropped copy. */
function cropped(t: GreyThumb, share: number): GreyThumb {
  const pixels = new Uint8Array(t.pixels.length);
  const w = t.width;
  const m = share * w;
  const k = (w - 2 * m) / w;
  const at = (x: number, y: number) => t.pixels[Math.min(w - 1, y) * w + Math.min(w - 1, x)]!;
  for (let y = 0; y < t.height; y++) {
    for (let x = 0; x < w; x++) {
      const fx = m + (x + 0.5) * k - 0.5;
      const fy = m + (y + 0.5) * k - 0.5;
      const [x0, y0] = [Math.floor(fx), Math.floor(fy)];
      const [ax, ay] = [fx - x0, fy - y0];
      pixels[y * w + x] = Math.round((at(x0, y0) * (1 - ax) + at(x0 + 1, y0) * ax) * (1 - ay) + (at(x0, y0 + 1) * (1 - ax) + at(x0 + 1, y0 + 1) * ax) * ay);
    }
  }
  return { ...t, pixels };
}

/** A flat near-white border of `by` pixels around it (a padded copy, larger by 2 * by). */
function padded(t: GreyThumb, by: number): GreyThumb {
  const w = t.width + 2 * by;
  const h = t.height + 2 * by;
  const pixels = new Uint8Array(w * h).fill(250);
  for (let y = 0; y < t.height; y++) pixels.set(t.pixels.subarray(y * t.width, (y + 1) * t.width), (y + by) * w + by);
  return { width: w, height: h, pixels };
}

describe('alignment search', () => {
  it('lines up a padded, mirrored, darker copy (its border left out) and says so; another texture does not line up', () => {
    const a = texture(1);
    const copy = padded(darker(mirrored(a)), 3);
    const found = alignThumbs(a, copy);
    expect(found.score).toBeGreaterThan(0.995);
    expect(found.mirrored).toBe(true);
    // The copy's content is as large as the original's: 28 of its 34 pixels.
    expect(found.scale).toBeCloseTo(1, 1);
    expect(alignThumbs(copy, a).score).toBeGreaterThan(0.995);
    expect(alignThumbs(a, padded(texture(2), 3)).score).toBeLessThan(0.9);
    // Mirroring not searched: the mirrored copy does not line up.
    expect(alignThumbs(a, copy, { mirror: false }).score).toBeLessThan(0.9);
  });

  it('says a mirrored copy of a nearly symmetric garment is mirrored: the other orientation is refined too', async () => {
    // At half size both dresses' poses as they are outscore the mirrored ones; refined, the mirrored pose lines up at 0.998 or more.
    for (const dress of ['dress-6308.png', 'dress-9898.png']) {
      const file = path.join(FASHION_LOOKALIKES, dress);
      const found = alignThumbs(await greyThumb(file), await greyThumb(await alteredCopy(file, ['cropped', 'mirrored'])));
      expect(found.mirrored, dress).toBe(true);
      expect(found.score).toBeGreaterThan(0.995);
    }
  });

  it('lines up a mirrored copy of an odd size: the half-size search is centred as the full size is', async () => {
    // Cropped to 25 pixels: with the half grid's centre half a pixel early, no half-size pose met the
    // mirror axis and the copy stopped there at 0.67 (with brightness and contrast changed too, 0.69).
    const file = path.join(FASHION_LOOKALIKES, 'pullover-46.png');
    for (const kinds of [['cropped', 'mirrored'], ['brightness-contrast', 'cropped', 'mirrored']] as const) {
      const copy = await greyThumb(await alteredCopy(file, [...kinds]));
      expect(copy.width % 2, 'an odd side').toBe(1);
      const found = alignThumbs(await greyThumb(file), copy);
      expect(found.mirrored, kinds.join('+')).toBe(true);
      expect(found.score, kinds.join('+')).toBeGreaterThan(0.995);
    }
  });

  it('lines up an upscaled copy, its thumbnail blurred, at its true zoom: the pose searched again with the blur matched', async () => {
    const pullover = path.join(FASHION_LOOKALIKES, 'pullover-46.png');
    const found = alignThumbs(await greyThumb(pullover), await greyThumb(await alteredCopy(pullover, 'upscaled')));
    // 28 pixels shown on the copy's 32-pixel thumbnail; searched on the unmatched pair: 1.099 and 0.970.
    expect(Math.abs(found.scale - 32 / 28)).toBeLessThan(0.02);
    expect(found.score).toBeGreaterThan(0.99);
  });
});

describe('the second look at a doubtful alignment', () => {
  it('smoothed, a copy\'s noise drops out and a difference of shape stays', () => {
    const t = texture(1);
    const plane = (p: Uint8Array): Float32Array => Float32Array.from(p);
    const all = new Uint8Array(28 * 28).fill(1);
    // The copy: fine noise on every pixel. The look-alike: the same but for a blob (a pocket, a print) of 7 pixels across.
    const copy = noisy(t, 7);
    const blob = Uint8Array.from(t.pixels, (v, i) => Math.min(255, Math.round(v + 55 * Math.exp(-(((i % 28) - 10) ** 2 + (Math.floor(i / 28) - 12) ** 2) / 18))));
    const raw = (b: Uint8Array): number => ncc(plane(t.pixels), 28, plane(b), 28, [0, 0, 28, 28], 0, 0, 1);
    const smoothed = (b: Uint8Array): number => smoothedNcc(28, 28, plane(t.pixels), plane(b), all, SMOOTH_SIGMA);
    // As close in pixels (0.987 both)...
    expect(Math.abs(raw(copy.pixels) - raw(blob))).toBeLessThan(0.002);
    // ...but smoothed, the copy leaves a tenth of it unexplained (0.9986), the look-alike as much as before (0.9865).
    expect(1 - smoothed(copy.pixels)).toBeLessThan((1 - raw(copy.pixels)) / 5);
    expect(1 - smoothed(blob)).toBeGreaterThan((1 - raw(blob)) * 0.9);
    // Where a pixel is not compared (outside the overlap), it does not leak into its neighbours: a wild value there changes nothing.
    const masked = Uint8Array.from(all, (_, i) => (i % 28 < 4 ? 0 : 1));
    const wild = Float32Array.from(copy.pixels, (v, i) => (i % 28 < 4 ? 255 - v : v));
    expect(smoothedNcc(28, 28, plane(t.pixels), wild, masked, SMOOTH_SIGMA)).toBeCloseTo(smoothedNcc(28, 28, plane(t.pixels), plane(copy.pixels), masked, SMOOTH_SIGMA), 10);
  });

  it('a copy changed three ways keeps its edges; two dresses that align better do not', async () => {
    const pullover = path.join(FASHION_LOOKALIKES, 'pullover-46.png');
    const copy = await alteredCopy(pullover, ['brightness-contrast', 'padded', 'mirrored']);
    const looked = async (a: string | Buffer, b: string | Buffer) => {
      const found = alignThumbs(await greyThumb(a), await greyThumb(b));
      const o = found.overlay!;
      return { pixel: found.score, edges: edgeNcc(o.w, o.h, o.a, o.b, o.inside) };
    };
    const twin = await looked(pullover, copy);
    const dresses = await looked(path.join(FASHION_LOOKALIKES, 'dress-6308.png'), path.join(FASHION_LOOKALIKES, 'dress-9898.png'));
    // The pixels cannot tell them apart: the dresses align at least as well, both doubtful.
    expect(dresses.pixel).toBeGreaterThan(twin.pixel);
    expect(twin.pixel).toBeLessThan(TRANSFORMED_SURE);
    // Their edges can (the copy 0.988, the dresses 0.962). The finder asks 0.99 (EDGES_MIN: digit
    // strokes share their edges as a copy does); at 0.985 this copy passes.
    const edges = 0.985;
    expect(EDGES_MIN).toBeGreaterThanOrEqual(edges);
    expect(twin.edges).toBeGreaterThanOrEqual(edges);
    expect(dresses.edges).toBeLessThan(edges - 0.01);
    // Each pair among other alignments as close (no gap): only the copy is kept.
    const near = (a: number, pixel: number): DuplicatePair => ({ a, b: a + 1, hamming: 20, cosine: null, pixel: pixel - 0.005, match: 'rescaled', edges: null });
    const decided = confirmAlignments(
      [
        { a: 0, b: 1, hamming: 20, cosine: null, pixel: twin.pixel, match: 'rescaled', edges: twin.edges },
        { ...near(1, twin.pixel), b: 5 },
        { a: 2, b: 3, hamming: 20, cosine: null, pixel: dresses.pixel, match: 'rescaled', edges: dresses.edges },
        { ...near(3, dresses.pixel), b: 6 },
      ],
      { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, edges },
    );
    expect(decided.map((p) => [p.a, p.b])).toEqual([[0, 1]]);
  });

  it('stands out by a ratio of what is left unexplained: a copy at 0.995 over 0.984, not one at 0.987 over 0.975', () => {
    const at = (a: number, pixel: number): DuplicatePair => ({ a, b: a + 1, hamming: 20, cosine: null, pixel, match: 'rescaled', edges: null });
    const searched = [at(0, 0.995), { ...at(0, 0.984), b: 100 }, at(2, 0.987), { ...at(2, 0.975), b: 102 }];
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO };
    expect(confirmAlignments(searched, rule).map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    // A fixed gap cannot tell them so: 0.0115 keeps the one at 0.987 (0.012 above its next best) and drops the copy (0.011).
    expect(confirmAlignments(searched, { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, gap: 0.0115 }).map((p) => [p.a, p.b])).toEqual([[2, 3]]);
  });

  it('stands out by the smoothed scores where the search measured them: a copy over a look-alike as close in pixels; a descriptor pair by those alone', () => {
    const at = (a: number, b: number, pixel: number, smoothed: number): DuplicatePair => ({ a, b, hamming: 20, cosine: null, pixel, match: 'rescaled', edges: null, smoothed });
    // 0-1 and its rival 0-100 lie as close in pixels (1.2x); smoothed, 0-1 leaves a sixth as much unexplained.
    // 2-3 and its rival 2-102 the other way round: far apart in pixels (4x), as close smoothed (1.2x).
    const searched = [at(0, 1, 0.99, 0.999), at(0, 100, 0.988, 0.994), at(2, 3, 0.99, 0.995), at(2, 102, 0.96, 0.994)];
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO };
    const kept = confirmAlignments(searched, rule);
    expect(kept.map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    // Each kept pair carries the rival it was compared to (the leak view says it), on the scale it stood out by.
    expect(kept[0]?.rival).toBeCloseTo(0.994, 9);
    // By the pixel scores alone, the other way round.
    const unsmoothed = searched.map(({ smoothed: _smoothed, ...p }) => p);
    const byPixels = confirmAlignments(unsmoothed, rule);
    expect(byPixels.map((p) => [p.a, p.b])).toEqual([[2, 3]]);
    expect(byPixels[0]?.rival).toBeCloseTo(0.96, 9);
    // The finder keeps a pair standing out by either: 0-1 smoothed, 2-3 in pixels.
    expect(confirmAlignments(searched, { ...rule, pixelsToo: true }).map((p) => [p.a, p.b])).toEqual([
      [0, 1],
      [2, 3],
    ]);
    // A pair only the content descriptors found stands out by its smoothed scores only: 2-3 is not kept.
    const only23 = (p: DuplicatePair): boolean => p.a === 2 && p.b === 3;
    expect(decideAlignments(searched, only23, { ...rule, pixelsToo: true }).map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    expect(decideAlignments(searched, (p) => p.a === 0 && p.b === 1, { ...rule, pixelsToo: true }).map((p) => [p.a, p.b])).toEqual([
      [2, 3],
      [0, 1],
    ]);
    // A sure pair with no other alignment has no rival to say.
    expect(confirmAlignments([at(7, 8, 0.999, 0.9999)], rule)[0]).not.toHaveProperty('rival');
  });

  it('the interior: a copy keeps the texture inside its silhouette, a look-alike of the same shape does not', () => {
    const w = 28;
    const all = new Uint8Array(w * w).fill(1);
    /** A bright garment (x 6-21, y 4-23) on black, its inside `texture(x, y)`. */
    const garment = (texture: (x: number, y: number) => number): Float32Array => Float32Array.from({ length: w * w }, (_, i) => {
      const [x, y] = [i % w, Math.floor(i / w)];
      return x >= 6 && x < 22 && y >= 4 && y < 24 ? texture(x, y) : 0;
    });
    const patterned = garment((x, y) => 150 + 60 * Math.sin(x * 1.3) * Math.cos(y * 0.9));
    // Its copy, brighter and with more contrast, saturating at 255; a plain look-alike with the same silhouette.
    const copy = patterned.map((v) => (v === 0 ? 10 : Math.min(255, 1.4 * v - 20)));
    const plain = garment((x, y) => 160 + 8 * Math.sin(x * 0.2 + y * 0.3));
    const whole = (b: Float32Array): number => ncc(patterned, w, b, w, [0, 0, w, w], 0, 0, 1, all);
    // The silhouette dominates the whole correlation: the look-alike is nearly as close as the copy.
    expect(whole(plain)).toBeGreaterThan(0.9);
    expect(whole(copy)).toBeGreaterThan(0.99);
    expect(interiorNcc(w, w, patterned, copy, all)).toBeGreaterThan(0.95);
    expect(interiorNcc(w, w, patterned, plain, all)).toBeLessThan(0.5);
    // Too little foreground in common (a garment against a plane only 3 x 3 of it bright): none to compare.
    const speck = garment(() => 0).map((_, i) => (i % w < 3 && i < 3 * w ? 200 : 0));
    expect(interiorNcc(w, w, patterned, speck, all)).toBeNaN();
  });

  it('the interior on a light background: dark garments on white are told apart as garments on black are', async () => {
    const onWhite = (file: string | Buffer): Promise<Buffer> => sharp(file).negate({ alpha: false }).png().toBuffer();
    const interiorOf = async (a: string | Buffer, b: string | Buffer) => {
      const o = alignThumbs(await greyThumb(a), await greyThumb(b)).overlay!;
      return { light: o.lightBackground, interior: interiorNcc(o.w, o.h, o.a, o.b, o.inside, o.lightBackground), bright: interiorNcc(o.w, o.h, o.a, o.b, o.inside) };
    };
    const pullover = path.join(FASHION_LOOKALIKES, 'pullover-46.png');
    const dresses = [path.join(FASHION_LOOKALIKES, 'dress-6308.png'), path.join(FASHION_LOOKALIKES, 'dress-9898.png')] as const;
    // Changed alike on black and on white: upscaled, padded with mid-grey (which tells no background) and mirrored.
    const kinds = ['upscaled', 'padded', 'mirrored'] as const;
    const black = { copy: await interiorOf(pullover, await alteredCopy(pullover, kinds)), lookalike: await interiorOf(...dresses) };
    const white = { copy: await interiorOf(await onWhite(pullover), await alteredCopy(await onWhite(pullover), kinds)), lookalike: await interiorOf(await onWhite(dresses[0]), await onWhite(dresses[1])) };
    expect([black.copy.light, black.lookalike.light, white.copy.light, white.lookalike.light]).toEqual([false, false, true, true]);
    // The dark part on white is the bright part on black: the same interiors (the copy 0.986, the dresses 0.908).
    expect(Math.abs(white.copy.interior - black.copy.interior)).toBeLessThan(0.005);
    expect(Math.abs(white.lookalike.interior - black.lookalike.interior)).toBeLessThan(0.005);
    expect(white.copy.interior - white.lookalike.interior).toBeGreaterThan(0.05);
    // Taken as the bright part on white, the interior is mostly background and its edge: the dresses come closer (0.935).
    expect(white.lookalike.bright).toBeGreaterThan(white.lookalike.interior + 0.02);
  });

  it('stands out by the interior: from its level, clearly the best match of both images, its foregrounds far closer than either image with a third', () => {
    const at = (a: number, b: number, smoothed: number, interior: number): DuplicatePair => ({ a, b, hamming: 20, cosine: null, pixel: smoothed - 0.005, match: 'rescaled', edges: null, smoothed, interior });
    // 0-1: smoothed 0.9875 against a look-alike's 0.9802 (1.6 times: under the ratio), interiors 0.97 against 0.88 (4 times).
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, pixelsToo: true };
    const copy = [at(0, 1, 0.9875, 0.97), at(0, 100, 0.9802, 0.88)];
    expect(confirmAlignments(copy, rule)).toEqual([]);
    expect(confirmAlignments(copy, { ...rule, ...INTERIOR_RULE }).map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    expect(INTERIOR_RATIO).toBeLessThanOrEqual((1 - 0.88) / (1 - 0.97));
    // Not when a third matches either image better (smoothed), however far the interiors stand out (under the interior-alone minimum); nearly as well is enough (standing 1), unless asked to stand out further.
    expect(confirmAlignments([at(0, 1, 0.9875, INTERIOR_ALONE_MIN - 0.01), at(1, 101, 0.988, 0.6)], { ...rule, ...INTERIOR_RULE })).toEqual([]);
    expect(confirmAlignments([at(0, 1, 0.9875, 0.97), at(1, 101, 0.9872, 0.6)], { ...rule, ...INTERIOR_RULE }).map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    expect(confirmAlignments([at(0, 1, 0.9875, INTERIOR_ALONE_MIN - 0.01), at(1, 101, 0.9872, 0.6)], { ...rule, ...INTERIOR_RULE, interiorStanding: 1.2 })).toEqual([]);
    // From the floor: an outline lined up at 0.96 whose interior stands far out (brightness and contrast on white).
    expect(confirmAlignments([at(0, 1, 0.96, 0.98), at(0, 100, 0.955, 0.8)], { ...rule, ...INTERIOR_RULE }).map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    // Not below its level (interiors under the interior-alone minimum), nor with interiors under the far minimum, nor when a third's interior is as close.
    expect(confirmAlignments([at(0, 1, INTERIOR_FROM - 0.002, INTERIOR_ALONE_MIN - 0.01), at(0, 100, INTERIOR_FROM - 0.01, 0.5)], { ...rule, ...INTERIOR_RULE })).toEqual([]);
    expect(confirmAlignments([at(0, 1, 0.9875, INTERIOR_FAR_MIN - 0.01), at(0, 100, 0.9802, 0.5)], { ...rule, ...INTERIOR_RULE })).toEqual([]);
    // Under the minimum, from the far one: standing out far (0.9 against 0.6, 4 times), not merely by the ratio (against 0.78, 2.2 times).
    expect(confirmAlignments([at(0, 1, 0.9875, 0.9), at(0, 100, 0.9802, 0.6)], { ...rule, ...INTERIOR_RULE }).map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    expect(confirmAlignments([at(0, 1, 0.9875, 0.9), at(0, 100, 0.9802, 0.78)], { ...rule, ...INTERIOR_RULE })).toEqual([]);
    expect([INTERIOR_FAR_MIN < 0.9, 0.9 < INTERIOR_MIN, INTERIOR_FAR_RATIO <= 4, INTERIOR_FAR_RATIO > 2.2]).toEqual([true, true, true, true]);
    expect(confirmAlignments([at(0, 1, 0.9875, 0.97), at(0, 100, 0.9802, 0.95)], { ...rule, ...INTERIOR_RULE })).toEqual([]);
  });

  it('by its interior alone: an outline clipped on white lines up under a look-alike, its interior stands far out', () => {
    const at = (a: number, b: number, smoothed: number, interior: number): DuplicatePair => ({ a, b, hamming: 20, cosine: null, pixel: smoothed - 0.005, match: 'rescaled', edges: null, smoothed, interior });
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, pixelsToo: true, ...INTERIOR_RULE };
    const copyOf0 = (pairs: DuplicatePair[], t: Parameters<typeof confirmAlignments>[1] = rule) => confirmAlignments(pairs, t).filter((p) => p.b === 1).map((p) => [p.a, p.b]);
    // 0-1 at 0.85 (a look-alike, 100, lines up with 0 at 0.97), interiors 0.99 against the look-alike's 0.7: 30 times.
    const clipped = [at(0, 1, 0.85, 0.99), at(0, 100, 0.97, 0.7)];
    expect(copyOf0(clipped)).toEqual([[0, 1]]);
    // Kept with what it stood out from: the look-alike's outline and interior.
    expect(confirmAlignments(clipped, rule).find((p) => p.b === 1)).toMatchObject({ rival: 0.97, interiorRival: 0.7 });
    const { interiorAloneRatio: _ratio, ...withoutAlone } = rule;
    expect(copyOf0(clipped, withoutAlone)).toEqual([]);
    // Not below its level, nor with interiors under its minimum, nor standing out less than its ratio.
    expect(copyOf0([at(0, 1, INTERIOR_ALONE_FROM - 0.01, 0.99), at(0, 100, 0.97, 0.7)])).toEqual([]);
    expect(copyOf0([at(0, 1, 0.85, INTERIOR_ALONE_MIN - 0.01), at(0, 100, 0.97, 0.5)])).toEqual([]);
    expect(copyOf0([at(0, 1, 0.85, 0.96), at(0, 100, 0.97, 0.88)])).toEqual([]);
    expect([INTERIOR_ALONE_MIN <= 0.96, INTERIOR_ALONE_RATIO > (1 - 0.88) / (1 - 0.96), INTERIOR_ALONE_FROM <= 0.85]).toEqual([true, true, true]);
  });

  it('by its interior, the outline the best match among rivals that could be copies: a look-alike whose interiors rule it out holds it back no more', () => {
    const at = (a: number, b: number, smoothed: number, interior: number): DuplicatePair => ({ a, b, hamming: 20, cosine: null, pixel: smoothed - 0.005, match: 'rescaled', edges: null, smoothed, interior });
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, pixelsToo: true, ...FLOOR_RULE, ...INTERIOR_RULE };
    // A copy on white, brightened and contrasted: 0-1 at 0.974, interiors 0.958, 2.1 times above 1's next best (0.91).
    // 0's outline lines up better with two look-alikes, whose interiors (0.42, 0.82) say they are none.
    const pairs = (second: number): DuplicatePair[] => [at(0, 1, 0.974, 0.958), at(1, 200, 0.968, 0.91), at(0, 100, 0.982, 0.42), at(0, 101, 0.98, second)];
    const copyOf0 = (ps: DuplicatePair[], t: Parameters<typeof confirmAlignments>[1] = rule, rivals?: Rivals) => confirmAlignments(ps, t, rivals).filter((p) => p.a === 0 && p.b === 1).length;
    expect(FLOOR_INTERIOR_MIN).toBeGreaterThan(0.82);
    expect(copyOf0(pairs(0.82))).toBe(1);
    const { interiorPlausibleMin: _plausible, ...without } = rule;
    expect(copyOf0(pairs(0.82), without)).toBe(0);
    // A look-alike whose interiors could be a copy's (from FLOOR_INTERIOR_MIN) still holds it back, as one that could by a lower level.
    expect(copyOf0(pairs(FLOOR_INTERIOR_MIN + 0.01))).toBe(0);
    expect(copyOf0(pairs(0.82), rule, Rivals.among(pairs(0.82), TRANSFORMED_SURE, 0.8))).toBe(0);
    // Nor with its own interiors under INTERIOR_PLAUSIBLE_MIN, nor standing out less than the interior rule's INTERIOR_RATIO.
    expect(copyOf0([at(0, 1, 0.974, INTERIOR_PLAUSIBLE_MIN - 0.005), ...pairs(0.82).slice(1).map((p) => (p.b === 200 ? { ...p, interior: 0.85 } : p))])).toBe(0);
    expect(copyOf0([at(0, 1, 0.974, 0.958), at(1, 200, 0.968, 1 - (INTERIOR_RATIO - 0.2) * (1 - 0.958)), ...pairs(0.82).slice(2)])).toBe(0);
  });

  it('a look-alike with many copies leaves a pair its real rival: an image searched with all of them stands out from none', () => {
    const at = (a: number, b: number, pixel: number): DuplicatePair => ({ a, b, hamming: 20, cosine: null, pixel, match: 'rescaled', edges: null });
    /** 1 and its sure copies (one picture); 0 aligns with all of them at 0.99, and with 100, another look-alike, at `rival`. */
    const searched = (copies: number[], rival: number): DuplicatePair[] => [...copies.map((c) => at(1, c, 0.999)), at(0, 1, 0.99), ...copies.map((c) => at(0, c, 0.99)), at(0, 100, rival)];
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO };
    const keptOf0 = (pairs: DuplicatePair[]) => confirmAlignments(pairs, rule).filter((p) => p.a === 0);
    const five = [10, 11, 12, 13, 14];
    // 100 at 0.98 leaves 2 times as much unexplained: under the ratio.
    expect(TRANSFORMED_RATIO).toBeGreaterThan(2);
    expect(keptOf0(searched(five, 0.98))).toEqual([]);
    // With 100 further off, 0 stands out from it, and every pair with the picture is kept.
    expect(keptOf0(searched(five, 0.95)).map((p) => [p.b, p.rival])).toEqual([1, ...five].map((b) => [b, 0.95]));
    // More copies than the rivals kept: the best of those dropped (one at 0.99) holds 0 back, whatever lies beyond.
    const twenty = Array.from({ length: 20 }, (_, k) => 10 + k);
    expect(keptOf0(searched(twenty, 0.98))).toEqual([]);
    expect(keptOf0(searched(twenty, 0.95))).toEqual([]);
  });

  it("below the threshold, down to the floor: a copy when its edges agree well enough and it stands out by the floor's ratio, or whatever its edges when it stands out far", () => {
    const at = (a: number, pixel: number, edges: number | null): DuplicatePair => ({ a, b: a + 1, hamming: 20, cosine: null, pixel, match: 'rescaled', edges });
    const rival = (a: number, pixel: number): DuplicatePair => ({ ...at(a, pixel, null), b: 100 + a });
    const pixel = TRANSFORMED_MIN - 0.01;
    // The best rival it stands out from: TRANSFORMED_RATIO times as far from 1.
    const rivalMax = 1 - TRANSFORMED_RATIO * (1 - pixel);
    // Its best rival FLOOR_RATIO times as far from 1, and a little more.
    const floorRival = 1 - (FLOOR_RATIO + 0.2) * (1 - pixel);
    const searched = [
      at(0, pixel, FLOOR_EDGES + 0.02),
      rival(0, floorRival),
      // Stands out, but not by the ratio.
      at(2, pixel, FLOOR_EDGES + 0.02),
      rival(2, rivalMax + 0.01),
      // Stands out by more than the floor's ratio, its edges too unlike.
      at(4, pixel, FLOOR_EDGES - 0.03),
      rival(4, 1 - (FAR_RATIO - 1) * (1 - pixel)),
      // Under the floor.
      at(6, DOUBTFUL_FLOOR - 0.005, FLOOR_EDGES + 0.05),
      rival(6, 0.5),
      // Its edges as unlike as 4's, but it stands out FAR_RATIO times and more (4: one time less).
      at(8, pixel, FLOOR_EDGES - 0.03),
      rival(8, 1 - (FAR_RATIO + 1) * (1 - pixel)),
      // Stands out by the ratio, not by the floor's.
      at(10, pixel, FLOOR_EDGES + 0.02),
      rival(10, 1 - ((TRANSFORMED_RATIO + FLOOR_RATIO) / 2) * (1 - pixel)),
    ];
    expect(FLOOR_RATIO).toBeGreaterThan(TRANSFORMED_RATIO);
    expect(FAR_RATIO - 1).toBeGreaterThan(FLOOR_RATIO);
    const finder = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, edges: EDGES_MIN };
    expect(confirmAlignments(searched, { ...finder, floor: DOUBTFUL_FLOOR, floorEdges: FLOOR_EDGES }).map((p) => p.a)).toEqual([0, 10]);
    expect(confirmAlignments(searched, { ...finder, ...FLOOR_RULE }).map((p) => p.a)).toEqual([0, 8]);
    expect(confirmAlignments(searched, finder)).toEqual([]);
  });

  it('the floor keeps no pair whose interiors were measured under FLOOR_INTERIOR_MIN; above the threshold they do not count against it', () => {
    const at = (a: number, pixel: number, interior: number | undefined): DuplicatePair => ({ a, b: a + 1, hamming: 20, cosine: null, pixel, match: 'mirrored', edges: FLOOR_EDGES + 0.02, ...(interior === undefined ? {} : { interior }) });
    // Each pair's best rival FAR_RATIO + 1 times as far from 1: far enough for the floor whatever the edges.
    const withRival = (a: number, pixel: number, interior: number | undefined): DuplicatePair[] => [at(a, pixel, interior), { ...at(a, 1 - (FAR_RATIO + 1) * (1 - pixel), undefined), b: 100 + a }];
    const floorPixel = FLOOR + 0.02;
    expect(floorPixel).toBeLessThan(TRANSFORMED_MIN);
    const searched = [
      // Two look-alike trousers of a small project: their outlines line up, what lies inside them not.
      ...withRival(0, floorPixel, FLOOR_INTERIOR_MIN - 0.05),
      ...withRival(2, floorPixel, FLOOR_INTERIOR_MIN + 0.01),
      // No interiors measured (too little inside either silhouette): nothing against it.
      ...withRival(4, floorPixel, undefined),
      // From the threshold up, a pair standing out is kept as before, whatever its interiors.
      ...withRival(6, TRANSFORMED_MIN + 0.002, FLOOR_INTERIOR_MIN - 0.05),
    ];
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, edges: EDGES_MIN, ...FLOOR_RULE };
    expect(FLOOR_RULE.floorInteriorMin).toBe(FLOOR_INTERIOR_MIN);
    expect(confirmAlignments(searched, rule).map((p) => p.a)).toEqual([2, 4, 6]);
    const { floorInteriorMin: _none, ...withoutMinimum } = rule;
    expect(confirmAlignments(searched, withoutMinimum).map((p) => p.a)).toEqual([0, 2, 4, 6]);
  });

  it('a pair only the content descriptors found gets the floor too, but must stand out by DESCRIPTOR_FLOOR_RATIO; its edges get the second look', () => {
    const pixel = FLOOR + 0.01;
    // Its best rival leaves `times` as much unexplained as the pair does.
    const withRival = (a: number, times: number): DuplicatePair[] => [
      { a, b: a + 1, hamming: 20, cosine: null, pixel, match: 'rescaled', edges: FLOOR_EDGES + 0.02 },
      { a, b: 100 + a, hamming: 20, cosine: null, pixel: 1 - times * (1 - pixel), match: 'rescaled', edges: null },
    ];
    const between = (TRANSFORMED_RATIO + DESCRIPTOR_FLOOR_RATIO) / 2;
    expect(between).toBeGreaterThan(TRANSFORMED_RATIO);
    // 6 does not stand out, but its edges agree as a copy's do: the second look keeps it, as any pair.
    const edgesAgree = withRival(6, 1.2).map((p, i) => (i === 0 ? { ...p, edges: EDGES_MIN + 0.005 } : p));
    const searched = [...withRival(0, between), ...withRival(2, between), ...withRival(4, DESCRIPTOR_FLOOR_RATIO + 0.5), ...edgesAgree];
    // 0 was searched as a feature or hash neighbour; 2, 4 and 6 only as content descriptors' neighbours.
    const descriptorOnly = (p: DuplicatePair): boolean => p.a >= 2 && p.b === p.a + 1;
    const rule = { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, edges: EDGES_MIN, floor: FLOOR, floorEdges: FLOOR_EDGES };
    expect(decideAlignments(searched, descriptorOnly, rule).map((p) => p.a)).toEqual([0, 4, 6]);
    // Without the floor, only the one its edges keep: the others lie under TRANSFORMED_MIN.
    expect(decideAlignments(searched, descriptorOnly, { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, edges: EDGES_MIN }).map((p) => p.a)).toEqual([6]);
  });
});

describe('near-duplicate clusters', () => {
  const pair = (a: number, b: number): DuplicatePair => ({ a, b, hamming: 0, cosine: null, pixel: 1, match: 'aligned', edges: null });

  it('joins pairs transitively, flags leaks across splits and conflicting labels', () => {
    const clusters = clusterPairs(7, [pair(4, 5), pair(0, 1), pair(1, 2)], ['train', 'train', 'test', null, 'val', 'val', 'train'], [0, 0, 1, null, 2, null, 1]);
    expect(clusters.map((c) => c.members)).toEqual([
      [0, 1, 2],
      [4, 5],
    ]);
    expect(clusters[0]).toMatchObject({ leak: true, splits: ['train', 'test'], conflict: true, labels: [0, 1] });
    expect(clusters[0]!.pairs).toHaveLength(2);
    expect(clusters[1]).toMatchObject({ leak: false, splits: ['val'], conflict: false, labels: [2] });
  });

  it('the plain check keeps a copy that stands out; look-alikes among as close ones not; an exact twin is no rival', async () => {
    const a = texture(1);
    const d = texture(3);
    const f = texture(5);
    // 1 and 2 align with 0 at 0.986 and 0.985 (look-alikes of a kind), 4 with 3 alone, 7 with 5 and its twin 6.
    // The plain check alone: no content neighbours and no search of each image's best plain match, whose alignment search would line up 1 and 2, two noisy a's.
    const thumbs = [a, noisy(a, 1), noisy(a, 2), d, noisy(d, 3), f, f, noisy(f, 5)];
    const r = await findNearDuplicates({ hashes: thumbs.map(() => '0123456789abcdef'), thumbs, options: { contentNeighbours: 0, searchBestAligned: false } });
    expect(r?.pairs.map((p) => [p.a, p.b])).toEqual([
      [3, 4],
      [5, 6],
      [5, 7],
      [6, 7],
    ]);
    expect(Math.max(...r!.pairs.filter((p) => p.a !== 5 || p.b !== 6).map((p) => p.pixel))).toBeLessThan(PLAIN_SURE);
    // Every aligned pair a copy, as before the rule.
    const all = await findNearDuplicates({ hashes: thumbs.map(() => '0123456789abcdef'), thumbs, options: { plainSure: 0, contentNeighbours: 0, searchBestAligned: false } });
    expect(all?.pairs.map((p) => [p.a, p.b])).toEqual([[0, 1], [0, 2], [3, 4], [5, 6], [5, 7], [6, 7]]);
  });

  it('the plain check: a copy stands out by its smoothed correlation from a look-alike as close in pixels', async () => {
    const a = texture(1);
    // The copy: fine noise. The look-alike: a blob (a pocket, a print) 7 pixels across. Both align with a at 0.987.
    const blob: GreyThumb = { ...a, pixels: Uint8Array.from(a.pixels, (v, i) => Math.min(255, Math.round(v + 55 * Math.exp(-(((i % 28) - 10) ** 2 + (Math.floor(i / 28) - 12) ** 2) / 18)))) };
    const thumbs = [a, noisy(a, 7), blob];
    const hashes = thumbs.map(() => '0123456789abcdef');
    // The plain check alone (the alignment search lines the blob up with edges alike: a smooth blob changes few).
    const r = await findNearDuplicates({ hashes, thumbs, options: { contentNeighbours: 0, searchBestAligned: false } });
    expect(r?.pairs.map((p) => [p.a, p.b])).toEqual([[0, 1]]);
    // By the pixel scores the two lie as close (a gap of 0.002), and neither stands out.
    expect(Math.abs(r!.pairs[0]!.pixel - pixelSimilarity(a, blob).aligned)).toBeLessThan(0.002);
    expect(r!.pairs[0]!.pixel).toBeLessThan(PLAIN_SURE);
  });

  it('a mirrored copy of a nearly symmetric picture, lying as it is just under the sure level, is searched and said mirrored', async () => {
    // Symmetric about the middle column but for a spot left of it: mirrored, it lies over the original at 0.986.
    const w = 28;
    const pixels = new Uint8Array(w * w);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        const xs = Math.abs(x - 13.5);
        pixels[y * w + x] = Math.round(120 + 60 * Math.sin(xs / 2.2) * Math.cos(y / 3.1) + 40 * Math.sin((xs * y) / 40) + 40 * Math.exp(-((x - 8) ** 2 + (y - 9) ** 2) / 8));
      }
    }
    const a: GreyThumb = { width: w, height: w, pixels };
    const mirrored: GreyThumb = { ...a, pixels: Uint8Array.from(pixels, (_, i) => pixels[Math.floor(i / w) * w + w - 1 - (i % w)] as number) };
    const plainly = pixelSimilarity(a, mirrored).aligned;
    expect(plainly).toBeGreaterThanOrEqual(DUPLICATE_THRESHOLDS.aligned);
    expect(plainly).toBeLessThan(PLAIN_SURE);
    const scores: CandidateScore[] = [];
    const r = await findNearDuplicates({ hashes: ['0123456789abcdef', 'fedcba9876543210'], thumbs: [a, mirrored], featurePairs: [{ a: 0, b: 1, cosine: 0.9 }], options: { contentNeighbours: 0, onScore: (sc) => scores.push(sc) } });
    expect(r?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([[0, 1, 'mirrored']]);
    expect(r?.pairs[0]?.pixel).toBeGreaterThan(0.999);
    expect(scores[0]).toMatchObject({ plain: false, mirrored: true });
  });

  it('accepts hash twins that align and feature neighbours that align after a shift; rejects the rest', async () => {
    const a = texture(1);
    const thumbs = [a, a, shift(a, 5), texture(3), texture(4)];
    const hashes = ['0123456789abcdef', '0123456789abcdef', 'fedcba9876543210', '0123456789abcdee', 'fedcba9876543211'];
    // 3 shares a hash with 0 but not its pixels (its best plain match, it gets the alignment search
    // and does not line up: texture(2), a zoom of texture(1), would); 4 is a feature neighbour of 2 but not a copy.
    const r = await findNearDuplicates({
      hashes,
      thumbs,
      featurePairs: [
        { a: 0, b: 2, cosine: 0.9 },
        { a: 2, b: 4, cosine: 0.95 },
      ],
      splits: ['train', 'train', 'val', 'train', 'train'],
    });
    expect(r?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([
      [0, 1, 'aligned'],
      [0, 2, 'shifted'],
    ]);
    expect(r?.pairs[1]?.hamming).toBeGreaterThan(40);
    expect(r?.pairs[1]?.cosine).toBe(0.9);
    expect(r?.clusters).toHaveLength(1);
    expect(r?.clusters[0]).toMatchObject({ members: [0, 1, 2], leak: true });
  });

  it('finds mirrored and cropped copies among close feature neighbours, says how they matched, with every score reported; not other images', async () => {
    const a = texture(1);
    // texture(2) is nearly texture(1) zoomed out (sinusoids of 1.5 times the frequency): not used here.
    const thumbs = [a, mirrored(a), darker(mirrored(a)), texture(6), texture(5), cropped(a, 0.05)];
    const hashes = ['0123456789abcdef', 'fedcba9876543210', '00000000ffffffff', 'ffffffff00000000', 'f0f0f0f0f0f0f0f0', '0f0f0f0f0f0f0f0f'];
    const featurePairs = [
      { a: 0, b: 1, cosine: 0.97 },
      { a: 0, b: 2, cosine: 0.96 },
      { a: 0, b: 3, cosine: 0.95 },
      { a: 3, b: 4, cosine: 0.94 },
      { a: 0, b: 5, cosine: 0.93 },
    ];
    const scores: CandidateScore[] = [];
    // The trimmed-content hashes (content-box.ts) are off here: only the feature pairs are searched.
    const r = await findNearDuplicates({ hashes, thumbs, featurePairs, options: { onScore: (s) => scores.push(s), maxContentDistance: -1, contentNeighbours: 0 } });
    expect(r?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([
      [0, 1, 'mirrored'],
      [0, 2, 'mirrored'],
      [0, 5, 'rescaled'],
    ]);
    expect(scores).toHaveLength(5);
    for (const s of scores) expect(s.aligned).toBeLessThan(0.98);
    expect(scores.find((s) => s.a === 3 && s.b === 4)!.transformed).toBeLessThan(0.9);
    expect(scores.find((s) => s.a === 0 && s.b === 3)!.transformed).toBeLessThan(0.9);
    expect(scores.find((s) => s.b === 5)!.transformed).toBeGreaterThan(0.995);
    // Without the search (its threshold out of reach, and no floor under it) only an aligned or shifted copy passes: none here.
    const off = await findNearDuplicates({ hashes, thumbs, featurePairs, options: { minTransformed: 2, noFloor: true, maxContentDistance: -1, contentNeighbours: 0 } });
    expect(off?.pairs).toEqual([]);
  });

  it("gives each image's best plain match the alignment search: a cropped copy only its pHash found", async () => {
    const a = texture(5);
    const thumbs = [a, cropped(a, 0.1), texture(6)];
    const hashes = ['0123456789abcdef', '0123456789abcdee', '0123456789abcdec'];
    const scores: CandidateScore[] = [];
    const r = await findNearDuplicates({ hashes, thumbs, options: { maxContentDistance: -1, contentNeighbours: 0, onScore: (s) => scores.push(s) } });
    expect(r?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([[0, 1, 'rescaled']]);
    expect(scores.find((s) => s.b === 1)!.aligned).toBeLessThan(0.98);
    // Without it, hash candidates alone are not searched.
    const off = await findNearDuplicates({ hashes, thumbs, options: { maxContentDistance: -1, contentNeighbours: 0, searchBestAligned: false } });
    expect(off?.pairs).toEqual([]);
  });

  it('searches the content-feature pairs: a mirrored, padded copy neither hashes, features nor descriptors found', async () => {
    const a = texture(7);
    const thumbs = [a, padded(mirrored(a), 2), texture(8), texture(9)];
    const hashes = ['0123456789abcdef', 'fedcba9876543210', '00000000ffffffff', 'ffffffff00000000'];
    const none = { maxContentDistance: -1, contentNeighbours: 0, searchBestAligned: false };
    const off = await findNearDuplicates({ hashes, thumbs, options: none });
    expect(off?.pairs).toEqual([]);
    const scores: CandidateScore[] = [];
    const contentFeaturePairs = [
      { a: 1, b: 0, cosine: 0.9 },
      { a: 2, b: 3, cosine: 0.8 },
    ];
    const r = await findNearDuplicates({ hashes, thumbs, contentFeaturePairs, options: { ...none, onScore: (s) => scores.push(s) } });
    expect(r?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([[0, 1, 'mirrored']]);
    // Both searched, as pairs found by features (not by a descriptor alone); the look-alikes do not line up.
    expect(scores.map((s) => [s.a, s.b, s.descriptorOnly])).toEqual([
      [0, 1, false],
      [2, 3, false],
    ]);
    expect(scores.every((s) => s.transformed !== null)).toBe(true);
    await expect(findNearDuplicates({ hashes, thumbs, contentFeaturePairs: [{ a: 0, b: 4, cosine: 1 }] })).rejects.toThrow(/Content feature pair \(0, 4\) is not a pair of the 4 images/);
  });

  it('finds a padded, mirrored copy of a picture on black by its trimmed content, without features or a close pHash', async () => {
    // A 20-pixel texture on black (28 pixels), and a copy mirrored and framed by a 2-pixel grey pad (32).
    const onBlack = (t: GreyThumb, side: number): GreyThumb => {
      const pixels = new Uint8Array(side * side);
      const m = (side - t.width) / 2;
      for (let y = 0; y < t.height; y++) for (let x = 0; x < t.width; x++) pixels[(y + m) * side + x + m] = t.pixels[y * t.width + x]!;
      return { width: side, height: side, pixels };
    };
    const original = onBlack(texture(1, 20, 20), 28);
    const copy = onBlack(mirrored(original), 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (x < 2 || y < 2 || x >= 30 || y >= 30) copy.pixels[y * 32 + x] = 128;
    const thumbs = [original, copy, onBlack(texture(5, 20, 20), 28), onBlack(texture(6, 20, 20), 32)];
    const hashes = ['0123456789abcdef', 'fedcba9876543210', 'f0f0f0f0f0f0f0f0', '0f0f0f0f0f0f0f0f'];
    const r = await findNearDuplicates({ hashes, thumbs });
    expect(r?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([[0, 1, 'mirrored']]);
    expect(r?.pairs[0]?.cosine).toBeNull();
    // The content descriptors alone find it too (content-neighbours.ts); without either nothing makes it a candidate.
    expect((await findNearDuplicates({ hashes, thumbs, options: { maxContentDistance: -1 } }))?.pairs.map((p) => [p.a, p.b, p.match])).toEqual([[0, 1, 'mirrored']]);
    expect((await findNearDuplicates({ hashes, thumbs, options: { maxContentDistance: -1, contentNeighbours: 0 } }))?.pairs).toEqual([]);
  });

  it('stops when cancelled and refuses pairs outside the images', async () => {
    const thumbs = Array.from({ length: 100 }, () => texture(1));
    const hashes = thumbs.map(() => '0123456789abcdef');
    const controller = new AbortController();
    controller.abort();
    // 100 identical images: 4,950 candidate pairs; a cancelled call stops at its first yield.
    expect(await findNearDuplicates({ hashes, thumbs }, controller.signal)).toBeNull();
    await expect(findNearDuplicates({ hashes: hashes.slice(0, 2), thumbs: thumbs.slice(0, 2), featurePairs: [{ a: 0, b: 5, cosine: 1 }] })).rejects.toThrow(/\(0, 5\)/);
    await expect(findNearDuplicates({ hashes: hashes.slice(0, 2), thumbs: thumbs.slice(0, 1) })).rejects.toThrow(/2 hashes but 1 thumbnails/);
  });
});
