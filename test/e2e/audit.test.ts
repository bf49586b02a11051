/**
 * The Audit screen end to end, with the real host, engine and model, on real handwritten digits
 * (0, 1, 2 cut from test/assets/datasets/opencv-digits.png): three training images filed under the
 * wrong digit, a resized JPEG copy of a training image among the test images (a leak) and a copy
 * of a "1" filed under val/two (a leak with disagreeing labels). Runs the audit with progress and
 * sees the flipped images flagged; fixes one by key and confirms another (undo, redo; the
 * confirmed one stays unflagged after a re-audit); moves the leak into one split and keeps one of
 * it, undoing both; makes the embedding map and lassoes a region whose points are known from the
 * map's own coordinates, into the gallery's selection; ranks the label-next queue and sees it
 * ranked again after a batch of labels; exports the audit CSV; cancels an audit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingMapPage } from '../../src/shared/domain';
import { alteredCopy } from '../fixtures/altered-copies';
import { digitPng } from '../fixtures/digits';
import { MODEL_025 } from '../fixtures/assets';
import { type App, attributeNow, cliJson, openApp, pageCall, screenshot, tempDir } from './harness';

const CLASSES = ['zero', 'one', 'two'];
const TRAIN = 16;
const VAL = 4;
const TEST_PER_DIGIT = 4;
/** Unlabelled training images per digit (the label-next pool). */
const POOL_PER_DIGIT = 3;
/** File -> its true digit, filed under another class in train/. */
const FLIPS: Record<string, { filedAs: string; digit: number }> = {
  'really-0.png': { filedAs: 'one', digit: 0 },
  'really-1.png': { filedAs: 'zero', digit: 1 },
  'really-2.png': { filedAs: 'zero', digit: 2 },
};
const LEAK_COPY = 'copy-of-two-5.jpg';
const CONFLICT_COPY = 'copy-of-one-7.png';

async function put(file: string, png: Buffer | Promise<Buffer>): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await png);
}

async function makeImages(root: string): Promise<void> {
  for (const [d, name] of CLASSES.entries()) {
    for (let n = 0; n < TRAIN; n++) await put(path.join(root, 'labelled', 'train', name, `${n}.png`), digitPng(d, n));
    for (let n = 0; n < VAL; n++) await put(path.join(root, 'labelled', 'val', name, `v${n}.png`), digitPng(d, 100 + n));
    for (let n = 0; n < TEST_PER_DIGIT; n++) await put(path.join(root, 'test', `t${d}-${n}.png`), digitPng(d, 200 + n));
    for (let n = 0; n < POOL_PER_DIGIT; n++) await put(path.join(root, 'pool', `pool${d}-${n}.png`), digitPng(d, 400 + n));
  }
  for (const [file, f] of Object.entries(FLIPS)) await put(path.join(root, 'labelled', 'train', f.filedAs, file), digitPng(f.digit, 300));
  // Near-duplicates (an exact copy would be merged at import): re-encoded as JPEG, brightened.
  await put(path.join(root, 'test', LEAK_COPY), alteredCopy(await digitPng(2, 5), 'jpeg'));
  await put(path.join(root, 'labelled', 'val', 'two', CONFLICT_COPY), alteredCopy(await digitPng(1, 7), 'brightness'));
}

const screen = (page: Page, name: string) => page.locator('nav[aria-label="Screens"]').getByText(name, { exact: true }).click();

