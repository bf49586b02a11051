/**
 * The model library end to end, with the real host and engine: import a Keras file by its path
 * (MobileNet v1's real weights saved in Keras' layout by this test; browser mode gives no paths
 * for dropped files), download MobileNetV2 from a mirror on 127.0.0.1 serving a Keras weights
 * file this test writes (the published file cannot be fetched here), see both listed with their
 * size, parameters, input and preprocessing, then delete them; the built-in model listed first (it
 * can be hidden, not deleted); a Teachable Machine export said to be one, its labels made classes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogModel, type KerasCatalogModel } from '../../src/main/models/catalog';
import { loadLayersModel } from '../../src/main/engine/model-layers';
import { keras2Topology, layerSpecs, writeCatalogWeights, writeModelH5 } from '../fixtures/keras';
import { serveFolder } from '../integration/helpers';
import { ROOT, TEACHABLE_MODEL } from '../fixtures/assets';
import { type App, createProject, openApp, screenshot, tempDir } from './harness';

const MNV2 = 'mobilenet_v2_notop';
let app: App;
let mirror: Awaited<ReturnType<typeof serveFolder>>;
let kerasFile: string;
const dirs: string[] = [];

beforeAll(async () => {
  const work = tempDir('e2e-models');
  dirs.push(work);
  // A Keras 2 model.save file of the real MobileNet v1 0.25.
  const mnv1 = await loadLayersModel(path.join(ROOT, 'test/assets/models/mobilenet_v1_0.25_224'));
  kerasFile = path.join(work, 'my_mobilenet.h5');
  await writeModelH5(kerasFile, keras2Topology(mnv1.model), layerSpecs(mnv1.model));
  mnv1.model.dispose();
  // The mirror's MobileNetV2 (no top): seeded weights padded to the published size (Keras pins no hash).
  const entry = catalogModel(MNV2) as KerasCatalogModel;
  await writeCatalogWeights(entry, path.join(work, 'mirror', MNV2, entry.fileName), 5, true);
  mirror = await serveFolder(path.join(work, 'mirror'));
  process.env['TRANSFER_STUDIO_MODEL_MIRROR'] = mirror.url; // the host inherits it
  const home = tempDir('e2e-models-home');
  dirs.push(home);
  app = await openApp(home);
  await createProject(app.page, path.join(work, 'project'));
}, 180_000);

afterAll(async () => {
  delete process.env['TRANSFER_STUDIO_MODEL_MIRROR'];
  await app?.close();
  await mirror?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('model library', () => {
  it('imports a Keras file by path, downloads from the catalog with progress, and deletes', async () => {
    const { page } = app;
    await page.locator('nav[aria-label="Screens"]').getByText('Models', { exact: true }).click();
    await page.getByTestId('models-screen').waitFor();
    // The built-in model, listed first: where it came from, no Delete, but Hide and Show.
    const builtIn = page.getByTestId('installed-mobilenet_v1_0.25_224');
    await builtIn.waitFor();
    await expect(builtIn.textContent()).resolves.toMatch(/built-in.*475,544.*built in, offline: .*Apache-2\.0/);
    expect(await page.getByTestId('delete-mobilenet_v1_0.25_224').count()).toBe(0);
    await page.getByTestId('hide-mobilenet_v1_0.25_224').click();
    await expect.poll(() => builtIn.getAttribute('data-hidden')).toBe('true');
    await page.getByTestId('show-mobilenet_v1_0.25_224').click();
    await expect.poll(() => builtIn.getAttribute('data-hidden')).toBe('false');
    // The catalog lists the Keras applications with their preprocessing and pinned hashes.
    await expect(page.getByTestId('catalog-resnet50_notop').textContent()).resolves.toMatch(/BGR, ImageNet mean subtracted.*md5 4d473c1d/);
    await expect(page.getByTestId('catalog-efficientnetb0').textContent()).resolves.toMatch(/5\.3M.*RGB 0-255.*77\.1%/);

    // Import by path: the engine builds it before it is listed.
    await page.getByTestId('model-path').fill(kerasFile);
    await page.getByTestId('model-import').click();
    await page.getByTestId('installed-my_mobilenet').waitFor({ timeout: 120_000 });
    await expect(page.getByTestId('installed-my_mobilenet').textContent()).resolves.toMatch(/keras-h5.*475,544.*224×224.*RGB to \[-1, 1\].*imported: .*my_mobilenet\.h5/);

    // A Teachable Machine export: said so, with its classes, which start the open project's classes.
    const TM = path.basename(TEACHABLE_MODEL);
    await page.getByTestId('model-path').fill(TEACHABLE_MODEL);
    await page.getByTestId('model-import').click();
    await page.getByTestId(`teachable-${TM}`).waitFor({ timeout: 120_000 });
    await expect(page.getByTestId(`installed-${TM}`).textContent()).resolves.toMatch(/Teachable Machine 2\.4\.5.*5 classes of its own: 노마스크, 마스크, 가위, 바위, 보/);
    await page.getByTestId(`classes-from-${TM}`).click();
    await expect.poll(() => page.getByTestId('models-note').textContent()).toMatch(/"노마스크", "마스크", "가위", "바위", "보"/);
    await page.getByTestId(`delete-${TM}`).click();
    await page.getByTestId(`installed-${TM}`).waitFor({ state: 'detached' });

    // A bad path is refused with its reason, and nothing is added.
    await page.getByTestId('model-path').fill(path.join(path.dirname(kerasFile), 'nothing-here.h5'));
    await page.getByTestId('model-import').click();
    await expect(page.getByTestId('error').textContent()).resolves.toMatch(/nothing-here\.h5 does not exist/);

    // Download from the mirror: progress, then installed.
    await page.getByTestId(`download-${MNV2}`).click();
    await page.getByTestId(`installed-${MNV2}`).waitFor({ timeout: 120_000 });
    await expect(page.getByTestId(`installed-${MNV2}`).textContent()).resolves.toMatch(/keras-weights · mobilenet_v2.*2\.3M.*RGB to \[-1, 1\].*catalog: .*127\.0\.0\.1/);
    await expect(page.getByTestId(`catalog-${MNV2}`).textContent()).resolves.toContain('installed');
    expect(mirror.requests).toContain(`${MNV2}/${(catalogModel(MNV2) as KerasCatalogModel).fileName}`);
    await screenshot(page, 'models-library');

    // Delete both.
    await page.getByTestId('delete-my_mobilenet').click();
    await page.getByTestId('installed-my_mobilenet').waitFor({ state: 'detached' });
    await page.getByTestId(`delete-${MNV2}`).click();
    await page.getByTestId(`installed-${MNV2}`).waitFor({ state: 'detached' });
    expect(await page.locator('[data-testid="installed-models"] tbody tr').count()).toBe(1);
    expect(app.errors).toEqual([]);
  });
});
