/**
 * Gallery benchmark: a project of 100,000 real image rows (inserted straight into SQLite, with
 * 64 real WebP thumbnails hard-linked under every hash), opened in Chromium in browser mode
 * against the built host. Measures the time to the first painted thumbnail and the frame times
 * (requestAnimationFrame deltas) while scrolling: a wheel-speed scroll and a sweep from the top
 * to the bottom of the grid. Run after a build: `npx electron-vite build && npx tsx bench/gallery.ts`.
 *   GALLERY_IMAGES=n   rows (default 100000)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ProjectStore } from '../src/main/store/project-store';
import { addClass } from '../src/main/store/classes';
import { THUMBS_FOLDER, thumbFile } from '../src/main/media/thumbs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { chromium, type Browser, type Page } from 'playwright-core';

// The same start-up as test/e2e/harness.ts (which needs vitest's __dirname): the built CLI's
// `serve` and Debian's Chromium.
const ROOT = path.resolve(import.meta.dirname, '..');
const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `ts-${prefix}-`));

async function startHost(home: string, projectDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const cli = path.join(ROOT, 'out', 'main', 'cli.js');
  if (!fs.existsSync(cli)) throw new Error('Build first: npx electron-vite build');
  const proc = spawn(process.execPath, [cli, 'serve', projectDir, '--json'], { env: { ...process.env, TRANSFER_STUDIO_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`host exited (${code})`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // tsx keeps function names with a helper that functions sent to the page must find there.
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.goto(url);
  return { page, errors };
}

const N = Number(process.env.GALLERY_IMAGES ?? 100_000);
const CLASSES = 10;
const DISTINCT_THUMBS = 64;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function makeProject(dir: string): Promise<void> {
  const t0 = performance.now();
  const store = ProjectStore.create(dir, `bench ${N}`);
  const db = store.db;
  const classIds: number[] = [];
  for (let c = 0; c < CLASSES; c++) classIds.push(addClass(db, `class ${c}`).id);
  const srcDir = path.join(dir, 'originals');
  fs.mkdirSync(srcDir, { recursive: true });
  const sourceId = Number(db.prepare("INSERT INTO sources (kind, root, description, imported_at) VALUES ('folder', ?, 'bench', ?)").run(srcDir, new Date().toISOString()).lastInsertRowid);

  // A handful of real thumbnails (256 px WebP, like the importer writes), with noise so they cost a real decode.
  const thumbs: string[] = [];
  const seedDir = path.join(dir, 'seed-thumbs');
  fs.mkdirSync(seedDir, { recursive: true });
  for (let t = 0; t < DISTINCT_THUMBS; t++) {
    const raw = Buffer.alloc(256 * 192 * 3);
    let x = t * 2654435761;
    for (let i = 0; i < raw.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      raw[i] = ((i % 3 === 0 ? t * 37 : i % 3 === 1 ? t * 91 : 128) + ((x >>> 24) & 63)) & 255;
    }
    const file = path.join(seedDir, `${t}.webp`);
    await sharp(raw, { raw: { width: 256, height: 192, channels: 3 } }).webp({ quality: 78, effort: 2 }).toFile(file);
    thumbs.push(file);
  }
  // The original of every row: one real PNG (the preview opens it).
  fs.writeFileSync(path.join(srcDir, 'img.png'), await sharp(thumbs[0]!).png().toBuffer());

  const thumbsDir = store.folder(THUMBS_FOLDER);
  const insert = db.prepare(
    `INSERT INTO images (source_id, rel_path, file_name, hash, bytes, width, height, format, split, class_id, imported_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'png', ?, ?, ?)`,
  );
  const now = new Date().toISOString();
  const hashes: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const hash = createHash('sha256').update(`bench-${i}`).digest('hex');
      hashes.push(hash);
      const split = i % 10 === 0 ? 'val' : i % 17 === 0 ? 'test' : 'train';
      const cls = i % 13 === 0 ? null : classIds[(i * 7) % CLASSES]!;
      insert.run(sourceId, 'img.png', `img-${String(i).padStart(6, '0')}.png`, hash, 20_000, 256, 192, split, split === 'test' ? null : cls, now);
    }
  })();
  const tRows = performance.now();
  for (let i = 0; i < hashes.length; i++) {
    const target = thumbFile(thumbsDir, hashes[i]!);
    if (i < 256 || !fs.existsSync(path.dirname(target))) fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.linkSync(thumbs[i % DISTINCT_THUMBS]!, target);
  }
  store.close();
  console.log(`project: ${N} rows in ${ms(tRows - t0)}, ${N} thumbnails linked in ${ms(performance.now() - tRows)}`);
}

async function main(): Promise<void> {
  const home = tempDir('bench-gallery-home');
  console.log(`machine load average (1/5/15 min) at the start: ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${os.cpus().length} cores`);
  const dir = path.join(tempDir('bench-gallery'), 'project');
  await makeProject(dir);
  const host = await startHost(home, dir);
  const browser = await launchBrowser();
  try {
    // Warm-up load (browser caches, JIT of the host), then the measured load in a fresh page.
    const warm = await openPage(browser, host.url);
    await warm.page.locator('[data-testid="tile"][data-image-id]').first().waitFor({ timeout: 30_000 });
    await warm.page.close();

    const { page, errors } = await openPage(browser, host.url);
    const firstPaint = await page.evaluate(
      () =>
        new Promise<{ tiles: number; thumb: number }>((resolve) => {
          let tiles = 0;
          const check = (): void => {
            const t = document.querySelector('[data-testid="tile"][data-image-id]');
            if (t && !tiles) tiles = performance.now();
            const img = t?.querySelector('img');
            if (img && img.complete && img.naturalWidth > 0) resolve({ tiles, thumb: performance.now() });
            else if (tiles && performance.now() - tiles > 10_000) resolve({ tiles, thumb: NaN });
            else requestAnimationFrame(check);
          };
          check();
        }),
    );
    const total = Number(await page.getByTestId('gallery-grid').getAttribute('data-total'));
    console.log(`gallery rows: ${total}`);
    console.log(`first gallery paint (navigation start -> first tile with its row): ${ms(firstPaint.tiles)}`);
    console.log(`first thumbnail painted: ${ms(firstPaint.thumb)}`);

    const scroll = async (mode: 'idle' | 'read' | 'wheel' | 'sweep'): Promise<{ deltas: number[]; blankAtEnd: number; frames: number; work: number[] }> =>
      page.evaluate(async (mode) => {
        const el = document.querySelector<HTMLElement>('[data-testid="gallery-grid"]')!;
        el.scrollTop = 0;
        await new Promise((r) => setTimeout(r, 300));
        const max = el.scrollHeight - el.clientHeight;
        const frames = mode === 'wheel' || mode === 'read' ? 600 : mode === 'idle' ? 120 : 1200;
        const step = mode === 'wheel' ? 100 : mode === 'read' ? 30 : mode === 'idle' ? 0 : max / frames;
        const deltas: number[] = [];
        const work: number[] = [];
        let last = performance.now();
        await new Promise<void>((resolve) => {
          let i = 0;
          const frame = (t: number): void => {
            deltas.push(t - last);
            last = t;
            if (i++ >= frames) return resolve();
            const w0 = performance.now();
            el.scrollTop = Math.min(max, el.scrollTop + step);
            // Force the layout a scroll causes now, so the script-side work of a frame is measured too.
            void el.getBoundingClientRect();
            work.push(performance.now() - w0);
            requestAnimationFrame(frame);
          };
          requestAnimationFrame((t) => {
            last = t;
            requestAnimationFrame(frame);
          });
        });
        await new Promise((r) => setTimeout(r, 1500));
        const blankAtEnd = document.querySelectorAll('[data-testid="tile"]:not([data-image-id])').length;
        return { deltas: deltas.slice(1), blankAtEnd, frames, work };
      }, mode);

    const names = {
      idle: 'no scrolling (machine baseline, 120 frames)',
      read: 'reading scroll (30 px/frame = 1,800 px/s, thumbnails load while moving, 600 frames)',
      wheel: 'fast wheel (100 px/frame = 6,000 px/s, 600 frames)',
      sweep: 'top -> bottom sweep (1200 frames, ~2,000 px/frame)',
    };
    // GALLERY_PROFILE=1: a CPU profile of the renderer per phase, top functions by self time.
    const profile = process.env.GALLERY_PROFILE === '1' ? await page.context().newCDPSession(page) : null;
    for (const mode of ['idle', 'read', 'wheel', 'sweep'] as const) {
      if (profile) {
        await profile.send('Profiler.enable');
        await profile.send('Profiler.setSamplingInterval', { interval: 500 });
        await profile.send('Profiler.start');
      }
      const r = await scroll(mode);
      if (profile) {
        const { profile: prof } = await profile.send('Profiler.stop');
        const self = new Map<string, number>();
        const dt = new Map<number, number>();
        prof.samples?.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas?.[i] ?? 0)));
        for (const n of prof.nodes) {
          const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
          self.set(key, (self.get(key) ?? 0) + (dt.get(n.id) ?? 0) / 1000);
        }
        const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
        console.log(`  profile ${mode}:`, top.map(([k, v]) => `${v.toFixed(0)}ms ${k}`).join(' | '));
      }
      const long = r.deltas.filter((d) => d > 16.7 * 1.5).length;
      console.log(
        `${names[mode]}: ` +
          `frame p50 ${ms(pct(r.deltas, 50))}, p95 ${ms(pct(r.deltas, 95))}, p99 ${ms(pct(r.deltas, 99))}, max ${ms(Math.max(...r.deltas))}; ` +
          `frames > 25 ms: ${long}/${r.deltas.length}; scroll handler+layout p95 ${ms(pct(r.work, 95))}; blank tiles 1.5 s after stopping: ${r.blankAtEnd}`,
      );
    }
    // Frame deltas are wall-clock: on a shared 2-core machine other processes' load shows in them.
    console.log(`machine load average (1/5/15 min) at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${os.cpus().length} cores`);
    if (errors.length) console.log('page errors:', errors);
  } finally {
    await browser.close();
    await host.stop();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
