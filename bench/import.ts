/**
 * Import and gallery benchmarks. `npx tsx bench/import.ts [small|large|sweep|rss|query ...]`
 * (default: all). Test images are generated once into /tmp/ts-bench and reused.
 *   small  import throughput, 10,000 small PNGs (64x64, 10 class folders)
 *   large  import throughput, 200 JPEGs of 4000x3000
 *   sweep  images/s by sharp operations in flight (1..4), on 2,000 small and 40 large
 *   rss    peak RSS during a 100,000-image import (32x32 PNGs), sampled every 100 ms
 *   query  gallery page queries on the 100,000-row project (run after rss)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { runImport } from '../src/main/media/import';
import type { JobContext } from '../src/main/jobs/job-manager';
import { ProjectStore } from '../src/main/store/project-store';
import { explainListImages, imageIds, listImages } from '../src/main/store/images';
import { importRequestSchema } from '../src/shared/domain';

const ROOT = process.env.TS_BENCH_DIR ?? '/tmp/ts-bench';
const which = new Set(process.argv.slice(2));
const want = (k: string): boolean => which.size === 0 || which.has(k);

function ctx(): JobContext {
  const c = new AbortController();
  return { signal: c.signal, jobId: 'bench', progress: () => {}, throwIfCancelled: () => {} };
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A real RGB PNG with pixels that depend on `seed` (fast: no sharp, just zlib). */
function smallPng(size: number, seed: number): Buffer {
  const row = 1 + size * 3;
  const raw = Buffer.alloc(row * size);
  for (let y = 0; y < size; y++) {
    raw[y * row] = 0;
    for (let x = 0; x < size; x++) {
      const o = y * row + 1 + x * 3;
      raw[o] = (x * 8 + seed) & 0xff;
      raw[o + 1] = (y * 8 + (seed >> 8)) & 0xff;
      raw[o + 2] = (x * y + (seed >> 16)) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(raw, { level: 1 })), pngChunk('IEND', Buffer.alloc(0))]);
}

function ensureSmall(dir: string, n: number, size: number, seedBase: number): string {
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dir;
  const t = performance.now();
  fs.rmSync(dir, { recursive: true, force: true });
  for (let c = 0; c < 10; c++) fs.mkdirSync(path.join(dir, `class${c}`), { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `class${i % 10}`, `img${i}.png`), smallPng(size, seedBase + i));
  fs.writeFileSync(marker, '');
  console.log(`  generated ${n} ${size}x${size} PNGs in ${((performance.now() - t) / 1000).toFixed(1)} s -> ${dir}`);
  return dir;
}

async function ensureLarge(dir: string, n: number): Promise<string> {
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dir;
  const t = performance.now();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'a'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'b'), { recursive: true });
  const w = 4000;
  const h = 3000;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      raw[o] = (x >> 4) & 0xff;
      raw[o + 1] = (y >> 4) & 0xff;
      raw[o + 2] = ((x * y) >> 10) & 0xff;
    }
  for (let i = 0; i < n; i++) {
    raw.fill(i & 0xff, (i * 99991) % (raw.length - 120_000), ((i * 99991) % (raw.length - 120_000)) + 120_000); // a band of different pixels: a different file
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 88 }).toFile(path.join(dir, i % 2 ? 'a' : 'b', `photo${i}.jpg`));
  }
  fs.writeFileSync(marker, '');
  console.log(`  generated ${n} 4000x3000 JPEGs in ${((performance.now() - t) / 1000).toFixed(1)} s -> ${dir}`);
  return dir;
}

function freshProject(name: string): ProjectStore {
  const dir = path.join(ROOT, 'projects', name);
  fs.rmSync(dir, { recursive: true, force: true });
  return ProjectStore.create(dir);
}

async function timeImport(name: string, source: string, concurrency?: number): Promise<{ n: number; s: number; perSec: number }> {
  const store = freshProject(name);
  const t = performance.now();
  const r = await runImport(store, importRequestSchema.parse({ source }), ctx(), concurrency ? { concurrency } : {});
  const s = (performance.now() - t) / 1000;
  store.close();
  if (r.failureCount) console.log(`  (${r.failureCount} failures, first: ${r.failures[0]?.reason})`);
  return { n: r.added, s, perSec: r.added / s };
}

