/**
 * One advisor: the wizard shows what `transfer-studio advise --json` says on the same project,
 * for every similarity answer (none, high, medium, low) and for a second model: the recommended
 * scenario, and scenario 2's default freeze boundary with its k and frozen parameters. The CLI and
 * the UI both ask the host's advisor; if either decided by itself, they would drift apart here.
 * And a model whose layers cannot be read shows the host's typed error, not an empty layer list.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdviceInfo } from '../../src/shared/domain';
import { formatCount } from '../../src/renderer/components/format';
import { writeImage } from '../fixtures/images';
import { MODELS as SHARED_MODELS } from '../fixtures/assets';
import { type App, cliJson, openApp, tempDir } from './harness';

const MODELS = ['mobilenet_v1_0.25_224', 'mobilenet_v1_0.75_224'];

/** Two classes of distinct synthetic images, split first (train/ and val/ folders). */
async function makeImages(root: string): Promise<void> {
  for (const [c, cls] of ['stripes', 'blocks'].entries()) {
    for (let i = 0; i < 8; i++) await writeImage(path.join(root, 'train', cls, `${cls}-${i}.png`), { seed: 100 * c + i });
    for (let i = 0; i < 3; i++) await writeImage(path.join(root, 'val', cls, `${cls}-v${i}.png`), { seed: 100 * c + 50 + i });
  }
}

/**
 * What the wizard shows, from its Similarity step (left there again afterwards). With `model`, it
 * switches to that model on the settings step and waits until the parameters shown are `frozen`'s.
 */
async function shown(page: Page, opts: { model?: string; frozen?: string } = {}): Promise<{ scenario: number; freezeTo: string | null; frozenText: string }> {
  // The recommendation appears once the advisor has answered for the current answer.
  const rec = page.getByTestId('advice-recommendation');
  await rec.waitFor({ timeout: 90_000 });
  const inSimilarity = Number(await rec.getAttribute('data-scenario'));
  await page.getByTestId('wizard-next').click();
  await page.getByTestId('scenario-chart').waitFor();
  const recommended = await page.locator('[data-testid^="scenario-card-"][data-recommended="true"]').getAttribute('data-testid');
  expect(recommended).toBe(`scenario-card-${inSimilarity}`);
  await page.getByTestId('project-dot').waitFor();
  // Scenario 2's settings: the default freeze boundary, k and the frozen parameters.
  await page.getByTestId('scenario-2').click();
  await page.getByTestId('wizard-next').click();
  const frozen = page.getByTestId('frozen-params');
  await frozen.waitFor({ timeout: 90_000 });
  if (opts.model) {
    await page.getByTestId('model-select').click();
    await page.getByRole('option', { name: new RegExp(opts.model.replace(/\./g, '\\.')) }).click();
    // Until the advisor answers for the new model, the old model's counts must not stay on screen.
    await expect.poll(() => frozen.innerText().catch(() => ''), { timeout: 90_000 }).toContain(opts.frozen);
  }
  const rows = page.locator('[data-testid="layer-row"][data-frozen="true"]');
  const freezeTo = (await rows.count()) > 0 ? await rows.last().getAttribute('data-layer') : null;
  const frozenText = await frozen.innerText();
  await page.getByTestId('wizard-back').click();
  await page.getByTestId('wizard-back').click();
  await page.getByTestId('step-similarity').waitFor();
  return { scenario: inSimilarity, freezeTo, frozenText };
}

function expectSame(ui: Awaited<ReturnType<typeof shown>>, advice: AdviceInfo): void {
  expect(ui.scenario).toBe(advice.scenario);
  expect(advice.freezeTo).not.toBeNull();
  expect(ui.freezeTo).toBe(advice.freezeTo);
  expect(ui.frozenText).toContain(`k = ${advice.k} of ${advice.blocks} blocks`);
  expect(ui.frozenText).toContain(`Frozen: ${formatCount(advice.frozenParams!)} parameters`);
}

