/**
 * Downloading Keras catalog weights as a job, against a mirror on 127.0.0.1 that this test starts
 * and that serves weight files the test writes in Keras' layout (seeded weights: the genuine files
 * cannot be fetched here). The mirror honours HTTP Range and can drop the connection part-way or
 * send slowly. Checked: progress in bytes, resume from the partial file, the md5 Keras pins (a
 * wrong one refused, nothing installed), MobileNetV2 (no pinned hash) checked structurally and by
 * its published size, cancel.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadResult } from '../../../src/shared/api';
import type { JobInfo } from '../../../src/shared/api';
import { Studio } from '../../../src/main/host/studio';
import { catalogModel, type KerasCatalogModel } from '../../../src/main/models/catalog';
import { partialPath } from '../../../src/main/models/download';
import { ModelLibrary } from '../../../src/main/models/library';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { writeCatalogWeights } from '../../fixtures/keras';

const MNV2 = 'mobilenet_v2_notop';
const EFF = 'efficientnetb0_notop';
const dirs: string[] = [];
const tmp = (prefix: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};

interface Mirror {
  url: string;
  /** Range headers of the requests, in order ('' for none). */
  ranges: string[];
  /** The next full request sends this many bytes, then drops the connection. */
  dropAfter: number | null;
  /** Send in small timed chunks (to cancel part-way). */
  slow: boolean;
  close(): Promise<void>;
}

