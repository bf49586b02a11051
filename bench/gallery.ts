/**
 * Gallery benchmark: a project of 100,000 real image rows (inserted straight into SQLite, with
 * 64 real WebP thumbnails hard-linked under every hash), opened in Chromium in browser mode
 * against the built host. Measures the time to the first painted thumbnail and the frame times
 * (requestAnimationFrame deltas) while scrolling: a wheel-speed scroll and a sweep from the top
 * to the bottom of the grid. Then the Audit screen's embedding map of the same 100,000 images (a
 * stored map of clustered points, as UMAP lays them out): the time from opening the map tab to
 * its first frame with every point, and the frame rate while panning and zooming with the mouse.
 * Run after a build: `npx electron-vite build && npx tsx bench/gallery.ts`.
 *   GALLERY_IMAGES=n   rows (default 100000)
 *   GALLERY_ONLY=map   the map alone (skips the gallery's scroll phases)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ProjectStore } from '../src/main/store/project-store';
import { addClass } from '../src/main/store/classes';
import { THUMBS_FOLDER, thumbFile } from '../src/main/media/thumbs';
import { saveMap } from '../src/main/store/embedding-maps';
import { seededRandom } from '../src/shared/random';
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
  const tLinks = performance.now();
  saveMap(db, { runId: null, model: 'bench', cutLayer: 'bench', featureDim: 256 }, Float64Array.from({ length: N }, (_, i) => i + 1), clusteredLayout(N), {
    points: N,
    skippedCount: 0,
    pcaComponents: 50,
    pcaExplained: 0.9,
    durationMs: 0,
    bounds: { minX: 0, maxX: 0, minY: 0, maxY: 0 },
  });
  store.close();
  console.log(`project: ${N} rows in ${ms(tRows - t0)}, ${N} thumbnails linked in ${ms(tLinks - tRows)}, a map of ${N} points stored in ${ms(performance.now() - tLinks)}`);
}

/** x, y per point in clumps of uneven size and spread with a sprinkle of outliers, as UMAP lays out features. */
function clusteredLayout(n: number): Float32Array {
  const rnd = seededRandom(14);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const clumps = Array.from({ length: 14 }, () => ({ x: rnd() * 20, y: rnd() * 14, s: 0.3 + rnd() * 1.2, w: 0.2 + rnd() }));
  const total = clumps.reduce((a, c) => a + c.w, 0);
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    let pick = rnd() * total;
    const c = clumps.find((k) => (pick -= k.w) <= 0) ?? clumps[0]!;
    const outlier = rnd() < 0.02;
    xy[2 * i] = outlier ? rnd() * 22 - 1 : c.x + gauss() * c.s;
    xy[2 * i + 1] = outlier ? rnd() * 16 - 1 : c.y + gauss() * c.s * 0.8;
  }
  return xy;
}

/**
 * The embedding map: opened from the Audit screen's tab (fetch of every point as typed arrays,
 * decode, spatial grid, first frame), then panned and zoomed with real mouse events while every
 * animation frame is recorded: how many frames the map drew, at what interval.
 */
