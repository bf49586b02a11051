/**
 * Export end to end, with the real host, engine and model: a project of real handwritten digits
 * (three classes, cut from test/assets/datasets/opencv-digits.png) with an unlabelled test folder,
 * a short scenario 1 run started through the same API the UI uses, then on the Export screen:
 * predict the test set with progress, filter the review grid by a predicted class, correct one
 * prediction with a key, export the submission (the corrected label wins), the probabilities, the
 * model (TensorFlow.js and ONNX) and the labelled dataset, and check them on disk. Also: a missing output folder and an
 * existing file give clear errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDigits } from '../fixtures/digits';
import { MODEL_025 } from '../fixtures/assets';
import { type App, SCREENSHOTS, cliJson, openApp, pageCall as call, tempDir } from './harness';

const CLASSES = 3;
const PER_CLASS = 15;
const TEST_PER_CLASS = 4;
const TEST_IMAGES = CLASSES * TEST_PER_CLASS;

/** Digits 0..2 for training under train/<digit>/, and a flat test folder of unlabelled digits named test-NN.png. */
async function makeImages(root: string): Promise<{ train: string; test: string }> {
  const train = path.join(root, 'train');
  const test = path.join(root, 'test');
  const scratch = path.join(root, 'scratch');
  await writeDigits(scratch, PER_CLASS + TEST_PER_CLASS, CLASSES);
  fs.mkdirSync(test, { recursive: true });
  let n = 0;
  for (let d = 0; d < CLASSES; d++) {
    fs.mkdirSync(path.join(train, String(d)), { recursive: true });
    for (let i = 0; i < PER_CLASS + TEST_PER_CLASS; i++) {
      const from = path.join(scratch, String(d), `${i}.png`);
      if (i < PER_CLASS) fs.renameSync(from, path.join(train, String(d), `${i}.png`));
      else fs.renameSync(from, path.join(test, `test-${String(n++).padStart(2, '0')}.png`));
    }
  }
  fs.rmSync(scratch, { recursive: true });
  return { train, test };
}

/** A viewport screenshot with `testId` scrolled into view (a full-page shot of the scrolled shell repeats its header). */
async function shot(page: Page, name: string, testId: string): Promise<void> {
  await page.getByTestId(testId).evaluate((el) => el.scrollIntoView({ block: 'center' }));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

function readCsv(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l !== '')
    .map((l) => l.split(','));
}