describe('the wizard and `transfer-studio advise` agree', () => {
  let app: App;
  const home = tempDir('advice-home');
  const projectDir = path.join(tempDir('advice-project'), 'patterns');
  const advice: Record<string, AdviceInfo> = {};

  beforeAll(async () => {
    const images = tempDir('advice-images');
    await makeImages(images);
    for (const m of MODELS) await cliJson(home, 'models', 'import', path.join(SHARED_MODELS, m));
    await cliJson(home, 'project', 'create', projectDir);
    await cliJson(home, 'import', projectDir, images);
    // The CLI's advice first, on the project the UI then opens (the same labelled images, the same models).
    const ask = async (...args: string[]): Promise<AdviceInfo> => ((await cliJson(home, 'advise', projectDir, ...args)) as { advice: AdviceInfo }).advice;
    for (const s of ['unknown', 'high', 'medium', 'low']) advice[s] = await ask('--similarity', s);
    // The wizard starts on the first installed model, as the advisor does when asked without one.
    const [first] = ((await cliJson(home, 'models', 'list')) as { models: { id: string }[] }).models;
    const other = MODELS.find((m) => m !== first!.id)!;
    advice.other = await ask('--similarity', 'low', '--model', other);
    app = await openApp(home);
  }, 600_000);
  afterAll(async () => {
    await app?.close();
  });

  it('shows the same recommendation and default freeze boundary for every answer and model', async () => {
    // The answers lead to different advice, so agreeing is not luck.
    expect(advice.high!.scenario).toBe(1);
    expect(advice.medium!.scenario).toBe(1);
    expect(advice.low!.scenario).toBe(2);
    expect(advice.other!.model).not.toBe(advice.low!.model);

    const { page } = app;
    await page.getByTestId('project-dir').fill(projectDir);
    await page.getByRole('button', { name: 'Open project' }).click();
    await page.getByTestId('gallery').waitFor();
    await page.locator('nav[aria-label="Screens"]').getByText('Train', { exact: true }).click();
    await page.getByTestId('step-data').waitFor();
    await page.getByTestId('wizard-next').click();

    // No answer: the studio's estimate decides, in both.
    expectSame(await shown(page), advice.unknown!);
    expect(advice.unknown!.similaritySource).toBe('estimate');
    for (const s of ['high', 'medium', 'low'] as const) {
      await page.getByTestId(`similarity-${s}`).click();
      expectSame(await shown(page), advice[s]!);
    }
    // Another model: its own layers, estimate and default boundary.
    const other = await shown(page, { model: advice.other!.model!, frozen: `Frozen: ${formatCount(advice.other!.frozenParams!)} parameters` });
    expect(other.freezeTo).toBe(advice.other!.freezeTo);
    expect(other.frozenText).toContain(`Frozen: ${formatCount(advice.other!.frozenParams!)} parameters`);

    // A model whose layers cannot be read: the host's typed error, not an empty layer list.
    await cliJson(home, 'models', 'import', path.join(SHARED_MODELS, MODELS[0]!), '--id', 'zz-broken');
    fs.rmSync(path.join(home, 'models', 'zz-broken', 'group1-shard1of1'));
    await page.locator('nav[aria-label="Screens"]').getByText('Gallery', { exact: true }).click();
    await page.locator('nav[aria-label="Screens"]').getByText('Train', { exact: true }).click();
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('similarity-low').click();
    await page.getByTestId('advice-recommendation').waitFor({ timeout: 90_000 });
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('scenario-2').click();
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('model-select').click();
    await page.getByRole('option', { name: /zz-broken/ }).click();
    const error = page.getByTestId('step-settings').getByTestId('error');
    await expect.poll(() => error.innerText().catch(() => ''), { timeout: 90_000 }).toMatch(/group1-shard1of1/);
    expect(await error.getAttribute('data-code')).toBeTruthy();
    expect(await page.getByTestId('layer-list').count()).toBe(0);
    await expect.poll(() => page.getByTestId('wizard-next').isDisabled()).toBe(true);
    expect(app.errors).toEqual([]);
  });
});