async function idOf(page: Page, fileName: string): Promise<number> {
  const rows = (await pageCall(page, 'listImages', { filter: { name: fileName } })).rows.filter((r) => r.fileName === fileName);
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

/**
 * Clicks `start` and waits for the job it starts (a new id in the status block) to reach `state`;
 * answers with the states the block showed on the way.
 */
async function startAndWait(page: Page, start: string, testId: string, state: string, timeout = 120_000): Promise<Set<string>> {
  const block = page.getByTestId(testId);
  const before = await attributeNow(block, 'data-job-id');
  await page.getByTestId(start).click();
  const seen = new Set<string>();
  await expect
    .poll(
      async () => {
        const [id, s] = await Promise.all([attributeNow(block, 'data-job-id'), attributeNow(block, 'data-state')]);
        if (id === null || id === before) return 'not started';
        seen.add(s ?? '');
        return s;
      },
      { timeout, interval: 50 },
    )
    .toBe(state);
  return seen;
}

const openIssueIds = (page: Page): Promise<number[]> =>
  page.getByTestId('issue-tile').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-image-id'))));

function decode(page: EmbeddingMapPage): { id: number; x: number; y: number }[] {
  const buf = (s: string): ArrayBuffer => {
    const b = Buffer.from(s, 'base64');
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  const ids = new Int32Array(buf(page.ids));
  const xy = new Float32Array(buf(page.xy));
  return [...ids].map((id, i) => ({ id, x: xy[2 * i]!, y: xy[2 * i + 1]! }));
}

describe('audit', () => {
  let app: App;
  const home = tempDir('audit-home');
  const projectDir = path.join(tempDir('audit-project'), 'digits');
  const images = tempDir('audit-images');
  const total = CLASSES.length * (TRAIN + VAL + TEST_PER_DIGIT + POOL_PER_DIGIT) + Object.keys(FLIPS).length + 2;
  const flipped = new Map<number, { file: string; digit: number }>();
  let classOrder: string[] = [];
  let auditId = '';

  beforeAll(async () => {
    await makeImages(images);
    await cliJson(home, 'models', 'import', MODEL_025);
    await cliJson(home, 'project', 'create', projectDir);
    // Split first (train/<class>/, val/<class>/), as a user's folder often is.
    await cliJson(home, 'import', projectDir, path.join(images, 'labelled'));
    await cliJson(home, 'import', projectDir, path.join(images, 'test'), '--split', 'test');
    await cliJson(home, 'import', projectDir, path.join(images, 'pool'), '--split', 'train');
    app = await openApp(home);
    const { page } = app;
    await page.getByTestId('project-dir').fill(projectDir);
    await page.getByRole('button', { name: 'Open project' }).click();
    await page.getByTestId('gallery').waitFor();
    for (const [file, f] of Object.entries(FLIPS)) flipped.set(await idOf(page, file), { file, digit: f.digit });
    classOrder = await page.locator('[data-testid="class-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-class-name')!));
    expect([...classOrder].sort()).toEqual([...CLASSES].sort());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('runs the audit with progress and flags the flipped labels', async () => {
    const { page } = app;
    const counts = await pageCall(page, 'projectInfo', {});
    expect(counts.counts.total).toBe(total);
    expect(counts.counts.bySplit.val).toBeGreaterThan(0);
    await screen(page, 'Audit');
    await page.getByTestId('audit-none').waitFor();
    const seen = await startAndWait(page, 'audit-start', 'audit-job', 'succeeded');
    expect(seen.has('running')).toBe(true);
    const summary = page.getByTestId('audit-summary');
    await summary.waitFor();
    auditId = (await summary.getAttribute('data-audit-id'))!;
    // Every flipped image is among the open issues, flagged with its true digit as the suggestion.
    await expect.poll(async () => (await openIssueIds(page)).filter((id) => flipped.has(id)).length, { timeout: 30_000 }).toBe(flipped.size);
    for (const [id, f] of flipped) expect(await page.locator(`[data-testid="issue-tile"][data-image-id="${id}"]`).getAttribute('data-suggested')).toBe(CLASSES[f.digit]);
    // Likeliest first: the scores ascend.
    const scores = await page.getByTestId('issue-tile').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-score'))));
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(await page.getByTestId('noise-rate').count()).toBe(CLASSES.length);
    const zeroRate = Number(await page.locator('[data-testid="noise-rate"][data-class-name="zero"]').getAttribute('data-rate'));
    expect(zeroRate).toBeGreaterThan(0);
    await screenshot(page, 'audit-label-errors');
  });

  it('fixes one by key and confirms one; undo and redo; the confirmed one stays unflagged after a re-audit', async () => {
    const { page } = app;
    const [fixId, confirmId] = [...flipped.keys()];
    const fix = flipped.get(fixId!)!;
    const tile = (id: number) => page.locator(`[data-testid="issue-tile"][data-image-id="${id}"]`);
    // Fix: the class key of the true digit (the gallery's keys).
    await tile(fixId!).click();
    await page.keyboard.press(String(classOrder.indexOf(CLASSES[fix.digit]!) + 1));
    await expect.poll(() => tile(fixId!).count()).toBe(0);
    expect((await pageCall(page, 'imageDetails', { id: fixId! })).className).toBe(CLASSES[fix.digit]);
    await page.keyboard.press('Control+z');
    await expect.poll(() => tile(fixId!).count()).toBe(1);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => tile(fixId!).count()).toBe(0);
    // Confirm ("the label is right") with C: it leaves the open list; undo brings it back, redo removes it.
    await tile(confirmId!).click();
    await page.keyboard.press('c');
    await expect.poll(() => tile(confirmId!).count()).toBe(0);
    await page.getByTestId('audit-undo').click();
    await expect.poll(() => tile(confirmId!).count()).toBe(1);
    await page.getByTestId('audit-redo').click();
    await expect.poll(() => tile(confirmId!).count()).toBe(0);
    await page.getByTestId('issue-status-filter').getByText('Label is right').click();
    await expect.poll(() => page.locator(`[data-testid="issue-tile"][data-image-id="${confirmId}"][data-status="confirmed"]`).count()).toBe(1);
    await page.getByTestId('issue-status-filter').getByText(/^Open/).click();
    // The label stays what it was (confirmed, not changed).
    expect((await pageCall(page, 'imageDetails', { id: confirmId! })).className).toBe(FLIPS[flipped.get(confirmId!)!.file]!.filedAs);

    // Audit again: the confirmed image is not flagged again.
    await startAndWait(page, 'audit-start', 'audit-job', 'succeeded');
    await expect.poll(() => page.getByTestId('audit-summary').getAttribute('data-audit-id')).not.toBe(auditId);
    auditId = (await page.getByTestId('audit-summary').getAttribute('data-audit-id'))!;
    await expect.poll(async () => (await openIssueIds(page)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await openIssueIds(page)).not.toContain(confirmId);
    const all = await pageCall(page, 'listLabelIssues', { status: 'all', limit: 500 });
    expect(all.rows.filter((r) => r.imageId === confirmId && r.status === 'open')).toEqual([]);
  });

  it('shows the leak and the label conflict; moving all to one split and keeping one are both undone', async () => {
    const { page } = app;
    const leakCopy = await idOf(page, LEAK_COPY);
    const conflictCopy = await idOf(page, CONFLICT_COPY);
    await page.getByTestId('tab-duplicates').click();
    const leak = page.locator(`[data-testid="cluster"]:has([data-image-id="${leakCopy}"])`);
    await leak.waitFor();
    expect(await leak.getAttribute('data-leak')).toBe('true');
    expect(await leak.getByTestId('cluster-leak').innerText()).toMatch(/training \+ test|test \+ training/i);
    expect(await leak.getByTestId('cluster-pair').first().innerText()).toMatch(/hash \d+ bits? apart/);
    const trainTwin = Number(await leak.locator('[data-testid="cluster-member"][data-split="train"]').first().getAttribute('data-image-id'));
    expect(await page.locator(`[data-testid="cluster"]:has([data-image-id="${conflictCopy}"])`).getAttribute('data-conflict')).toBe('true');
    await screenshot(page, 'audit-leaks');
    const leaksNow = async () => Number(await page.getByTestId('audit-summary').getAttribute('data-leaks'));
    const leaksBefore = await leaksNow();
    expect(leaksBefore).toBeGreaterThanOrEqual(2);

    // Move all to one split (test: where the copy is): no longer a leak, so it leaves the Leaks list. Undo puts the split back.
    await leak.getByTestId('move-split').click();
    await expect.poll(() => leak.count()).toBe(0);
    expect((await pageCall(page, 'imageDetails', { id: trainTwin })).split).toBe('test');
    await expect.poll(leaksNow).toBe(leaksBefore - 1);
    await page.keyboard.press('Control+z');
    await expect.poll(() => leak.count()).toBe(1);
    expect((await pageCall(page, 'imageDetails', { id: trainTwin })).split).toBe('train');

    // Keep one (the test image, the default): the training twin leaves the project. Undo brings it back.
    await leak.getByTestId('keep-one').click();
    await expect.poll(() => leak.count()).toBe(0);
    await expect.poll(async () => (await pageCall(page, 'projectInfo', {})).counts.total).toBe(total - 1);
    await page.getByTestId('audit-undo').click();
    await expect.poll(() => leak.count()).toBe(1);
    await expect.poll(async () => (await pageCall(page, 'projectInfo', {})).counts.total).toBe(total);
    expect((await pageCall(page, 'imageDetails', { id: trainTwin })).split).toBe('train');
    await expect.poll(leaksNow).toBe(leaksBefore);

    // The wizard's data step reports the leaks too.
    await screen(page, 'Train');
    await page.getByTestId('tab-wizard').click().catch(() => undefined);
    const w = page.getByTestId('wizard-leaks');
    await expect.poll(() => w.getAttribute('data-state')).toBe('leaks');
    expect(Number(await w.getAttribute('data-leaks'))).toBe(leaksBefore);
    expect(await page.getByTestId('wizard-leak').allInnerTexts()).toContainEqual(expect.stringContaining(LEAK_COPY));
    await screenshot(page, 'audit-wizard-leaks');
    await screen(page, 'Audit');
  });

  it('makes the map; hover shows the image; a lasso selects exactly the points inside it, into the gallery', async () => {
    const { page } = app;
    await page.getByTestId('tab-map').click();
    await page.getByTestId('map-empty').waitFor();
    await startAndWait(page, 'map-start', 'map-job', 'succeeded');
    const map = page.getByTestId('embedding-map');
    await expect.poll(() => map.getAttribute('data-points')).toBe(String(total));
    await expect.poll(async () => Number(await map.getAttribute('data-frames'))).toBeGreaterThan(0);
    for (const mode of ['Split', 'Audit score', 'Label']) {
      await page.getByTestId('map-colour').getByText(mode, { exact: true }).click();
      await expect.poll(() => page.getByTestId('map-legend').getAttribute('data-mode')).toBe({ Split: 'split', 'Audit score': 'score', Label: 'label' }[mode]);
    }
    expect(await page.getByTestId('legend-item').allInnerTexts()).toContainEqual(expect.stringMatching(/^zero\s*\d+$/));
    await screenshot(page, 'audit-map');

    // The map's own coordinates and view: where every image is on the screen.
    const points = decode((await pageCall(page, 'embeddingMap', {}))!);
    expect(points).toHaveLength(total);
    const box = (await map.boundingBox())!;
    const [scale, tx, ty] = (await map.getAttribute('data-view'))!.split(',').map(Number) as [number, number, number];
    const onScreen = points.map((p) => ({ id: p.id, sx: box.x + p.x * scale + tx, sy: box.y + p.y * scale + ty }));
    for (const p of onScreen) {
      expect(p.sx).toBeGreaterThan(box.x);
      expect(p.sx).toBeLessThan(box.x + box.width);
    }

    // Hover: the most isolated point shows its own thumbnail.
    const dist = (a: (typeof onScreen)[number], b: (typeof onScreen)[number]) => Math.hypot(a.sx - b.sx, a.sy - b.sy);
    const lonely = onScreen.map((p) => ({ p, d: Math.min(...onScreen.filter((q) => q !== p).map((q) => dist(p, q))) })).sort((a, b) => b.d - a.d)[0]!;
    expect(lonely.d).toBeGreaterThan(8);
    await page.mouse.move(lonely.p.sx, lonely.p.sy);
    await expect.poll(() => page.getByTestId('map-hover').getAttribute('data-image-id')).toBe(String(lonely.p.id));

    // A lasso from the left edge to a vertical line in the widest gap between points: exactly the points left of it.
    const xs = onScreen.map((p) => p.sx).sort((a, b) => a - b);
    let cut = 0;
    let gap = 0;
    for (let i = Math.floor(xs.length / 4); i < Math.floor((3 * xs.length) / 4); i++) {
      if (xs[i + 1]! - xs[i]! > gap) {
        gap = xs[i + 1]! - xs[i]!;
        cut = (xs[i]! + xs[i + 1]!) / 2;
      }
    }
    expect(gap).toBeGreaterThan(4);
    const want = onScreen.filter((p) => p.sx < cut).map((p) => p.id).sort((a, b) => a - b);
    const corners: [number, number][] = [
      [box.x + 3, box.y + 3],
      [cut, box.y + 3],
      [cut, box.y + box.height - 3],
      [box.x + 3, box.y + box.height - 3],
    ];
    await page.mouse.move(...corners[0]!);
    await page.mouse.down();
    for (const [k, c] of [...corners.slice(1), corners[0]!].entries()) {
      const from = (k === 0 ? corners[0] : corners[k])!;
      for (let s = 1; s <= 8; s++) await page.mouse.move(from[0] + ((c[0] - from[0]) * s) / 8, from[1] + ((c[1] - from[1]) * s) / 8);
    }
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('map-selected').getAttribute('data-count')).toBe(String(want.length));
    await screenshot(page, 'audit-map-lasso');

    // One keystroke tags the lassoed cluster; undo puts the labels back.
    const before = await pageCall(page, 'listImages', { limit: 500 });
    const lastClass = classOrder[classOrder.length - 1]!;
    await map.focus();
    await page.keyboard.press(String(classOrder.length));
    const classId = (await pageCall(page, 'listClasses', {})).find((c) => c.name === lastClass)!.id;
    await expect
      .poll(async () => (await pageCall(page, 'listImages', { limit: 500 })).rows.filter((r) => r.classId === classId).map((r) => r.id).filter((id) => want.includes(id)).length)
      .toBe(want.length);
    await page.keyboard.press('Control+z');
    await expect
      .poll(async () => JSON.stringify((await pageCall(page, 'listImages', { limit: 500 })).rows.map((r) => [r.id, r.classId])))
      .toBe(JSON.stringify(before.rows.map((r) => [r.id, r.classId])));

    // The gallery opens with the same selection.
    await page.getByTestId('map-open-gallery').click();
    await page.getByTestId('gallery').waitFor();
    await expect.poll(() => page.getByTestId('selected-count').innerText()).toBe(String(want.length));
    await page.getByTestId('tile-size').getByRole('slider').focus();
    await page.keyboard.press('Home');
    await expect.poll(() => page.locator('[data-testid="tile"][data-image-id]').count()).toBe(total);
    const selected = await page.locator('[data-testid="tile"][aria-selected="true"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-image-id'))).sort((a, b) => a - b));
    expect(selected).toEqual(want);
    await screen(page, 'Audit');
  });

  it('ranks the label-next queue and ranks it again after a batch of labels', async () => {
    const { page } = app;
    await page.getByTestId('tab-next').click();
    await page.getByTestId('next-empty').waitFor();
    await page.getByTestId('next-batch').fill('3');
    await startAndWait(page, 'next-retrain', 'next-job', 'succeeded');
    const ranking = page.getByTestId('next-ranking');
    await ranking.waitFor({ timeout: 120_000 });
    const first = await ranking.getAttribute('data-ranking-id');
    const read = () => page.getByTestId('next-tile').evaluateAll((els) => els.map((e) => ({ id: Number(e.getAttribute('data-image-id')), score: Number(e.getAttribute('data-score')) })));
    await expect.poll(async () => (await read()).length).toBeGreaterThanOrEqual(CLASSES.length * POOL_PER_DIGIT);
    const queue1 = await read();
    expect(queue1.map((r) => r.score)).toEqual([...queue1.map((r) => r.score)].sort((a, b) => b - a));
    await screenshot(page, 'audit-label-next');

    // Label three pool images (training split) with their digit's key: each leaves the queue; the third starts the retrain.
    const pool: { id: number; digit: number }[] = [];
    for (let d = 0; d < CLASSES.length; d++) pool.push({ id: await idOf(page, `pool${d}-0.png`), digit: d });
    for (const [k, p] of pool.entries()) {
      await page.locator(`[data-testid="next-tile"][data-image-id="${p.id}"]`).click();
      await page.keyboard.press(String(classOrder.indexOf(CLASSES[p.digit]!) + 1));
      await expect.poll(() => page.getByTestId('next-tile').count()).toBe(queue1.length - k - 1);
    }
    await expect.poll(() => ranking.getAttribute('data-ranking-id'), { timeout: 120_000 }).not.toBe(first);
    await expect.poll(() => page.getByTestId('next-job').getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');
    const queue2 = await read();
    const labelled = new Set(pool.map((p) => p.id));
    expect(queue2.map((r) => r.id).sort()).toEqual(queue1.filter((r) => !labelled.has(r.id)).map((r) => r.id).sort());
    expect(queue2.map((r) => r.score)).toEqual([...queue2.map((r) => r.score)].sort((a, b) => b - a));
    // The head trained on three more labels: the scores moved.
    const before = new Map(queue1.map((r) => [r.id, r.score]));
    expect(queue2.some((r) => Math.abs(r.score - before.get(r.id)!) > 1e-6)).toBe(true);
  });

  it('exports the audit as CSV', async () => {
    const { page } = app;
    const out = path.join(tempDir('audit-out'), 'audit.csv');
    await page.getByTestId('audit-export-path').fill(out);
    await page.getByTestId('audit-export-start').click();
    await page.getByTestId('audit-export-result').waitFor({ timeout: 60_000 });
    const lines = fs.readFileSync(out, 'utf8').trim().split(/\r?\n/);
    expect(lines[0]).toBe('image,given,suggested,score,reason');
    expect(Number(await page.getByTestId('audit-export-result').getAttribute('data-rows'))).toBe(lines.length - 1);
    expect(lines.some((l) => l.includes(LEAK_COPY))).toBe(true);
    const open = [...flipped.values()].filter((f) => lines.some((l) => l.includes(f.file)));
    expect(open.length).toBeGreaterThan(0);
  });

  it('cancels an audit and keeps the previous one', async () => {
    const { page } = app;
    await startAndWait(page, 'audit-start', 'audit-job', 'running');
    await page.getByTestId('audit-job-cancel').click();
    await expect.poll(() => page.getByTestId('audit-job').getAttribute('data-state'), { timeout: 60_000 }).toBe('cancelled');
    await page.getByTestId('audit-job-cancelled').waitFor();
    expect(await page.getByTestId('audit-summary').getAttribute('data-audit-id')).toBe(auditId);
    expect(app.errors).toEqual([]);
  });
});
