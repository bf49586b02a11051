/**
 * The gallery end to end: create a project, import a real folder (3 classes x 8 images and a
 * corrupt file), see the report and the tiles, tag with the keyboard, undo and redo, filter by
 * class, restart the host and find the labels kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createProject, openApp, screenshot, tempDir } from './harness';

const CLASSES = ['apple', 'banana', 'cherry'];
const PER_CLASS = 8;

async function makeImages(root: string): Promise<void> {
  const hues: Record<string, [number, number, number]> = { apple: [200, 40, 40], banana: [230, 210, 60], cherry: [120, 20, 70] };
  for (const c of CLASSES) {
    fs.mkdirSync(path.join(root, c), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const [r, g, b] = hues[c]!;
      const w = 64 + i * 8;
      // Distinct content per image: a coloured field with a square whose place depends on i.
      const square = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 255 - r, g: 255 - g, b: 255 - b } } }).png().toBuffer();
      await sharp({ create: { width: w, height: 64, channels: 3, background: { r, g: (g + i * 9) % 256, b } } })
        .composite([{ input: square, left: i * 5, top: (i * 7) % 48 }])
        .png()
        .toFile(path.join(root, c, `${c}-${i}.png`));
    }
  }
  fs.writeFileSync(path.join(root, 'banana', 'broken.jpg'), Buffer.from('this is not a jpeg at all'));
}

async function classCount(page: Page, name: string): Promise<number> {
  return Number(await page.locator(`[data-testid="class-row"][data-class-name="${name}"] [data-testid="class-count"]`).innerText());
}

async function tileClasses(page: Page, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await page.locator(`[data-testid="tile"][data-index="${i}"]`).getAttribute('data-class')) ?? '');
  return out;
}

describe('gallery', () => {
  let app: App;
  const home = tempDir('gallery-home');
  const projectDir = path.join(tempDir('gallery-project'), 'fruit');
  const images = tempDir('gallery-images');

  beforeAll(async () => {
    await makeImages(images);
    app = await openApp(home);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('imports, tags with the keyboard, undoes, filters and keeps labels across a restart', async () => {
    const { page } = app;
    await createProject(page, projectDir);

    // Import the folder: a job with progress in the status bar, then the report.
    await page.getByTestId('import-open').click();
    await page.getByTestId('import-source').fill(images);
    await page.getByTestId('import-start').click();
    const report = page.getByTestId('import-report');
    await report.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('report-added').innerText()).toContain(String(CLASSES.length * PER_CLASS));
    expect(await page.getByTestId('report-failures').innerText()).toContain('1');
    const failure = page.getByTestId('report-failure');
    expect(await failure.count()).toBe(1);
    expect(await failure.innerText()).toContain('broken.jpg');
    await screenshot(page, 'gallery-import-report');
    await page.keyboard.press('Escape');
    await report.waitFor({ state: 'detached' });

    // Tiles render with real thumbnails, class names and colours.
    const grid = page.getByTestId('gallery-grid');
    await expect.poll(() => grid.getAttribute('data-total')).toBe(String(CLASSES.length * PER_CLASS));
    await page.locator('[data-testid="tile"][data-image-id]').first().waitFor();
    for (const c of CLASSES) expect(await classCount(page, c)).toBe(PER_CLASS);
    await screenshot(page, 'gallery-tiles');

    // Keyboard tagging: the first three tiles (import order: apple) become class 2 (banana).
    const before = await tileClasses(page, 3);
    expect(before).toEqual(['apple', 'apple', 'apple']);
    await page.locator('[data-testid="tile"][data-index="0"]').click();
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await expect.poll(() => page.getByTestId('selected-count').innerText()).toBe('3');
    expect(await page.locator('[data-testid="tile"][aria-selected="true"]').count()).toBe(3);
    await page.keyboard.press('2');
    await expect.poll(() => tileClasses(page, 3)).toEqual(['banana', 'banana', 'banana']);
    await expect.poll(() => classCount(page, 'banana')).toBe(PER_CLASS + 3);
    expect(await classCount(page, 'apple')).toBe(PER_CLASS - 3);
    await screenshot(page, 'gallery-tagged');

    // Undo and redo.
    await page.keyboard.press('Control+z');
    await expect.poll(() => tileClasses(page, 3)).toEqual(['apple', 'apple', 'apple']);
    await expect.poll(() => classCount(page, 'banana')).toBe(PER_CLASS);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => tileClasses(page, 3)).toEqual(['banana', 'banana', 'banana']);
    await expect.poll(() => classCount(page, 'apple')).toBe(PER_CLASS - 3);

    // 0 removes the label of the focused selection; undo puts it back.
    await page.keyboard.press('0');
    await expect.poll(() => tileClasses(page, 3)).toEqual(['', '', '']);
    await page.keyboard.press('Control+z');
    await expect.poll(() => tileClasses(page, 3)).toEqual(['banana', 'banana', 'banana']);

    // Filter by class.
    await page.getByTestId('filter-class').click();
    await page.getByRole('option', { name: /^banana/ }).click();
    await expect.poll(() => grid.getAttribute('data-total')).toBe(String(PER_CLASS + 3));
    await expect.poll(async () => (await tileClasses(page, PER_CLASS + 3)).every((c) => c === 'banana')).toBe(true);
    await screenshot(page, 'gallery-filter-banana');

    // Ctrl+A selects everything in the current filter (from the store, not just the tiles in view).
    await page.locator('[data-testid="tile"][data-index="1"]').click();
    await page.keyboard.press('Control+a');
    await expect.poll(() => page.getByTestId('selected-count').innerText()).toBe(String(PER_CLASS + 3));
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('selected-count').innerText()).toBe('0');

    // Drag a tile onto a class in the classes panel; undo puts it back.
    await page.locator('[data-testid="tile"][data-index="0"]').dragTo(page.locator('[data-testid="class-row"][data-class-name="cherry"]'));
    await expect.poll(() => classCount(page, 'cherry')).toBe(PER_CLASS + 1);
    await expect.poll(() => grid.getAttribute('data-total')).toBe(String(PER_CLASS + 2));
    await page.keyboard.press('Control+z');
    await expect.poll(() => classCount(page, 'cherry')).toBe(PER_CLASS);
    await expect.poll(() => grid.getAttribute('data-total')).toBe(String(PER_CLASS + 3));

    // Preview with details on Space.
    await page.locator('[data-testid="tile"][data-index="0"]').click();
    await page.keyboard.press(' ');
    await page.getByTestId('preview-details').waitFor();
    expect((await page.getByTestId('preview-details').innerText()).toLowerCase()).toContain('banana');
    await screenshot(page, 'gallery-preview');
    await page.keyboard.press('Escape');

    // Restart the host: the labels are in the store.
    const page2 = await app.restart();
    // The new host starts with no project open: the recent list brings it back.
    await page2.getByTestId('recent-project').getByText('fruit', { exact: true }).click();
    await page2.getByTestId('gallery-grid').waitFor({ timeout: 15_000 });
    await expect.poll(() => classCount(page2, 'banana')).toBe(PER_CLASS + 3);
    expect(await classCount(page2, 'apple')).toBe(PER_CLASS - 3);
    await expect.poll(() => tileClasses(page2, 3)).toEqual(['banana', 'banana', 'banana']);
    await screenshot(page2, 'gallery-after-restart');

    // Tiles show real thumbnails (served by the host at /files/thumb/<id>).
    await expect
      .poll(() => page2.locator('[data-testid="tile"] img').first().evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth), { timeout: 10_000 })
      .toBeGreaterThan(0);

    // Auto split (stratified, seed 42 by default) fills the validation split.
    await page2.getByTestId('auto-split').click();
    expect(await page2.getByTestId('split-seed').inputValue()).toBe('42');
    await page2.getByTestId('split-run').click();
    await expect.poll(() => page2.getByTestId('split-result').innerText()).toMatch(/\d+ train · \d+ validation/);
    await page2.keyboard.press('Escape');
    await page2.getByTestId('filter-split').getByText(/^Val/).click();
    await expect.poll(async () => Number(await page2.getByTestId('gallery-grid').getAttribute('data-total'))).toBeGreaterThan(0);
    await expect.poll(async () => (await page2.locator('[data-testid="tile"][data-image-id]').evaluateAll((ts) => ts.map((t) => t.getAttribute('data-split')))).every((x) => x === 'val')).toBe(true);
    await screenshot(page2, 'gallery-val-split');

    // Merge cherry into apple from the classes panel.
    page2.once('dialog', (d) => void d.accept());
    await page2.getByRole('button', { name: 'Actions for cherry' }).click();
    await page2.getByTestId('merge-into').getByText('apple').click();
    await expect.poll(() => page2.locator('[data-testid="class-row"][data-class-name="cherry"]').count()).toBe(0);
    await expect.poll(() => classCount(page2, 'apple')).toBe(PER_CLASS - 3 + PER_CLASS);
    expect(app.errors).toEqual([]);
  });
});
