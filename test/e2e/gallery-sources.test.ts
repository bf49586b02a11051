/**
 * The gallery's moved-source notice and file drops, end to end in browser mode: a source folder
 * renamed after import is reported with "Point to new location" (a wrong folder is refused with
 * its reason, the right one clears the notice); files dropped on the window open the import
 * dialog in a browser (no paths), and start an import at once where the shell gives paths (the
 * Electron preload's pathForFile, stood in for here), also when dropped on another screen.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDigits } from '../fixtures/digits';
import { type App, SCREENSHOTS, createProject, importFolder, openApp, tempDir } from './harness';

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Drops files named `names` onto the window, as a drag from the file manager does. */
async function dropFiles(page: Page, names: string[]): Promise<void> {
  const dt = await page.evaluateHandle((files) => {
    const d = new DataTransfer();
    for (const f of files) d.items.add(new File(['x'], f, { type: 'image/png' }));
    return d;
  }, names);
  await page.dispatchEvent('body', 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent('body', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('body', 'drop', { dataTransfer: dt });
}

describe('gallery: moved sources and dropped files', () => {
  let app: App;
  const home = tempDir('sources-home');
  const projectDir = path.join(tempDir('sources-project'), 'digits');
  const root = tempDir('sources-images');
  const original = path.join(root, 'digits');
  const moved = path.join(root, 'digits-moved');
  const more = path.join(root, 'more');

  beforeAll(async () => {
    await writeDigits(original, 4, 2);
    await writeDigits(more, 3, 3);
    fs.rmSync(path.join(more, '0'), { recursive: true });
    fs.rmSync(path.join(more, '1'), { recursive: true });
    app = await openApp(home);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('points a moved source at its new folder, and imports dropped files', async () => {
    const { page } = app;
    await createProject(page, projectDir);
    await importFolder(page, original);
    expect(await page.getByTestId('moved-source').count()).toBe(0);

    // The folder moves while the studio is open: noticed when the window gets the focus again.
    fs.renameSync(original, moved);
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    const notice = page.getByTestId('moved-source');
    await notice.waitFor();
    expect(await notice.innerText()).toContain(original);
    expect(await notice.innerText()).toContain('8 images');

    // A folder without these images is refused, with the reason; nothing changes.
    await page.getByTestId('relocate-root').fill(more);
    await page.getByTestId('relocate-start').click();
    await expect.poll(() => notice.getByRole('alert').innerText()).toMatch(/does not hold this source's images: of 8 checked, 8 missing/);
    await shot(page, 'gallery-moved-source');

    await page.getByTestId('relocate-root').fill(moved);
    await page.getByTestId('relocate-start').click();
    await expect.poll(() => page.getByTestId('moved-source').count()).toBe(0);

    // A browser gives no paths for dropped files: the import dialog opens to type one.
    await dropFiles(page, ['a.png']);
    await page.getByTestId('import-hint').waitFor();
    expect(await page.getByTestId('import-hint').innerText()).toMatch(/type or paste/);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('import-dialog').count()).toBe(0);

    // Where the shell gives paths (Electron's preload pathForFile), a drop imports at once.
    await page.evaluate((dir) => {
      (window as unknown as { studio: { pathForFile: (f: File) => string } }).studio = { pathForFile: (f: File) => `${dir}/${f.name}` };
    }, path.join(more, '2'));
    await dropFiles(page, ['0.png', '1.png', '2.png']);
    const report = page.getByTestId('import-report');
    await report.waitFor({ timeout: 30_000 });
    expect(await report.getByTestId('report-added').innerText()).toMatch(/\b3\b/);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('gallery-status').innerText()).toMatch(/^11 images/);

    // A drop on another screen opens the gallery and imports there.
    await page.locator('nav[aria-label="Screens"]').getByText('Export', { exact: true }).click();
    await page.getByTestId('gallery').waitFor({ state: 'detached' });
    await page.evaluate((dir) => {
      (window as unknown as { studio: { pathForFile: (f: File) => string } }).studio = { pathForFile: (f: File) => `${dir}/${f.name}` };
    }, path.join(more, '2'));
    await dropFiles(page, ['0.png']);
    await page.getByTestId('gallery').waitFor();
    await report.waitFor({ timeout: 30_000 });
    // The same file again: reported as a duplicate, not imported twice.
    expect(await report.getByTestId('report-duplicates').innerText()).toMatch(/\b1\b/);
    await page.keyboard.press('Escape');
    expect(app.errors).toEqual([]);
  });
});
