/**
 * The built-in model (resources/models: MobileNet v1 0.25, read in place, offline): on a machine
 * with nothing installed it is listed first and counts as the catalog's copy, the advisor and
 * `train` use it without --model, it cannot be deleted but can be hidden (then it is no default),
 * a model installed under its id takes its place until removed, and nothing is written into it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/host/studio';
import { builtInModelsDir } from '../../../src/main/host/paths';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025, ROOT } from '../../fixtures/assets';
import { cli, removeTempDirs, tempDir, type CliResult } from '../helpers';

const ID = 'mobilenet_v1_0.25_224';
const BUILT_IN = path.join(ROOT, 'resources', 'models', ID);
const home = tempDir('ts-builtin-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
let project: string;
let filesBefore: string[];

const filesOf = (dir: string): string[] => (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).sort();

beforeAll(async () => {
  filesBefore = filesOf(BUILT_IN);
  const work = tempDir('ts-builtin-');
  await writeDigits(path.join(work, 'digits'), 5, 3);
  project = path.join(work, 'project');
  for (const args of [['project', 'create', project], ['import', project, path.join(work, 'digits')], ['split', project, '--val', '0.4', '--seed', '1']]) {
    const r = await run(...args, '--json');
    expect(r.code, r.err).toBe(0);
  }
}, 60_000);

afterAll(removeTempDirs);

describe('the built-in model', () => {
  it('is found in resources/models of the checkout', () => {
    expect(builtInModelsDir()).toBe(path.join(ROOT, 'resources', 'models'));
  });

  it('is listed first on a fresh machine, as the catalog entry installed, and trains and advises without --model', async () => {
    const list = await run('models', 'list', '--json');
    expect(list.code, list.err).toBe(0);
    const { models, catalog } = list.json as { models: { id: string; source: string; origin: string }[]; catalog: { id: string; installed: boolean }[] };
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ id: ID, source: 'built-in', layers: 88, params: 475_544 });
    expect(models[0]!.origin).toMatch(/Apache-2\.0/);
    expect(catalog.find((c) => c.id === ID)?.installed).toBe(true);

    const advice = await run('advise', project, '--similarity', 'low', '--json');
    expect(advice.code, advice.err).toBe(0);
    expect(advice.json).toMatchObject({ advice: { model: ID } });

    const trained = await run('train', project, '--scenario', '1', '--epochs', '1', '--json');
    expect(trained.code, trained.err).toBe(0);
    expect(trained.json).toMatchObject({ run: { state: 'succeeded', model: ID } });
    expect(filesOf(BUILT_IN)).toEqual(filesBefore);
  }, 120_000);

  it('cannot be deleted, can be hidden (then it is no default) and shown again', async () => {
    const studio = new Studio({ userDataDir: home, mode: 'test' });
    try {
      await expect(studio.call('removeModel', { id: ID })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/built into the studio.*hide it/) });
      expect(await studio.call('setModelHidden', { id: ID, hidden: true })).toMatchObject({ id: ID, hidden: true });
    } finally {
      await studio.dispose();
    }
    const list = await run('models', 'list');
    expect(list.out).toMatch(/built-in \(hidden\)/);
    const refused = await run('train', project, '--scenario', '1', '--epochs', '1');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/no model is installed \(hidden: mobilenet_v1_0\.25_224; show one with/);
    const shown = await run('models', 'hide', ID, '--show', '--json');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.json).toMatchObject({ model: { id: ID, source: 'built-in' } });
    expect((shown.json as { model: { hidden?: boolean } }).model.hidden).toBeUndefined();
    expect(filesOf(BUILT_IN)).toEqual(filesBefore);
  }, 60_000);

  it('gives way to a model installed under its id, and comes back when that one is removed', async () => {
    const studio = new Studio({ userDataDir: tempDir('ts-builtin-home2-'), mode: 'test' });
    try {
      await studio.call('importModel', { dir: MODEL_025 });
      const models = await studio.call('listModels', {});
      expect(models.map((m) => [m.id, m.source])).toEqual([[ID, 'import']]);
      await studio.call('removeModel', { id: ID });
      expect((await studio.call('listModels', {})).map((m) => [m.id, m.source])).toEqual([[ID, 'built-in']]);
      expect(filesOf(BUILT_IN)).toEqual(filesBefore);
    } finally {
      await studio.dispose();
    }
  });
});
