/**
 * Training end to end, with the real host, engine and model: import a split-first folder of
 * red/green/blue noisy squares (one red square filed under val/green, and unlabelled test
 * images), walk the wizard, train scenario 1 for a few epochs with live progress, read the
 * confusion matrix, open a cell and get exactly its images, fix a label from the misclassified
 * view, accept a label suggestion, queue two more runs and cancel one, and compare two runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_025 } from '../fixtures/assets';
import { type App, attributeNow, cliJson, createProject, importFolder, openApp, screenshot, tempDir } from './harness';

const COLOURS: Record<string, [number, number, number]> = { red: [215, 35, 35], green: [35, 170, 55], blue: [35, 60, 215] };
const TRAIN_PER_CLASS = 10;
const VAL_PER_CLASS = 3;
const TEST_IMAGES = 6;

let seed = 1;
async function square(file: string, rgb: [number, number, number]): Promise<void> {
  const w = 48;
  const raw = Buffer.alloc(w * w * 3);
  for (let p = 0; p < w * w; p++) for (let k = 0; k < 3; k++) raw[p * 3 + k] = Math.max(0, Math.min(255, rgb[k]! + Math.round(Math.sin(p * 12.9898 + seed * 78.233) * 43758.5453 % 1 * 60)));
  seed++;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(raw, { raw: { width: w, height: w, channels: 3 } }).png().toFile(file);
}

async function makeImages(root: string): Promise<void> {
  for (const [name, rgb] of Object.entries(COLOURS)) {
    for (let i = 0; i < TRAIN_PER_CLASS; i++) await square(path.join(root, 'train', name, `${name}-t${i}.png`), rgb);
    for (let i = 0; i < VAL_PER_CLASS; i++) await square(path.join(root, 'val', name, `${name}-v${i}.png`), rgb);
  }
  // A wrong label the model should catch: a red square filed as green.
  await square(path.join(root, 'val', 'green', 'mislabelled-red.png'), COLOURS.red!);
  const names = Object.keys(COLOURS);
  for (let i = 0; i < TEST_IMAGES; i++) await square(path.join(root, 'test', `unknown-${i}.png`), COLOURS[names[i % 3]!]!);
}

async function gotoScreen(page: Page, name: 'Gallery' | 'Train' | 'Evaluate'): Promise<void> {
  await page.locator('nav[aria-label="Screens"]').getByText(name, { exact: true }).click();
}

async function setField(page: Page, testId: string, value: string): Promise<void> {
  const f = page.getByTestId(testId);
  await f.fill(value);
  await f.blur();
}

/** Walks the wizard from the New run tab and starts a run (scenario 1 unless told); returns nothing, the Training tab opens. */
async function startRun(page: Page, opts: { epochs: number; lr: string; seed: string; scenario?: 1 | 4; shots?: boolean }): Promise<void> {
  await page.getByTestId('tab-wizard').click();
  await page.getByTestId('step-data').waitFor();
  if (opts.shots) await screenshot(page, 'train-wizard-data');
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('similarity-high').click();
  if (opts.shots) {
    // The studio's own estimate arrives from the engine, with its evidence in words.
    await page.getByTestId('advice-estimate').filter({ hasText: /Similarity (high|low) \(score/ }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('advice-evidence').locator('li').count()).toBe(4);
    await screenshot(page, 'train-wizard-similarity');
  }
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('scenario-chart').waitFor();
  if (opts.shots) {
    expect(await page.getByTestId('scenario-card-1').getAttribute('data-recommended')).toBe('true');
    await screenshot(page, 'train-wizard-scenario');
    // Scenario 2's settings: the advisor's freeze boundary (k of the blocks), frozen and trainable parameters, its own fields.
    await page.getByTestId('scenario-2').click();
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('frozen-params').filter({ hasText: /k = 9 of 13 blocks/ }).waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="layer-row"][data-frozen="true"]').last().getAttribute('data-layer')).toBe('conv_pw_9_relu');
    await page.getByTestId('field-lr-pretrained').waitFor();
    await page.getByTestId('field-train-bn').waitFor();
    await screenshot(page, 'train-wizard-settings-scenario2');
    await page.getByTestId('wizard-back').click();
  }
  await page.getByTestId(`scenario-${opts.scenario ?? 1}`).click();
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('step-settings').waitFor();
  await setField(page, 'field-epochs', String(opts.epochs));
  await setField(page, 'field-lr', opts.lr);
  await setField(page, 'field-batch', '8');
  await setField(page, 'field-seed', opts.seed);
  await setField(page, 'field-patience', '0');
  if (opts.shots) {
    // A bad value is refused on its field and blocks Next.
    await setField(page, 'field-hidden', '64, lots');
    await expect.poll(() => page.getByTestId('wizard-next').isDisabled()).toBe(true);
    await page.getByText('Hidden layer sizes are whole numbers').waitFor();
    await setField(page, 'field-hidden', '64');
    await page.getByTestId('layer-list').waitFor({ timeout: 30_000 });
    await screenshot(page, 'train-wizard-settings');
  }
  await expect.poll(() => page.getByTestId('wizard-next').isEnabled()).toBe(true);
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('step-review').waitFor();
  if (opts.shots) await screenshot(page, 'train-wizard-review');
  await page.getByTestId('start-training').click();
  await page.getByTestId('live-run').waitFor();
}