/** A copy of the first `n` files of each class folder (for the sweep). */
function subset(src: string, dst: string, perClass: number): string {
  if (fs.existsSync(path.join(dst, '.complete'))) return dst;
  for (const c of fs.readdirSync(src).filter((d) => !d.startsWith('.'))) {
    fs.mkdirSync(path.join(dst, c), { recursive: true });
    for (const f of fs.readdirSync(path.join(src, c)).slice(0, perClass)) fs.copyFileSync(path.join(src, c, f), path.join(dst, c, f));
  }
  fs.writeFileSync(path.join(dst, '.complete'), '');
  return dst;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${os.cpus().length} cores, sharp ${sharp.versions.sharp} (libvips threads per op: ${sharp.concurrency()}), UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 'default 4'}`);
  console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (other work on the machine skews the throughput numbers)`);
  fs.mkdirSync(ROOT, { recursive: true });

  if (want('small')) {
    const dir = ensureSmall(path.join(ROOT, 'small-10k'), 10_000, 64, 0);
    const r = await timeImport('small', dir);
    console.log(`small: ${r.n} 64x64 PNGs in ${r.s.toFixed(1)} s = ${r.perSec.toFixed(0)} images/s`);
  }
  if (want('large')) {
    const dir = await ensureLarge(path.join(ROOT, 'large-200'), 200);
    const r = await timeImport('large', dir);
    console.log(`large: ${r.n} 4000x3000 JPEGs in ${r.s.toFixed(1)} s = ${r.perSec.toFixed(1)} images/s`);
  }
  if (want('sweep')) {
    const small = subset(ensureSmall(path.join(ROOT, 'small-10k'), 10_000, 64, 0), path.join(ROOT, 'small-2k'), 200);
    const large = subset(await ensureLarge(path.join(ROOT, 'large-200'), 200), path.join(ROOT, 'large-40'), 20);
    for (const c of [1, 2, 3, 4, 6]) {
      const s = await timeImport('sweep-s', small, c);
      const l = await timeImport('sweep-l', large, c);
      console.log(`sweep: concurrency ${c}: small ${s.perSec.toFixed(0)} images/s, large ${l.perSec.toFixed(2)} images/s`);
    }
  }
  if (want('rss') || want('query')) {
    const projectDir = path.join(ROOT, 'projects', 'rss');
    if (want('rss') || !fs.existsSync(path.join(projectDir, 'project.sqlite'))) {
      const dir = ensureSmall(path.join(ROOT, 'small-100k'), 100_000, 32, 1_000_000);
      global.gc?.();
      const startRss = process.memoryUsage().rss;
      let peak = startRss;
      const marks: string[] = [];
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
      const store = freshProject('rss');
      const t = performance.now();
      let lastMark = 0;
      const c = ctx();
      const r = await runImport(store, importRequestSchema.parse({ source: dir }), {
        ...c,
        progress: (done) => {
          if (done - lastMark >= 20_000) {
            lastMark = done;
            marks.push(`${done}: ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
          }
        },
      });
      clearInterval(timer);
      const s = (performance.now() - t) / 1000;
      console.log(`rss: imported ${r.added} 32x32 PNGs in ${s.toFixed(0)} s (${(r.added / s).toFixed(0)} images/s)`);
      console.log(`rss: start ${(startRss / 1e6).toFixed(0)} MB, peak ${(peak / 1e6).toFixed(0)} MB; along the way ${marks.join(', ')}`);
      store.close();
    }
    const store = ProjectStore.open(projectDir);
    const total = listImages(store.db, { limit: 1 }).total;
    const classId = (store.db.prepare('SELECT id FROM classes ORDER BY id LIMIT 1').get() as { id: number }).id;
    const cases: [string, Parameters<typeof listImages>[1]][] = [
      ['first page, import order', { offset: 0, limit: 200 }],
      ['last page, import order', { offset: total - 200, limit: 200 }],
      ['middle page, by name', { offset: Math.floor(total / 2), limit: 200, sort: { by: 'name', desc: false } }],
      ['last page, by name desc', { offset: total - 200, limit: 200, sort: { by: 'name', desc: true } }],
      ['middle page, by class', { offset: Math.floor(total / 2), limit: 200, sort: { by: 'class', desc: false } }],
      ['one class, last page, by name', { filter: { classId }, offset: Math.floor(total / 10) - 200, limit: 200, sort: { by: 'name', desc: false } }],
      ['class + split train, middle', { filter: { classId, split: 'train' }, offset: Math.floor(total / 20), limit: 200 }],
      ['unlabelled (empty)', { filter: { classId: 'unlabelled' }, limit: 200 }],
      ['name contains "img9999"', { filter: { name: 'img9999' }, limit: 200 }],
    ];
    console.log(`query: ${total} rows; median of 20 runs (page + total count)`);
    for (const [label, q] of cases) {
      const times: number[] = [];
      let n = 0;
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        n = listImages(store.db, q).rows.length;
        times.push(performance.now() - t);
      }
      const plan = explainListImages(store.db, q.filter, q.sort).join('; ');
      console.log(`query: ${label.padEnd(32)} ${median(times).toFixed(2).padStart(7)} ms  (${n} rows)  plan: ${plan}`);
    }
    const t = performance.now();
    const ids = imageIds(store.db, {});
    console.log(`query: imageIds (select all)            ${(performance.now() - t).toFixed(1).padStart(7)} ms  (${ids.length} ids)`);
    store.close();
  }
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

await main();
