/**
 * A Keras weights file through the whole Studio with the real engine process: imported (the engine
 * builds it before it is installed, and a file whose weights do not fit is refused and not
 * installed), then a scenario 1 run on real digits with EfficientNetB0 (seeded weights; its
 * preprocessing is 0..255, normalised inside the network), whose run.json records that
 * preprocessing, and whose images are predicted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { forkEngine } from '../../../src/main/training/engine-client';
import { writeDigits } from '../../fixtures/digits';
import { layerSpecs, writeCatalogWeights, writeWeightsH5 } from '../../fixtures/keras';
import { buildArchitecture } from '../../../src/main/engine/keras/architectures';

const dirs: string[] = [];
const tmp = (prefix: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};

describe('a Keras model in the Studio', () => {
  let studio: Studio;
  let work: string;

  beforeAll(async () => {
    work = tmp('ts-keras-train-');
    await writeDigits(path.join(work, 'digits'), 6);
    studio = new Studio({ userDataDir: tmp('ts-keras-train-home-'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })), builtInModels: null });
    await studio.call('createProject', { dir: path.join(work, 'project') });
    await studio.jobs.wait((await studio.call('importImages', { source: path.join(work, 'digits') })).id);
    await studio.call('autoSplit', { val: 0.25, seed: 1 });
  }, 120_000);

  afterAll(async () => {
    await studio?.dispose();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('refuses a weights file that does not fit its architecture, installing nothing', async () => {
    const m = buildArchitecture('mobilenet_v2', { includeTop: false, init: 'zeros' });
    const specs = layerSpecs(m).filter((l) => l.name !== 'block_7_expand');
    m.dispose();
    const file = path.join(work, 'broken_mnv2.h5');
    await writeWeightsH5(file, specs);
    await expect(studio.call('importModel', { dir: file })).rejects.toMatchObject({ code: 'bad_model', message: expect.stringContaining('"block_7_expand"') });
    expect(await studio.call('listModels', {})).toEqual([]);
    expect(fs.readdirSync(studio.models.root).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('imports EfficientNetB0 weights, trains scenario 1 in its preprocessing, and predicts', async () => {
    const file = path.join(work, 'my_efficientnet.h5');
    await writeCatalogWeights({ family: 'efficientnetb0', includeTop: false }, file, 9);
    const model = await studio.call('importModel', { dir: file, id: 'effb0' });
    expect(model).toMatchObject({ format: 'keras-weights', architecture: 'efficientnetb0', preprocessing: 'raw', params: 4_049_571, inputSize: 224 });
    const inspection = await studio.call('inspectModel', { id: 'effb0' });
    expect(inspection.defaultCutLayer).toBe('top_activation');
    const { job, runId } = await studio.call('startTraining', { config: { scenario: 1, model: 'effb0', epochs: 2, batchSize: 8, patience: 0, seed: 3 } });
    const done = await studio.jobs.wait(job.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const run = JSON.parse(fs.readFileSync(path.join(studio.store().dir, 'runs', String(runId), 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(run).toMatchObject({ preprocessing: 'raw', preprocess: 'p2-exif-centercrop-linear-srgb-raw', featureDim: 1280, cutLayer: 'top_activation' });
    const detail = await studio.call('getRun', { id: runId });
    expect(detail.state).toBe('succeeded');
  }, 600_000);
});
