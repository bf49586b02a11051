/** Catalog download, with fetch served from the shared model folder (no internet on test machines). */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, catalogModel, type TfjsCatalogModel } from '../../../src/main/models/catalog';
import { downloadModel } from '../../../src/main/models/download';
import { MODEL_025 } from '../../fixtures/assets';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-download-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A fetch that serves https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/* from disk. */
function diskFetch(mutate?: (name: string, data: Buffer) => Buffer | null): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    const name = url.split('/').pop() ?? '';
    let data: Buffer | null;
    try {
      data = await fs.readFile(path.join(MODEL_025, name));
    } catch {
      return new Response('not found', { status: 404 });
    }
    data = mutate ? mutate(name, data) : data;
    if (!data) return new Response('not found', { status: 404 });
    return new Response(new Uint8Array(data), { status: 200 });
  }) as typeof fetch;
}

describe('model catalog and download', () => {
  it('lists the MobileNet v1 family at 224 with licence and feature layer', () => {
    const mobilenets = CATALOG.filter((m): m is TfjsCatalogModel => m.kind === 'tfjs');
    expect(mobilenets.map((m) => m.alpha)).toEqual([0.25, 0.5, 0.75, 1]);
    for (const m of mobilenets) {
      expect(m.url).toMatch(/^https:\/\/storage\.googleapis\.com\/tfjs-models\/tfjs\/mobilenet_v1_[\d.]+_224\/model\.json$/);
      expect(m).toMatchObject({ licence: 'Apache-2.0', inputSize: 224, scaling: [-1, 1], defaultFeatureLayer: 'global_average_pooling2d_1' });
    }
  });

  it('downloads, verifies and renames into the cache; a second call uses the cache', async () => {
    const entry = catalogModel('mobilenet_v1_0.25_224') as TfjsCatalogModel | undefined;
    if (!entry) throw new Error('missing catalog entry');
    let calls = 0;
    const f = diskFetch((_n, d) => {
      calls++;
      return d;
    });
    const folder = await downloadModel(entry, path.join(tmp, 'cache'), { fetch: f });
    expect(folder.dir).toBe(path.join(tmp, 'cache', entry.id));
    expect(folder.shards).toHaveLength(55);
    expect(calls).toBe(56);
    await downloadModel(entry, path.join(tmp, 'cache'), { fetch: f });
    expect(calls).toBe(56);
    expect((await fs.readdir(path.join(tmp, 'cache'))).filter((n) => n.startsWith('.download'))).toEqual([]);
  });

  it('a truncated shard or a wrong model.json fails and leaves nothing behind', async () => {
    const entry = catalogModel('mobilenet_v1_0.25_224') as TfjsCatalogModel | undefined;
    if (!entry) throw new Error('missing catalog entry');
    const cache = path.join(tmp, 'cache-bad');
    await expect(downloadModel(entry, cache, { fetch: diskFetch((n, d) => (n === 'group31-shard1of1' ? d.subarray(0, 100) : d)) })).rejects.toMatchObject({
      code: 'SHARD_SIZE_MISMATCH',
    });
    await expect(downloadModel(entry, cache, { fetch: diskFetch((n, d) => (n === 'model.json' ? Buffer.concat([d, Buffer.from(' ')]) : d)) })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    await expect(downloadModel(entry, cache, { fetch: diskFetch((n, d) => (n === 'group7-shard1of1' ? null : d)) })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringContaining('HTTP 404'),
    });
    expect(await fs.readdir(cache)).toEqual([]);
  });
});
