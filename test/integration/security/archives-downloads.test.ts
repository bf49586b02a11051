/**
 * Zip bombs and tampered model manifests (issue 13): a zip of many 1 MB zero-filled entries, a zip
 * whose central directory adds up to more than the disk has free, and a model.json that names a
 * shard on another host. Real zips on disk, real HTTP servers on loopback.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { extractZip } from '../../../src/main/media/zip';
import { downloadModel, shardUrl } from '../../../src/main/models/download';
import { catalogModel, type TfjsCatalogModel } from '../../../src/main/models/catalog';
import { writeZip } from '../../fixtures/images';
import { MODEL_025 } from '../../fixtures/assets';
import { removeTempDirs, tempDir } from './helpers';


afterAll(removeTempDirs);

/**
 * A zip whose central directory lists `count` entries that all point at one deflated body
 * claiming `claim` bytes (a non-recursive bomb: tiny on disk, huge when added up).
 */
function overlappingZip(file: string, body: Buffer, claim: number, count: number): void {
  const deflated = zlib.deflateRawSync(body);
  const local = Buffer.alloc(30);
  const name = Buffer.from('a.png');
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(zlib.crc32(body) >>> 0, 14);
  local.writeUInt32LE(deflated.length, 18);
  local.writeUInt32LE(claim, 22);
  local.writeUInt16LE(name.length, 26);
  const centrals: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const n = Buffer.from(`img${i}.png`);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(zlib.crc32(body) >>> 0, 16);
    c.writeUInt32LE(deflated.length, 20);
    c.writeUInt32LE(claim, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(0, 42);
    centrals.push(c, n);
  }
  const cd = Buffer.concat(centrals);
  const head = Buffer.concat([local, name, deflated]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(head.length, 16);
  fs.writeFileSync(file, Buffer.concat([head, cd, end]));
}

describe('zip bombs', () => {
  it('many 1 MB zero-filled entries: each is refused by its compression ratio, nothing of them is written', async () => {
    const dir = tempDir();
    const zip = path.join(dir, 'zeros.zip');
    writeZip(zip, [
      ...Array.from({ length: 40 }, (_, i) => ({ name: `z/${i}.png`, data: Buffer.alloc(1024 * 1024), deflate: true })),
      { name: 'z/ok.txt', data: Buffer.from('a small file'), deflate: true },
    ]);
    expect(fs.statSync(zip).size).toBeLessThan(100 * 1024);
    const out = path.join(dir, 'out');
    const r = await extractZip(zip, out);
    expect(r.extracted).toBe(1);
    expect(r.skipped).toHaveLength(40);
    for (const s of r.skipped) expect(s.reason).toMatch(/compression ratio \d+:1 is too high/);
    expect(fs.readdirSync(path.join(out, 'z'))).toEqual(['ok.txt']);
  });

  it('a central directory that adds up past the free disk space is refused before anything is written', async () => {
    const dir = tempDir();
    const zip = path.join(dir, 'overlap.zip');
    // Random bytes do not compress: a claim of 150x the body passes the per-entry ratio check.
    const body = randomBytes(1 << 20);
    const claim = 150 * body.length;
    const s = fs.statfsSync(dir);
    const count = Math.ceil((s.bavail * s.bsize) / claim) + 1;
    overlappingZip(zip, body, claim, count);
    const out = path.join(dir, 'out');
    // The fixed 20 GB limit lifted, so that the disk's own free space is what refuses it.
    await expect(extractZip(zip, out, { limits: { maxTotalBytes: Infinity, maxEntries: Infinity } })).rejects.toMatchObject({
      code: 'bad_input',
      message: expect.stringMatching(/would expand to [\d.]+ GB, more than the [\d.]+ GB free on the project's disk; nothing was extracted/),
    });
    expect(fs.readdirSync(out)).toEqual([]);
    // And with the default limits, the fixed total refuses it first.
    await expect(extractZip(zip, out, { limits: { maxEntries: Infinity } })).rejects.toMatchObject({ message: expect.stringMatching(/would expand to more than/) });
  });
});

describe('model download', () => {
  it('a shard URL must stay beside model.json on the catalog host', () => {
    const base = 'https://models.example/tfjs/m/model.json';
    expect(shardUrl('group1-shard1of2', base)).toBe('https://models.example/tfjs/m/group1-shard1of2');
    expect(shardUrl('sub/shard', base)).toBe('https://models.example/tfjs/m/sub/shard');
    for (const bad of ['https://evil.example/shard', '//evil.example/shard', 'http://models.example/tfjs/m/shard', '/etc/passwd', '../other/shard', 'file:///etc/passwd', 'data:,x', 'javascript:alert(1)'])
      expect(() => shardUrl(bad, base), bad).toThrow(/outside its folder on models\.example/);
  });

  it('a manifest naming a shard on another host fails the download, and that host is never asked', async () => {
    const requests: string[] = [];
    const foreign: string[] = [];
    const mirror = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const name = path.basename(req.url ?? '');
      const file = path.join(MODEL_025, name);
      if (!fs.existsSync(file)) return void res.writeHead(404).end();
      let data = fs.readFileSync(file);
      if (name === 'model.json') {
        const json = JSON.parse(String(data)) as { weightsManifest: { paths: string[] }[] };
        json.weightsManifest[0]!.paths[0] = `http://localhost:${(other.address() as AddressInfo).port}/stolen.bin`;
        data = Buffer.from(JSON.stringify(json));
      }
      res.writeHead(200).end(data);
    });
    const other = http.createServer((req, res) => {
      foreign.push(req.url ?? '');
      res.writeHead(200).end('x');
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const entry = { ...(catalogModel('mobilenet_v1_0.25_224') as TfjsCatalogModel), modelJsonSha256: undefined, url: `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/m/model.json` };
      const cache = tempDir();
      await expect(downloadModel(entry, cache)).rejects.toMatchObject({ code: 'MODEL_MANIFEST_INVALID' });
      expect(foreign).toEqual([]);
      expect(requests).toContain('/m/model.json');
      expect(fs.readdirSync(cache)).toEqual([]);
    } finally {
      mirror.close();
      other.close();
    }
  });
});
