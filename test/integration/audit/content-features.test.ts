/**
 * Content features (the engine's featureNeighbours with `content`: each image's content box, its
 * flat margins off, through MobileNet as it is and mirrored, summed): a digit copied with a pad, a
 * crop or a mirror among three alterations has its original as its nearest by content features far
 * more often than by the whole frame's; the content rows are cached apart from the frame's, and a
 * file that cannot be decoded is reported, not fatal. Real sharp decoding, real MobileNet weights,
 * the engine's own method in this process.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neighbours } from '../../../src/main/engine/audit-methods';
import { initBackend } from '../../../src/main/engine/backend';
import { CONTENT_FEATURE_MIN_COSINE } from '../../../src/main/audit/near-duplicates';
import type { EngineEvent } from '../../../src/main/engine/protocol';
import { alteredCopy, type Alteration } from '../../fixtures/altered-copies';
import { writeDigitItems } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-content-features-'));
  await initBackend();
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Each with a pad, a crop or a mirror: what moves the frame's features. */
const TRIPLES: Alteration[][] = [
  ['upscaled', 'cropped', 'padded'],
  ['downscaled', 'brightness-contrast', 'padded'],
  ['cropped', 'padded', 'mirrored'],
  ['upscaled', 'padded', 'mirrored'],
  ['downscaled', 'recompressed', 'mirrored'],
  ['brightness-contrast', 'cropped', 'padded'],
  ['recompressed', 'cropped', 'mirrored'],
  ['upscaled', 'brightness-contrast', 'padded'],
  ['downscaled', 'cropped', 'padded'],
  ['padded', 'mirrored', 'brightness-contrast'],
];

const source = (cacheDir: string, items: { hash: string; path: string }[]) => ({ modelDir: MODEL_025, modelId: path.basename(MODEL_025), cacheDir, items });

describe('content features', () => {
  it('digits: copies changed three ways lie nearest their originals by content features, far more often than by the frame', async () => {
    const digits = await writeDigitItems(path.join(dir, 'digits'), 20);
    const items = digits.map((d) => ({ hash: d.hash, path: d.path }));
    await fs.mkdir(path.join(dir, 'copies'));
    for (const [i, kinds] of TRIPLES.entries()) {
      const data = await alteredCopy(digits[i]!.path, kinds);
      const file = path.join(dir, 'copies', `${i}-${kinds.join('+')}.png`);
      await fs.writeFile(file, data);
      items.push({ hash: createHash('sha256').update(data).digest('hex'), path: file });
    }
    // A file named as an image that is none: reported as failed by both passes, the rest go on.
    const bad = path.join(dir, 'copies', 'x.png');
    await fs.writeFile(bad, 'not an image');
    items.push({ hash: 'not-an-image', path: bad });
    const n = digits.length;
    const signal = new AbortController().signal;
    const events: EngineEvent[] = [];
    const cacheDir = path.join(dir, 'cache');
    const content = await neighbours({ source: source(cacheDir, items), k: 1, minCosine: CONTENT_FEATURE_MIN_COSINE, content: true }, signal, (e) => events.push(e));
    const frame = await neighbours({ source: source(cacheDir, items), k: 1, minCosine: CONTENT_FEATURE_MIN_COSINE }, signal, () => undefined);
    const found = (pairs: { a: number; b: number }[]) => TRIPLES.filter((_, i) => pairs.some((p) => p.a === i && p.b === n + i)).length;
    // Measured: 7 of 10 by content features, 1 by the frame's (recompressed, cropped and mirrored);
    // the three missed were downscaled or had brightness and contrast changed and were padded.
    expect(found(content.pairs)).toBeGreaterThanOrEqual(7);
    expect(found(frame.pairs)).toBeLessThanOrEqual(found(content.pairs) - 4);
    expect(content.failed).toEqual([items.length - 1]);
    expect(frame.failed).toEqual([items.length - 1]);
    // Both content passes extracted (as it is and mirrored), with progress.
    expect(events.filter((e) => e.type === 'stage' && e.stage === 'extract')).toHaveLength(2);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    // The frame's features are cached apart: the same as from a cache that never held content rows.
    const fresh = await neighbours({ source: source(path.join(dir, 'fresh'), items), k: 1, minCosine: CONTENT_FEATURE_MIN_COSINE }, signal, () => undefined);
    expect(frame.pairs).toEqual(fresh.pairs);
    // And the content rows come from the cache the second time: nothing extracted again.
    const again = await neighbours({ source: source(cacheDir, items), k: 1, minCosine: CONTENT_FEATURE_MIN_COSINE, content: true }, signal, () => undefined);
    expect(again.pairs).toEqual(content.pairs);
  });

  it('a content pass cancelled during extraction rejects as cancelled', async () => {
    const digits = await writeDigitItems(path.join(dir, 'cancel'), 10);
    const ctl = new AbortController();
    const items = digits.map((d) => ({ hash: d.hash, path: d.path }));
    const p = neighbours({ source: source(path.join(dir, 'cache-cancel'), items), k: 1, content: true }, ctl.signal, (e) => {
      if (e.type === 'progress') ctl.abort();
    });
    await expect(p).rejects.toThrow(/Cancelled/);
  });
});
