/**
 * Catalog downloads through the contract (listCatalog, downloadModel as a job) and the CLI
 * (`models download`), against a local mirror serving the shared model files: this machine cannot
 * reach the publisher. Verified, cached once per machine, cancellable, nothing half-installed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../../src/shared/api';
import { Studio } from '../../../src/main/host/studio';
import { MODELS } from '../../fixtures/assets';
import { cli, removeTempDirs, serveFolder, tempDir } from '../helpers';

const ID = 'mobilenet_v1_0.25_224';
let mirror: Awaited<ReturnType<typeof serveFolder>>;

beforeAll(async () => {
  mirror = await serveFolder(MODELS);
});
afterAll(async () => {
  await mirror.close();
  removeTempDirs();
});

function studioWith(modelMirror: string): Studio {
  return new Studio({ userDataDir: tempDir('ts-download-home-'), mode: 'test', modelMirror, builtInModels: null }); // only what is downloaded
}

/** Entries of the models folder other than installed models: temp folders of downloads. */
const leftovers = (studio: Studio): string[] => (fs.existsSync(studio.models.root) ? fs.readdirSync(studio.models.root).filter((n) => n.startsWith('.')) : []);

describe('downloadModel and listCatalog', () => {
  it('lists the catalog, downloads as a job with progress, then reuses the installed copy', async () => {
    const studio = studioWith(mirror.url);
    try {
      const catalog = await studio.call('listCatalog', {});
      expect(catalog.map((m) => m.id)).toEqual([
        'mobilenet_v1_0.25_224', 'mobilenet_v1_0.50_224', 'mobilenet_v1_0.75_224', 'mobilenet_v1_1.0_224',
        'vgg16_notop', 'vgg16', 'resnet50_notop', 'resnet50', 'mobilenet_v2_notop', 'mobilenet_v2', 'efficientnetb0_notop', 'efficientnetb0',
      ]);
      expect(catalog[0]).toMatchObject({ licence: 'Apache-2.0', inputSize: 224, scaling: [-1, 1], verifiedDigest: true, installed: false });
      const progress: JobInfo['progress'][] = [];
      studio.on('job.progress', (j) => progress.push(j.progress));
      const before = mirror.requests.length;
      const job = await studio.call('downloadModel', { id: ID });
      const done = await studio.jobs.wait(job);
      expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
      expect(done.result).toMatchObject({ cached: false, model: { id: ID, source: 'catalog', layers: 88, origin: `${mirror.url}${ID}/model.json` } });
      expect(mirror.requests.length - before).toBe(56); // model.json + 55 shards
      // Progress events are throttled: some arrive, counting shards.
      expect(progress.some((p) => p.total === 55 && p.done > 0)).toBe(true);
      expect((await studio.call('listModels', {})).map((m) => m.id)).toEqual([ID]);
      expect((await studio.call('listCatalog', {}))[0]!.installed).toBe(true);

      const again = await studio.jobs.wait((await studio.call('downloadModel', { id: ID })).id);
      expect(again.result).toMatchObject({ cached: true });
      expect(mirror.requests.length - before).toBe(56);
      expect(leftovers(studio)).toEqual([]);
    } finally {
      await studio.dispose();
    }
  });

  it('a tampered model.json or a missing shard fails the job and installs nothing', async () => {
    const cases: [(rel: string, data: Buffer) => Buffer | null, RegExp][] = [
      [(rel, data) => (rel.endsWith('model.json') ? Buffer.concat([data, Buffer.from('\n')]) : data), /sha256/],
      [(rel, data) => (rel.endsWith('group9-shard1of1') ? null : data), /group9-shard1of1: HTTP 404/],
    ];
    for (const [mutate, message] of cases) {
      const broken = await serveFolder(MODELS, mutate);
      const studio = studioWith(broken.url);
      try {
        const done = await studio.jobs.wait((await studio.call('downloadModel', { id: ID })).id);
        expect(done).toMatchObject({ state: 'failed', error: { code: 'download_failed', message: expect.stringMatching(message) } });
        expect(await studio.call('listModels', {})).toEqual([]);
        expect(leftovers(studio)).toEqual([]);
      } finally {
        await studio.dispose();
        await broken.close();
      }
    }
  });

  it('a cancelled download installs nothing', async () => {
    const studio = studioWith(mirror.url);
    try {
      const job = await studio.call('downloadModel', { id: ID });
      await studio.call('cancelJob', { id: job.id });
      const done = await studio.jobs.wait(job.id);
      expect(done.state).toBe('cancelled');
      expect(await studio.call('listModels', {})).toEqual([]);
      expect(leftovers(studio)).toEqual([]);
    } finally {
      await studio.dispose();
    }
  });

  it('an unknown model is bad input, named with the catalog', async () => {
    const studio = studioWith(mirror.url);
    try {
      await expect(studio.call('downloadModel', { id: 'resnet152' })).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('mobilenet_v1_0.25_224') });
    } finally {
      await studio.dispose();
    }
  });
});

describe('transfer-studio models download', () => {
  it('downloads into the machine\'s models, lists it, and exits 2 for an unknown name', async () => {
    const home = tempDir('ts-download-cli-');
    const env = { TRANSFER_STUDIO_MODEL_MIRROR: mirror.url };
    const r = await cli(home, ['models', 'download', ID, '--json'], { env });
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({ ok: true, cached: false, model: { id: ID, source: 'catalog' } });
    expect(fs.existsSync(path.join(home, 'models', ID, 'model.json'))).toBe(true);
    const again = await cli(home, ['models', 'download', ID], { env });
    expect(again.out).toMatch(/already installed/);
    const list = await cli(home, ['models', 'list', '--json']);
    expect(list.json).toMatchObject({ ok: true, models: [{ id: ID, source: 'catalog' }] });
    expect((list.json?.catalog as { id: string; installed: boolean }[]).find((m) => m.id === ID)?.installed).toBe(true);
    const unknown = await cli(home, ['models', 'download', 'resnet152']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/"resnet152" is not in the model catalog/);
  });
});