async function benchMap(page: Page): Promise<void> {
  await page.locator('nav[aria-label="Screens"]').getByText('Audit', { exact: true }).click();
  await page.getByTestId('audit-screen').waitFor();
  const open = async (): Promise<number> =>
    page.evaluate(
      (n) =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          document.querySelector<HTMLElement>('[data-testid="tab-map"]')!.click();
          const check = (): void => {
            const m = document.querySelector<HTMLElement>('[data-testid="embedding-map"]');
            if (m && m.dataset.points === String(n) && Number(m.dataset.frames ?? 0) > 0) resolve(performance.now() - t0);
            else if (performance.now() - t0 > 60_000) resolve(NaN);
            else requestAnimationFrame(check);
          };
          check();
        }),
      N,
    );
  const first = await open();
  await page.getByTestId('tab-errors').click();
  const again = await open();
  console.log(`map first paint (click on the map tab -> first frame with all ${N} points: fetch ${((N * 28) / 1e6).toFixed(1)} MB of base64 typed arrays, decode, grid, draw): ${ms(first)}; opened again: ${ms(again)}`);

  const map = page.getByTestId('embedding-map');
  const box = (await map.boundingBox())!;
  const record = (): Promise<void> =>
    page.evaluate(() => {
      const w = window as unknown as { __frames: { t: number; drawn: number; drawMs: number }[]; __recording: boolean };
      w.__frames = [];
      w.__recording = true;
      const m = document.querySelector<HTMLElement>('[data-testid="embedding-map"]')!;
      const tick = (t: number): void => {
        w.__frames.push({ t, drawn: Number(m.dataset.frames), drawMs: Number(m.dataset.drawMs) });
        if (w.__recording) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
  const stop = (): Promise<{ t: number; drawn: number; drawMs: number }[]> =>
    page.evaluate(async () => {
      const w = window as unknown as { __frames: { t: number; drawn: number; drawMs: number }[]; __recording: boolean };
      w.__recording = false;
      await new Promise((r) => setTimeout(r, 50));
      return w.__frames;
    });
  const report = (name: string, frames: { t: number; drawn: number; drawMs: number }[]): number => {
    const deltas = frames.slice(1).map((f, i) => f.t - frames[i]!.t);
    const draws = frames.slice(1).filter((f, i) => f.drawn !== frames[i]!.drawn).map((f) => f.drawMs);
    const seconds = (frames.at(-1)!.t - frames[0]!.t) / 1000;
    const drawn = frames.at(-1)!.drawn - frames[0]!.drawn;
    console.log(
      `map ${name}: ${(drawn / seconds).toFixed(1)} map frames drawn per second (${drawn} in ${seconds.toFixed(2)} s), animation frame p50 ${ms(pct(deltas, 50))}, p95 ${ms(pct(deltas, 95))}, max ${ms(Math.max(...deltas))}; frames > 25 ms: ${deltas.filter((d) => d > 25).length}/${deltas.length}` +
        (draws.length ? `; drawing a frame p50 ${ms(pct(draws, 50))}, p95 ${ms(pct(draws, 95))}` : ''),
    );
    return drawn / seconds;
  };

  // The request alone, from the page over its own socket: what of the first paint is the host and the wire.
  const request = await page.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    await new Promise((r) => (ws.onopen = r));
    const t0 = performance.now();
    const size = await new Promise<number>((resolve) => {
      ws.onmessage = (ev) => resolve(String(ev.data).length);
      ws.send(JSON.stringify({ id: 1, name: 'embeddingMap', input: {} }));
    });
    const t1 = performance.now();
    ws.close();
    return { ms: t1 - t0, size };
  });
  console.log(`  of which the embeddingMap request (host query + encode + ${(request.size / 1e6).toFixed(1)} MB over the socket): ${ms(request.ms)}`);

  await page.getByTestId('map-drag-mode').getByText('Pan', { exact: true }).click();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await record();
  await page.waitForTimeout(1000);
  report('idle (machine baseline)', await stop());

  // Pointer events dispatched once per animation frame from the page itself (Playwright's mouse
  // moves arrive slower than frames on a loaded machine): does every frame draw the map anew?
  const drive = (kind: 'pan' | 'zoom', frames: number): Promise<void> =>
    page.evaluate(
      ([kind, frames, cx, cy]) =>
        new Promise<void>((resolve) => {
          const m = document.querySelector<HTMLElement>('[data-testid="embedding-map"]')!;
          const at = (k: number): { clientX: number; clientY: number } => ({ clientX: cx + 200 * Math.sin(k / 30), clientY: cy + 60 * Math.sin(k / 45) });
          const fire = (type: string, k: number): boolean => m.dispatchEvent(new PointerEvent(type, { ...at(k), bubbles: true, pointerId: 1, button: 0, buttons: 1, isPrimary: true, pointerType: 'mouse' }));
          if (kind === 'pan') fire('pointerdown', 0);
          let k = 0;
          const step = (): void => {
            k++;
            if (kind === 'pan') fire('pointermove', k);
            else m.dispatchEvent(new WheelEvent('wheel', { clientX: cx, clientY: cy, deltaY: (k % 60 < 30 ? -1 : 1) * 40, bubbles: true, cancelable: true }));
            if (k < frames) requestAnimationFrame(step);
            else {
              if (kind === 'pan') fire('pointerup', k);
              resolve();
            }
          };
          requestAnimationFrame(step);
        }),
      [kind, frames, cx - box.x + box.x, cy] as const,
    );
  await record();
  await drive('pan', 600);
  const panFps = report('panning (a pointer move every animation frame, 600 frames)', await stop());
  await record();
  await drive('zoom', 300);
  report('zooming (a wheel step every animation frame, in and out, 300 frames)', await stop());
  await page.getByTestId('map-fit').click();
  for (let k = 0; k < 12; k++) await page.mouse.wheel(0, -120);
  await record();
  await drive('pan', 300);
  const panZoomedFps = report('panning zoomed in (300 frames)', await stop());
  console.log(
    `MAP SUMMARY (${N} points): first paint ${ms(first)} (target < 1 s), panning ${panFps.toFixed(1)} frames/s, zoomed in ${panZoomedFps.toFixed(1)} frames/s (target 60); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
  );
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
    if (process.env.GALLERY_ONLY === 'map') {
      await page.getByTestId('gallery').waitFor({ timeout: 30_000 });
      await benchMap(page);
      if (errors.length) console.log('page errors:', errors);
      return;
    }
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
    await benchMap(page);
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
