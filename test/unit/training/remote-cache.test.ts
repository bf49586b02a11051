/**
 * A server engine's cache: content-addressed images checked against their hash, model folders
 * committed only when they match theirs, least recently used evicted past the size limit (never
 * what the current job uses), and every reference outside its folders refused.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteCache } from '../../../src/main/engine/remote-cache';
import { folderHash } from '../../../src/shared/node/folder-hash';

const dirs: string[] = [];
const temp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-remote-cache-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const blob = (n: number, size = 100): { hash: string; bytes: Uint8Array } => {
  const bytes = new Uint8Array(size).fill(n);
  return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
};

describe('a server engine cache', () => {
  it('keeps images by hash and refuses bytes that do not match theirs', async () => {
    const cache = new RemoteCache(temp(), 10_000);
    const a = blob(1);
    const r = await cache.putBlobs({ blobs: [a, { hash: blob(2).hash, bytes: blob(3).bytes }] });
    expect(r).toEqual({ stored: 1, rejected: [blob(2).hash] });
    expect(cache.missing({ refs: [`blobs/${a.hash}`, `blobs/${blob(2).hash}`] }).missing).toEqual([`blobs/${blob(2).hash}`]);
    expect(fs.readFileSync(cache.resolve(`blobs/${a.hash}`, 'image'))).toEqual(Buffer.from(a.bytes));
  });

  it('lets a reader wait for an image the host is still sending, until it lands or will not come', async () => {
    const cache = new RemoteCache(temp(), 1e9);
    const [a, b, c] = [blob(1), blob(2), blob(3)];
    cache.missing({ refs: [a, b, c].map((x) => `blobs/${x.hash}`), expect: true });
    const landed: string[] = [];
    const wait = (x: { hash: string }) => cache.arrival(cache.resolve(`blobs/${x.hash}`, 'image')).then(() => landed.push(x.hash));
    const waits = [wait(a), wait(b), wait(c)];
    await new Promise((r) => setImmediate(r));
    expect(landed).toEqual([]);
    await cache.putBlobs({ blobs: [a], skipped: [b.hash] });
    await new Promise((r) => setImmediate(r));
    expect(landed.sort()).toEqual([a.hash, b.hash].sort());
    cache.giveUpWaiting(); // the host went away: c will never come
    await Promise.all(waits);
    expect(landed).toHaveLength(3);
    // An image nobody announced is read at once.
    await cache.arrival(cache.resolve(`blobs/${blob(4).hash}`, 'image'));
  });

  it('evicts the least recently used images past its limit, never those of the current job', async () => {
    const root = temp();
    const cache = new RemoteCache(root, 350);
    const [a, b, c, d] = [blob(1), blob(2), blob(3), blob(4)];
    cache.missing({ refs: [] });
    // One call each: within a call the files are written together, in no set order.
    for (const x of [a, b, c]) await cache.putBlobs({ blobs: [x] });
    // A new job uses a (so it is recent and pinned), then sends d: b, the oldest unused, goes.
    expect(cache.missing({ refs: [`blobs/${a.hash}`, `blobs/${d.hash}`] }).missing).toEqual([`blobs/${d.hash}`]);
    await cache.putBlobs({ blobs: [d] });
    expect(cache.sizeBytes).toBeLessThanOrEqual(350);
    expect(fs.existsSync(path.join(root, 'blobs', b.hash))).toBe(false);
    for (const kept of [a, c, d]) expect(fs.existsSync(path.join(root, 'blobs', kept.hash))).toBe(true);
    // The order survives a restart.
    expect(new RemoteCache(root, 350).sizeBytes).toBe(300);
  });

  it('commits a model folder only when it matches its hash', async () => {
    const src = temp();
    fs.writeFileSync(path.join(src, 'model.json'), '{"m":1}');
    fs.writeFileSync(path.join(src, 'weights.bin'), Buffer.alloc(64, 7));
    const hash = await folderHash(src);
    const cache = new RemoteCache(temp(), 1e9);
    for (const file of ['model.json', 'weights.bin']) await cache.putFile({ ref: `models/${hash}`, file, offset: 0, bytes: fs.readFileSync(path.join(src, file)) });
    expect(await cache.commit({ ref: `models/${hash}` })).toEqual({ files: 2 });
    expect(await folderHash(cache.resolve(`models/${hash}`, 'model'))).toBe(hash);
    const other = 'c'.repeat(64);
    await cache.putFile({ ref: `models/${other}`, file: 'model.json', offset: 0, bytes: new Uint8Array([1]) });
    await expect(cache.commit({ ref: `models/${other}` })).rejects.toThrow(/does not match its hash/);
  });

  it('holds a run folder for one engine at a time, and takes over the hold of a process that is gone', async () => {
    const cache = new RemoteCache(temp(), 1e9);
    const run = cache.resolve('projects/k/runs/3', 'run');
    const release = await cache.holdRun(run);
    let second = false;
    const next = cache.holdRun(run).then((r) => {
      second = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(second).toBe(false);
    release();
    (await next)();
    fs.writeFileSync(`${run}.lock`, '999999999');
    (await cache.holdRun(run, 60_000))();
    expect(fs.existsSync(`${run}.lock`)).toBe(false);
  });

  it('refuses every path outside its folders', async () => {
    const cache = new RemoteCache(temp(), 1e9);
    const refused = /reads and writes only its own cache folder/;
    expect(() => cache.resolve('/etc/passwd', 'image')).toThrow(refused);
    expect(() => cache.resolve(`blobs/../../${'a'.repeat(64)}`, 'image')).toThrow(refused);
    expect(() => cache.resolve('projects/k/runs/../../..', 'run')).toThrow(refused);
    expect(() => cache.resolve('projects/k/cache', 'run')).toThrow(refused);
    expect(() => cache.resolve('projects/k/runs/..', 'run')).toThrow(refused);
    // An image's root on the server is its blobs folder, nothing else.
    expect(cache.resolve('blobs', 'root')).toBe(path.join(cache.root, 'blobs'));
    expect(() => cache.resolve('/home/ana/photos', 'root')).toThrow(refused);
    expect(() => cache.resolve('projects/k/out/.', 'output')).toThrow(refused);
    await expect(cache.read({ ref: 'projects/k/runs/1', file: '../../../x', offset: 0, length: 1 })).rejects.toThrow(refused);
    await expect(cache.putFile({ ref: 'projects/k/runs/1', file: '/etc/x', offset: 0, bytes: new Uint8Array(1) })).rejects.toThrow(refused);
    await expect(cache.list({ ref: 'blobs' })).rejects.toThrow(refused);
  });
});