const runState = (page: Page): Promise<string | null> => page.getByTestId('live-run').getAttribute('data-state');

describe('training', () => {
  let app: App;
  const home = tempDir('training-home');
  const projectDir = path.join(tempDir('training-project'), 'colours');
  const images = tempDir('training-images');

  beforeAll(async () => {
    await makeImages(images);
    await cliJson(home, 'models', 'import', MODEL_025);
    app = await openApp(home);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('walks the wizard, trains with live progress, evaluates, fixes labels, queues, cancels and compares', async () => {
    const { page } = app;
    await createProject(page, projectDir);
    await importFolder(page, images);

    // ---- the wizard and the first run --------------------------------------------------------
    await gotoScreen(page, 'Train');
    await page.getByTestId('step-data').waitFor();
    expect(await page.getByTestId('balance-row').count()).toBe(3);
    await expect.poll(() => page.getByTestId('data-warnings').innerText()).toContain(`${TEST_IMAGES} images are unlabelled`);
    const progress: string[] = [];
    await startRun(page, { epochs: 3, lr: '0.01', seed: '42', shots: true });
    const run1 = Number(await page.getByTestId('live-run').getAttribute('data-run-id'));

    // Progress arrives: the phase moves and the text shows epochs and images/s.
    await expect
      .poll(
        async () => {
          const phase = (await attributeNow(page.getByTestId('run-progress'), 'data-phase')) ?? '';
          if (phase) progress.push(phase);
          return phase === 'train' || (await runState(page)) !== 'running';
        },
        { timeout: 90_000, interval: 200 },
      )
      .toBe(true);
    if ((await runState(page)) === 'running') {
      await expect.poll(() => page.getByTestId('progress-text').innerText(), { timeout: 60_000 }).toMatch(/epoch \d+\/3/);
      await screenshot(page, 'train-live');
      // Leave the screen and come back: the run is still live.
      await gotoScreen(page, 'Gallery');
      await gotoScreen(page, 'Train');
      await page.getByTestId('live-run').waitFor();
    }
    await expect.poll(() => runState(page), { timeout: 120_000 }).toBe('succeeded');
    expect(progress.length).toBeGreaterThan(0);
    expect(await page.getByTestId('run-backend').innerText()).toMatch(/Backend: (WebAssembly|TensorFlow|plain JavaScript)/);
    // The head trained on ONNX Runtime, and the run says so.
    expect(await page.getByTestId('run-backend').innerText()).toMatch(/ · head: ONNX Runtime \(CPU, \d+ threads?\)$/);
    const live = page.getByTestId('live-confusion');
    expect((await live.getByTestId('cm-col').allInnerTexts()).sort()).toEqual(['blue', 'green', 'red']);
    await screenshot(page, 'train-finished');

    // ---- evaluate: the matrix, a cell's images ----------------------------------------------
    await page.getByTestId('evaluate-run').click();
    const cm = page.getByTestId('eval-confusion');
    await cm.waitFor();
    const names = await cm.getByTestId('cm-col').allInnerTexts();
    expect([...names].sort()).toEqual(['blue', 'green', 'red']);
    const counts = await cm.getByTestId('cm-cell').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3 * VAL_PER_CLASS + 1);
    expect(await page.getByTestId('metrics-row').count()).toBe(3);
    await screenshot(page, 'evaluate-matrix');
    // Keyboard: focus the first cell, move to the cell of true red (and the prediction with most images), open with Enter.
    const redRow = names.indexOf('red');
    const redCounts = counts.slice(redRow * 3, redRow * 3 + 3);
    const col = redCounts.indexOf(Math.max(...redCounts));
    await cm.locator('[data-testid="cm-cell"][data-true="0"][data-pred="0"]').focus();
    for (let i = 0; i < redRow; i++) await page.keyboard.press('ArrowDown');
    for (let i = 0; i < col; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const cell = page.getByTestId('cell-grid');
    await expect.poll(() => cell.getAttribute('data-total')).toBe(String(redCounts[col]));
    const tiles = cell.getByTestId('pred-tile');
    await expect.poll(() => tiles.count()).toBe(redCounts[col]);
    expect(new Set(await tiles.evaluateAll((els) => els.map((e) => e.getAttribute('data-class'))))).toEqual(new Set(['red']));
    expect(new Set(await tiles.evaluateAll((els) => els.map((e) => e.getAttribute('data-predicted'))))).toEqual(new Set([names[col]]));
    expect(await tiles.first().getByTestId('pred-text').innerText()).toMatch(/→ \w+ \d+%/);
    await screenshot(page, 'evaluate-cell');

    // ---- the misclassified view: fix a label with the gallery's keys ------------------------
    await page.getByTestId('tab-mistakes').click();
    const wrong = page.getByTestId('mistakes-grid');
    await expect.poll(async () => Number(await wrong.getAttribute('data-total'))).toBeGreaterThan(0);
    const wrongBefore = Number(await wrong.getAttribute('data-total'));
    const first = wrong.getByTestId('pred-tile').first();
    const predicted = (await first.getAttribute('data-predicted'))!;
    const fixedId = await first.getAttribute('data-image-id');
    await screenshot(page, 'evaluate-mistakes');
    await first.click();
    const classOrder = await page.locator('[data-testid="class-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-class-name')));
    await page.keyboard.press(String(classOrder.indexOf(predicted) + 1));
    await expect.poll(() => wrong.getAttribute('data-total')).toBe(String(wrongBefore - 1));
    expect(await wrong.locator(`[data-image-id="${fixedId}"]`).count()).toBe(0);
    // Undo and redo, as in the gallery.
    await page.keyboard.press('Control+z');
    await expect.poll(() => wrong.getAttribute('data-total')).toBe(String(wrongBefore));
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => wrong.getAttribute('data-total')).toBe(String(wrongBefore - 1));

    // ---- label suggestions: accept one with Enter -------------------------------------------
    await page.getByTestId('tab-suggestions').click();
    const sugg = page.getByTestId('suggestions-grid');
    await expect.poll(() => sugg.getAttribute('data-total')).toBe(String(TEST_IMAGES));
    await screenshot(page, 'evaluate-suggestions');
    await sugg.getByTestId('pred-tile').first().click();
    await page.keyboard.press('Enter');
    await expect.poll(() => sugg.getAttribute('data-total')).toBe(String(TEST_IMAGES - 1));

    // ---- two more runs queue behind each other; cancel the long one while it trains ---------
    // The long run fine-tunes the whole network (scenario 4, 200 epochs): every epoch runs
    // MobileNet forward and backward, so it is still training when cancelled. A scenario-1 head
    // on cached features (ONNX Runtime) finishes 200 epochs of 30 images in about a second.
    await gotoScreen(page, 'Train');
    await startRun(page, { epochs: 200, lr: '0.005', seed: '9', scenario: 4 });
    const runLong = Number(await page.getByTestId('live-run').getAttribute('data-run-id'));
    await startRun(page, { epochs: 2, lr: '0.005', seed: '7' });
    const run2 = Number(await page.getByTestId('live-run').getAttribute('data-run-id'));
    expect(run2).toBeGreaterThan(runLong);
    await expect.poll(() => page.getByTestId('queue-item').count()).toBe(2);
    await expect.poll(() => page.locator(`[data-testid="queue-item"][data-run-id="${run2}"]`).innerText()).toMatch(/#2 in queue/);
    await screenshot(page, 'train-queue');
    await page.locator(`[data-testid="queue-item"][data-run-id="${runLong}"]`).click();
    await expect.poll(() => page.getByTestId('live-run').getAttribute('data-run-id')).toBe(String(runLong));
    await expect.poll(() => page.getByTestId('run-progress').getAttribute('data-phase'), { timeout: 60_000 }).toBe('train');
    await page.getByTestId('cancel-run').click();
    await expect.poll(() => runState(page), { timeout: 60_000 }).toBe('cancelled');
    await screenshot(page, 'train-cancelled');
    // The queued run starts once the cancelled one has ended.
    await page.locator(`[data-testid="queue-item"][data-run-id="${run2}"], [data-testid="recent-run"][data-run-id="${run2}"]`).first().click();
    await expect.poll(() => page.getByTestId('live-run').getAttribute('data-run-id')).toBe(String(run2));
    await expect.poll(() => runState(page), { timeout: 120_000 }).toBe('succeeded');

    // ---- compare two runs --------------------------------------------------------------------
    await gotoScreen(page, 'Evaluate');
    await page.getByTestId('tab-history').click();
    await page.locator(`[data-testid="history-row"][data-run-id="${run1}"] [data-testid="compare-check"]`).check();
    await page.locator(`[data-testid="history-row"][data-run-id="${run2}"] [data-testid="compare-check"]`).check();
    const compare = page.getByTestId('run-compare');
    await compare.waitFor();
    const diffs = await compare.getByTestId('diff-row').allInnerTexts();
    expect(diffs.some((d) => d.startsWith('seed'))).toBe(true);
    expect(diffs.some((d) => d.startsWith('lr'))).toBe(true);
    // Side by side: the figures, and one row of validation accuracy per class of the project.
    expect(await compare.getByTestId('compare-summary').getByTestId('side-row').first().innerText()).toMatch(/^model/);
    expect(await compare.getByTestId('compare-per-class').getByTestId('side-row').count()).toBeGreaterThan(1);
    await page.getByTestId(`compare-confusion-${run1}`).waitFor();
    await page.getByTestId(`compare-confusion-${run2}`).waitFor();
    expect(await compare.locator('path[data-series$="val-loss"]').count()).toBe(2);
    await screenshot(page, 'evaluate-compare');
    expect(app.errors).toEqual([]);
  });
});