describe('export', () => {
  let app: App;
  const home = tempDir('export-home');
  const projectDir = path.join(tempDir('export-project'), 'digits');
  const outDir = tempDir('export-out');
  let modelId = '';
  let images = { train: '', test: '' };

  beforeAll(async () => {
    images = await makeImages(tempDir('export-images'));
    modelId = ((await cliJson(home, 'models', 'import', MODEL_025)) as { model: { id: string } }).model.id;
    await cliJson(home, 'project', 'create', projectDir);
    await cliJson(home, 'import', projectDir, images.train);
    await cliJson(home, 'import', projectDir, images.test, '--split', 'test');
    await cliJson(home, 'split', projectDir, '--val', '0.2', '--seed', '1');
    app = await openApp(home);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('predicts the test set, reviews and corrects a prediction, exports the submission, probabilities, model and dataset', async () => {
    const { page } = app;
    await page.getByTestId('project-dir').fill(projectDir);
    await page.getByRole('button', { name: 'Open project' }).click();
    await page.getByTestId('gallery').waitFor();

    // A short scenario 1 run through the API the wizard uses (the wizard has its own e2e test).
    const { runId } = await call(page, 'startTraining', { config: { scenario: 1, model: modelId, epochs: 3, batchSize: 8, lr: 0.01, patience: 0, seed: 3 } });
    await expect
      .poll(async () => (await call(page, 'listRuns', {})).find((r) => r.id === runId)?.state, { timeout: 90_000, interval: 250 })
      .toBe('succeeded');

    // ---- the run: the latest succeeded by default --------------------------------------------
    await page.locator('nav[aria-label="Screens"]').getByText('Export', { exact: true }).click();
    const summary = page.getByTestId('export-run-summary');
    await expect.poll(() => summary.getAttribute('data-run-id')).toBe(String(runId));
    expect(await summary.innerText()).toMatch(/Feature extraction/);
    expect(await page.getByTestId('export-run-accuracy').innerText()).toMatch(/validation accuracy \d+\.\d%/);
    // A finished run has already predicted every test image.
    await expect.poll(() => page.getByTestId('export-run-coverage').innerText()).toBe(`${TEST_IMAGES} of ${TEST_IMAGES} test images predicted by this run`);

    // ---- predict the test set again: a job with progress, then its result --------------------
    // Record every state the job's panel shows (the job can be short).
    await page.evaluate(() => {
      const w = window as unknown as { predictStates: string[] };
      w.predictStates = [];
      new MutationObserver(() => {
        const el = document.querySelector('[data-testid="predict-job"]');
        const s = el?.getAttribute('data-state') ?? '';
        if (s) w.predictStates.push(document.querySelector('[data-testid="predict-job-progress"]') ? `${s}+bar` : s);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByTestId('predict-test').click();
    await expect.poll(() => page.getByTestId('predict-job').getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');
    expect(await page.getByTestId('predict-result').innerText()).toBe(`${TEST_IMAGES} test images predicted.`);
    const states = await page.evaluate(() => (window as unknown as { predictStates: string[] }).predictStates);
    expect(states).toContain('running+bar');
    await shot(page, 'export-predicted', 'export-section-run');

    // ---- review: filter by a predicted class, sort, correct one prediction -------------------
    const grid = page.getByTestId('review-grid');
    await expect.poll(() => grid.getAttribute('data-total')).toBe(String(TEST_IMAGES));
    const tiles = grid.getByTestId('pred-tile');
    // Least confident first by default.
    const conf = await tiles.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-confidence'))));
    expect(conf).toEqual([...conf].sort((a, b) => a - b));
    const predictedNames = await tiles.evaluateAll((els) => els.map((e) => e.getAttribute('data-predicted')!));
    const target = predictedNames[0]!;
    const inTarget = predictedNames.filter((n) => n === target).length;
    await page.getByTestId('review-class').click();
    await page.getByRole('option', { name: target, exact: true }).click();
    await expect.poll(() => grid.getAttribute('data-total')).toBe(String(inTarget));
    expect(new Set(await tiles.evaluateAll((els) => els.map((e) => e.getAttribute('data-predicted'))))).toEqual(new Set([target]));
    // Most confident first.
    await page.getByTestId('review-sort').getByText('Most confident first').click();
    await expect
      .poll(async () => {
        const c = await tiles.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-confidence'))));
        return c.length === inTarget && c.every((x, i) => i === 0 || c[i - 1]! >= x);
      })
      .toBe(true);
    // Correct the first: give it a class other than the predicted one, with the gallery's key.
    const first = tiles.first();
    const fixedName = (await first.getAttribute('aria-label'))!.split(',')[0]!;
    const classOrder = await page.locator('[data-testid="class-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-class-name')!));
    const corrected = classOrder.find((c) => c !== target)!;
    await first.click();
    await page.keyboard.press(String(classOrder.indexOf(corrected) + 1));
    const fixed = grid.locator(`[data-testid="pred-tile"][aria-label^="${fixedName},"]`);
    await expect.poll(() => fixed.getAttribute('data-class')).toBe(corrected);
    expect(await fixed.getAttribute('aria-label')).toMatch(/your label is used$/);
    await shot(page, 'export-review', 'export-section-review');

    // ---- export: a folder that does not exist is refused with a clear error ------------------
    const out = page.getByTestId('export-out');
    expect(await out.inputValue()).toBe(path.join(projectDir, `submission-run${runId}.csv`));
    await out.fill(path.join(outDir, 'missing', 'submission.csv'));
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-job').getAttribute('data-state')).toBe('failed');
    expect(await page.getByTestId('export-job').getByRole('alert').innerText()).toContain(`${path.join(outDir, 'missing')} does not exist`);
    await shot(page, 'export-error', 'export-job');

    // ---- the submission, with the competition's column names ---------------------------------
    const submission = path.join(outDir, 'submission.csv');
    await out.fill(submission);
    await page.getByTestId('export-id-column').fill('id');
    await page.getByTestId('export-label-column').fill('digit');
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-job').getAttribute('data-state'), { timeout: 30_000 }).toBe('succeeded');
    expect(await page.getByTestId('export-path').innerText()).toBe(submission);
    expect(await page.getByTestId('export-result').innerText()).toContain('1 row whose label came from your label rather than the prediction');
    await shot(page, 'export-submission', 'export-result');
    const rows = readCsv(submission);
    expect(rows[0]).toEqual(['id', 'digit']);
    expect(rows.length).toBe(TEST_IMAGES + 1);
    expect(rows.slice(1).map((r) => r[0])).toEqual(Array.from({ length: TEST_IMAGES }, (_, i) => `test-${String(i).padStart(2, '0')}.png`));
    expect(rows.slice(1).every((r) => classOrder.includes(r[1]!))).toBe(true);
    expect(rows.find((r) => r[0] === fixedName)?.[1]).toBe(corrected);
    // The same file again: refused until replacing it is allowed.
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-job').getAttribute('data-state')).toBe('failed');
    await page.getByTestId('export-conflict-hint').waitFor();
    await page.getByTestId('export-overwrite').check();
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-job').getAttribute('data-state')).toBe('succeeded');

    // ---- the probabilities --------------------------------------------------------------------
    await page.getByTestId('export-kind').click();
    await page.getByRole('option', { name: 'Probabilities CSV', exact: true }).click();
    const probabilities = path.join(outDir, 'probabilities.csv');
    await out.fill(probabilities);
    await page.getByTestId('export-id-column').fill('');
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-result').getAttribute('data-kind'), { timeout: 30_000 }).toBe('probabilities');
    expect(await page.getByTestId('export-path').innerText()).toBe(probabilities);
    const probs = readCsv(probabilities);
    expect(probs[0]!.slice(1).sort()).toEqual([...classOrder].sort());
    expect(probs.length).toBe(TEST_IMAGES + 1);
    for (const r of probs.slice(1)) expect(r.slice(1).map(Number).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    await shot(page, 'export-probabilities', 'export-result');

    // ---- the model: a TensorFlow.js folder with its labels, beside the project by default -----
    await page.getByTestId('export-kind').click();
    await page.getByRole('option', { name: 'Model (TensorFlow.js)', exact: true }).click();
    expect(await out.inputValue()).toBe(`${projectDir}-model-run${runId}`);
    const modelOut = path.join(outDir, 'model');
    await out.fill(modelOut);
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-result').getAttribute('data-kind'), { timeout: 60_000 }).toBe('model');
    expect(await page.getByTestId('export-path').innerText()).toBe(modelOut);
    expect(await page.getByTestId('export-result').innerText()).toContain(`labels: ${classOrder.join(', ')}`);
    expect(fs.existsSync(path.join(modelOut, 'model.json'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(modelOut, 'labels.json'), 'utf8'))).toEqual(classOrder);
    await shot(page, 'export-model', 'export-result');

    // ---- the same model as ONNX (the engine emits it), beside the project by default ----------
    await page.getByTestId('export-kind').click();
    await page.getByRole('option', { name: 'Model (ONNX)', exact: true }).click();
    expect(await out.inputValue()).toBe(`${projectDir}-model-run${runId}-onnx`);
    const onnxOut = path.join(outDir, 'onnx');
    await out.fill(onnxOut);
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-result').getAttribute('data-kind'), { timeout: 120_000 }).toBe('onnx');
    expect(fs.readdirSync(onnxOut).sort()).toEqual(['README.txt', 'labels.json', 'model.onnx', 'preprocessing.json']);
    expect(JSON.parse(fs.readFileSync(path.join(onnxOut, 'labels.json'), 'utf8'))).toEqual(classOrder);

    // ---- the labelled dataset as class folders, at the suggested place beside the project ------
    await page.getByTestId('export-kind').click();
    await page.getByRole('option', { name: 'Labelled dataset (class folders)', exact: true }).click();
    const datasetOut = `${projectDir}-dataset`;
    expect(await out.inputValue()).toBe(datasetOut);
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-result').getAttribute('data-kind'), { timeout: 60_000 }).toBe('dataset');
    expect(fs.readdirSync(datasetOut).sort()).toEqual([...classOrder].sort());
    // Every labelled image: the training images and the one corrected test image.
    const copied = classOrder.reduce((n, c) => n + fs.readdirSync(path.join(datasetOut, c)).length, 0);
    expect(copied).toBe(CLASSES * PER_CLASS + 1);
    expect(await page.getByTestId('export-result').innerText()).toContain(`${TEST_IMAGES - 1} unlabelled images left out`);
    expect(app.errors).toEqual([]);
  });
});
