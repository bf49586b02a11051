/**
 * Grad-CAM in Evaluate, with the real host, engine and model: a scenario-1 run (trained from the
 * CLI) on corner-patch images; the matrix cell's images and the top-loss view open an image with
 * its heatmap (the tile's button, or E), drawn where the engine's map peaks; the class picker
 * changes the class explained, the slider the heatmap's opacity.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heatmapPeak } from '../../src/shared/heatmap';
import { MODEL_025 } from '../fixtures/assets';
import { PATCH_CLASSES, writePatchImages } from '../fixtures/corner-patches';
import { type App, cliJson, openApp, pageCall, screenshot, tempDir } from './harness';

const screen = (page: Page, name: string) => page.locator('nav[aria-label="Screens"]').getByText(name, { exact: true }).click();

/** The heat scale's colour the canvas shows at fractions (x, y) of the preview. */
async function canvasPixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.getByTestId('heatmap-canvas').evaluate(
    (el, [fx, fy]) => {
      const c = el as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(Math.floor(fx! * c.width), Math.floor(fy! * c.height), 1, 1).data);
    },
    [x, y],
  );
}

describe('explain in Evaluate', () => {
  let app: App;
  const home = tempDir('explain-home');
  const projectDir = path.join(tempDir('explain-project'), 'patches');
  const images = tempDir('explain-images');

  beforeAll(async () => {
    await writePatchImages(path.join(images, 'train'), 24, { folders: true });
    await cliJson(home, 'project', 'create', projectDir);
    await cliJson(home, 'import', projectDir, path.join(images, 'train'));
    await cliJson(home, 'split', projectDir, '--val', '0.25');
    await cliJson(home, 'models', 'import', MODEL_025);
    await cliJson(home, 'train', projectDir, '--scenario', '1', '--epochs', '20', '--lr', '0.003', '--seed', '5');
    app = await openApp(home);
    await app.page.getByTestId('project-dir').fill(projectDir);
    await app.page.getByRole('button', { name: 'Open project' }).click();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('shows the heatmap of a cell image, another class on request, at the opacity chosen', async () => {
    const { page } = app;
    await screen(page, 'Evaluate');
    await page.locator('[data-testid="cm-cell"][data-true="0"][data-pred="0"]').click();
    const tile = page.getByTestId('cell-grid').getByTestId('pred-tile').first();
    await tile.waitFor();
    const imageId = Number(await tile.getAttribute('data-image-id'));
    const predicted = (await tile.getAttribute('data-predicted'))!;
    await tile.getByTestId('pred-explain').click();
    const preview = page.getByTestId('heatmap-preview');
    await expect.poll(() => preview.getAttribute('data-state'), { timeout: 60_000 }).toBe('ready');
    expect(await preview.getAttribute('data-class')).toBe(predicted);
    // Drawn where the engine's map peaks: the hot end of the scale (dark red) at the peak.
    const heat = await pageCall(page, 'imageHeatmap', { runId: 1, imageId });
    const peak = heatmapPeak(heat.map, 64, 64);
    expect(Number(await preview.getAttribute('data-peak-x'))).toBeCloseTo(peak.x, 3);
    expect(Number(await preview.getAttribute('data-peak-y'))).toBeCloseTo(peak.y, 3);
    const [r, g, b] = await canvasPixel(page, peak.x, peak.y);
    expect(r!).toBeGreaterThan(100);
    expect(Math.max(g!, b!)).toBeLessThan(40);
    await screenshot(page, 'evaluate-heatmap');

    // Another class: its own map (the same image, the class picker's choice).
    const other = PATCH_CLASSES.find((c) => c !== predicted)!;
    await page.getByTestId('heatmap-class').click();
    await page.getByRole('option', { name: new RegExp(`^${other} ·`) }).click();
    await expect.poll(() => preview.getAttribute('data-class')).toBe(other);
    await expect.poll(() => preview.getAttribute('data-state')).toBe('ready');
    const otherHeat = await pageCall(page, 'imageHeatmap', { runId: 1, imageId, className: other });
    expect(otherHeat.classIndex).toBe(heat.classNames.indexOf(other));
    expect(otherHeat.map.values).not.toEqual(heat.map.values);

    // Opacity: the slider's keys move it by 5%.
    const canvas = page.getByTestId('heatmap-canvas');
    expect(await canvas.evaluate((el) => getComputedStyle(el).opacity)).toBe('0.5');
    await page.getByTestId('heatmap-opacity').getByRole('slider').focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => canvas.evaluate((el) => getComputedStyle(el).opacity)).toBe('0.4');
    await page.keyboard.press('Escape');
    await expect.poll(() => preview.count()).toBe(0);
  });

  it('opens the heatmap from the top-loss view with E', async () => {
    const { page } = app;
    await page.getByTestId('tab-mistakes').click();
    await page.getByTestId('mistakes-view').getByText('Top losses (all labelled)').click();
    const tile = page.getByTestId('mistakes-grid').getByTestId('pred-tile').first();
    await tile.click();
    await page.keyboard.press('e');
    const preview = page.getByTestId('heatmap-preview');
    await expect.poll(() => preview.getAttribute('data-state'), { timeout: 60_000 }).toBe('ready');
    expect(await preview.getAttribute('data-class')).toBe(await tile.getAttribute('data-predicted'));
    expect(app.errors).toEqual([]);
  });
});