async function startMirror(root: string): Promise<Mirror> {
  const state = { ranges: [] as string[], dropAfter: null as number | null, slow: false };
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const file = path.join(root, rel);
    state.ranges.push(req.headers.range ?? '');
    if (rel.split('/').includes('..') || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const data = fs.readFileSync(file);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= data.length && m) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    const body = data.subarray(start);
    res.writeHead(m ? 206 : 200, { 'content-length': body.length, 'accept-ranges': 'bytes', ...(m ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}) });
    if (state.dropAfter !== null && !m) {
      const n = state.dropAfter;
      state.dropAfter = null;
      res.write(body.subarray(0, n), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    if (!state.slow) {
      res.end(body);
      return;
    }
    let at = 0;
    const tick = setInterval(() => {
      if (res.destroyed || at >= body.length) {
        clearInterval(tick);
        res.end();
        return;
      }
      res.write(body.subarray(at, at + 64 * 1024));
      at += 64 * 1024;
    }, 20);
    res.on('close', () => clearInterval(tick));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

let mirror: Mirror;
let mirrorRoot: string;
let effMd5: string;
const studios: Studio[] = [];

beforeAll(async () => {
  mirrorRoot = tmp('ts-keras-mirror-');
  // MobileNetV2 (no top) padded to the published size (Keras pins no hash: the size is what is checked);
  // EfficientNetB0 (no top) checked against an md5.
  const mnv2 = catalogModel(MNV2) as KerasCatalogModel;
  await writeCatalogWeights(mnv2, path.join(mirrorRoot, MNV2, mnv2.fileName), 21, true);
  const eff = catalogModel(EFF) as KerasCatalogModel;
  const effFile = path.join(mirrorRoot, EFF, eff.fileName);
  await writeCatalogWeights(eff, effFile, 22);
  effMd5 = createHash('md5').update(fs.readFileSync(effFile)).digest('hex');
  mirror = await startMirror(mirrorRoot);
}, 120_000);

afterAll(async () => {
  for (const s of studios) await s.dispose();
  await mirror?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function studio(): Studio {
  const s = new Studio({ userDataDir: tmp('ts-keras-dl-home-'), mode: 'test', modelMirror: mirror.url, builtInModels: null }); // only what is downloaded
  studios.push(s);
  return s;
}

async function download(s: Studio, id: string): Promise<JobInfo> {
  return s.jobs.wait((await s.call('downloadModel', { id })).id);
}

describe('Keras catalog downloads', () => {
  it('lists the Keras entries with their preprocessing, pinned hashes and published figures', async () => {
    const catalog = await studio().call('listCatalog', {});
    const byId = new Map(catalog.map((c) => [c.id, c]));
    expect(byId.get('vgg16_notop')).toMatchObject({ family: 'vgg16', preprocessing: 'caffe', params: 14_714_688, includeTop: false, hash: { algorithm: 'md5', value: '6d6bbae143d832006294945121d1f1fc' } });
    expect(byId.get('resnet50')).toMatchObject({ preprocessing: 'caffe', params: 25_636_712, top1: 0.749, hash: { value: '2cb95161c43110f7111970584f804107' }, url: 'https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5' });
    expect(byId.get(MNV2)).toMatchObject({ preprocessing: 'tf', params: 2_257_984, hash: null, verifiedDigest: false, sizeBytes: 9_406_464, sizeExact: true });
    expect(byId.get('efficientnetb0')).toMatchObject({ preprocessing: 'raw', params: 5_330_571, top1: 0.771, hash: { value: '902e53a9f72be733fc0bcb005b3ebbac' } });
    expect(catalogModel('efficientnetb0_notop')?.url).toBe('https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5');
  });

  it('downloads MobileNetV2 as a job with byte progress, checks it structurally and by size, installs it, and the engine loads it', async () => {
    const s = studio();
    const progress: JobInfo['progress'][] = [];
    s.on('job.progress', (j) => progress.push(j.progress));
    // Sent at a network's pace (~3 s): from the loopback all 9 MB can arrive within one 100 ms progress interval.
    mirror.slow = true;
    const done = await download(s, MNV2).finally(() => (mirror.slow = false));
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect((done.result as DownloadResult).model).toMatchObject({ id: MNV2, format: 'keras-weights', architecture: 'mobilenet_v2', includeTop: false, preprocessing: 'tf', verified: expect.stringContaining('by size') });
    expect(progress.some((p) => p.total === 9_406_464 && p.done > 0)).toBe(true);
    const dir = s.models.dirOf(MNV2);
    expect(fs.readdirSync(dir).sort()).toEqual(['studio-model.json', 'weights.h5']);
    const loaded = await loadLayersModel(dir);
    expect(loaded.model.countParams()).toBe(2_257_984);
    loaded.model.dispose();
    expect((await download(s, MNV2)).result).toMatchObject({ cached: true });
  });

  it('resumes a dropped download with an HTTP Range request', async () => {
    const s = studio();
    mirror.dropAfter = 3_000_000;
    const before = mirror.ranges.length;
    const first = await download(s, MNV2);
    expect(first).toMatchObject({ state: 'failed', error: { code: 'download_failed', message: expect.stringMatching(/connection dropped after 3000000 of 9406464 bytes.*resumes/) } });
    const partial = partialPath(s.models.root, catalogModel(MNV2) as KerasCatalogModel);
    expect(fs.statSync(partial).size).toBe(3_000_000);
    expect(await s.call('listModels', {})).toEqual([]);
    const second = await download(s, MNV2);
    expect(second.state, JSON.stringify(second.error)).toBe('succeeded');
    expect(mirror.ranges.slice(before)).toEqual(['', 'bytes=3000000-']);
    expect(fs.statSync(path.join(s.models.dirOf(MNV2), 'weights.h5')).size).toBe(9_406_464);
    expect(fs.existsSync(partial)).toBe(false);
  });

  it("refuses a file whose md5 is not the one Keras pins, and installs one whose md5 matches", async () => {
    const s = studio();
    const refused = await download(s, EFF);
    expect(refused).toMatchObject({ state: 'failed', error: { code: 'download_failed', message: expect.stringContaining(`has md5 ${effMd5}, but Keras pins 50bc09e76180e00e4465e1a485ddc09d`) } });
    expect(await s.call('listModels', {})).toEqual([]);
    expect(fs.readdirSync(s.models.root).filter((n) => n.startsWith('.'))).toEqual([]); // the refused file is not kept
    // The same file is accepted where the expected md5 is its own (a site's mirror catalog).
    const entry = { ...(catalogModel(EFF) as KerasCatalogModel), url: `${mirror.url}${EFF}/efficientnetb0_notop.h5`, hash: { algorithm: 'md5' as const, value: effMd5, pinnedIn: 'test' } };
    const library = new ModelLibrary(tmp('ts-keras-dl-lib-'));
    const { model } = await library.download(entry);
    expect(model).toMatchObject({ id: EFF, md5: effMd5, architecture: 'efficientnetb0', preprocessing: 'raw', verified: expect.stringContaining('md5 matches') });
  });

  it('a cancelled download installs nothing and keeps the partial file to resume', async () => {
    const s = studio();
    mirror.slow = true;
    try {
      const job = await s.call('downloadModel', { id: MNV2 });
      await new Promise<void>((resolve) => {
        const off = s.on('job.progress', (j) => {
          if (j.id === job.id && j.progress.done > 500_000) {
            off();
            resolve();
          }
        });
      });
      await s.call('cancelJob', { id: job.id });
      const done = await s.jobs.wait(job.id);
      expect(done.state).toBe('cancelled');
      expect(await s.call('listModels', {})).toEqual([]);
      expect(fs.statSync(partialPath(s.models.root, catalogModel(MNV2) as KerasCatalogModel)).size).toBeGreaterThan(500_000);
    } finally {
      mirror.slow = false;
    }
  });
});
