/**
 * What a run reports, on an unbalanced project of real digits through the Studio with the real
 * engine process and real MobileNets (issue 10 found these wrong on purpose and nothing noticed):
 *  - the feature cache is kept per model: MobileNet 0.25, 0.75 and a copy of 0.25 with other
 *    weights (same architecture, same feature size) train in one project without sharing features;
 *  - every scenario's majority-class baseline is the share of the commonest *validation* class;
 *  - every scenario's validation confusion matrix has rows = true class and columns = predicted
 *    class, cell by cell against the predictions the run stored;
 *  - a run started while another trains is planned (by the engine, beside the training) and queued
 *    at once; a freeze boundary that is no block end is refused before a run exists, naming its field.
 * Small images, a few images per class and one or two epochs keep it short.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, TrainConfigInput } from '../../../src/shared/domain';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { forkEngine } from '../../../src/main/training/engine-client';
import { UNBALANCED, writeUnbalancedDigits } from '../../fixtures/digits';
import { MODEL_025, MODEL_075 } from '../../fixtures/assets';
import { copyModelWithOtherWeights, removeTempDirs, tempDir } from '../helpers';

const TOTAL = [...UNBALANCED.train, ...UNBALANCED.val].reduce((a, b) => a + b, 0);
const VAL_TOTAL = UNBALANCED.val.reduce((a, b) => a + b, 0);
const TRAIN_TOTAL = UNBALANCED.train.reduce((a, b) => a + b, 0);

let studio: Studio;
let projectDir: string;

beforeAll(async () => {
  const src = tempDir('ts-results-src-');
  await writeUnbalancedDigits(src);
  studio = new Studio({ userDataDir: tempDir('ts-results-home-'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
  projectDir = path.join(tempDir('ts-results-proj-'), 'p');
  await studio.call('createProject', { dir: projectDir });
  const imported = await studio.jobs.wait((await studio.call('importImages', { source: src })).id);
  expect(imported.state).toBe('succeeded');
  const other = await copyModelWithOtherWeights(MODEL_025, path.join(tempDir('ts-results-model-'), 'other'), 'conv_pw_13/kernel');
  for (const [dir, id] of [[MODEL_025, 'm025'], [MODEL_075, 'm075'], [other, 'm025-other']] as const) await studio.call('importModel', { dir, id });
}, 120_000);

afterAll(async () => {
  await studio?.dispose();
  removeTempDirs();
});

async function train(config: Omit<TrainConfigInput, 'batchSize' | 'patience'>): Promise<RunDetail> {
  const { job, runId } = await studio.call('startTraining', { config: { batchSize: 8, patience: 0, ...config } });
  const done = await studio.jobs.wait(job.id);
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
  return studio.call('getRun', { id: runId });
}

const cacheOf = (run: RunDetail): unknown => run.result?.['cache'];
const valLosses = (run: RunDetail): (number | null)[] => run.metrics.map((m) => m.valLoss);

/** The validation confusion matrix rebuilt from the predictions the run stored: [label][prediction]. */
async function storedConfusion(run: RunDetail): Promise<number[][]> {
  const { rows, total } = await studio.call('listPredictions', { runId: run.id, split: 'val', limit: 500 });
  expect(total).toBe(VAL_TOTAL);
  const matrix = run.classNames.map(() => run.classNames.map(() => 0));
  for (const r of rows) matrix[run.classNames.indexOf(r.className!)]![r.predicted]!++;
  return matrix;
}

describe('the feature cache with several models in one project', () => {
  it('keeps each model’s features apart: 0.25, 0.75 and 0.25 with other weights miss, 0.25 again hits its own', async () => {
    const first = await train({ scenario: 1, model: 'm025', epochs: 2, seed: 3 });
    expect(cacheOf(first)).toEqual({ hits: 0, misses: TOTAL });
    expect(first.result?.['featureDim']).toBe(256);
    // The ONNX model of its frozen part is cached where the Studio told the engine at its start.
    expect(first.result?.['frozenKind']).toMatch(/^onnxruntime .*\(cache built\)$/);
    const onnxFiles = fs.readdirSync(path.join(studio.models.root, '.onnx')).filter((f) => f.endsWith('.onnx'));
    expect(onnxFiles.length).toBeGreaterThan(0);
    expect(onnxFiles.filter((f) => !f.startsWith('m025-'))).toEqual([]);

    const wide = await train({ scenario: 1, model: 'm075', epochs: 2, seed: 3 });
    expect(cacheOf(wide)).toEqual({ hits: 0, misses: TOTAL });
    expect(wide.result?.['featureDim']).toBe(768);

    // Same architecture and feature size as m025: only the cache key tells their features apart.
    const other = await train({ scenario: 1, model: 'm025-other', epochs: 2, seed: 3 });
    expect(cacheOf(other)).toEqual({ hits: 0, misses: TOTAL });
    expect(other.result?.['featureDim']).toBe(256);
    // Its own features train another head: the same seed gives other losses.
    expect(valLosses(other)).not.toEqual(valLosses(first));

    const again = await train({ scenario: 1, model: 'm025', epochs: 2, seed: 3 });
    expect(cacheOf(again)).toEqual({ hits: TOTAL, misses: 0 });
    // Its own cached features: the same run as the first, to rounding.
    valLosses(again).forEach((l, i) => expect(l).toBeCloseTo(valLosses(first)[i]!, 4));

    // Each run's stored predictions (read from the cache too) agree with what it trained on.
    for (const run of [first, wide, other, again]) expect(await storedConfusion(run)).toEqual(run.confusion!.matrix);

    // On disk: one cache entry per model, each named after its model.
    const metas = fs
      .readdirSync(projectDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => path.basename(f) === 'meta.json')
      .map((f) => JSON.parse(fs.readFileSync(path.join(projectDir, f), 'utf8')) as { modelId: string; pool: string; dim: number })
      .filter((m) => m.pool === 'avg');
    expect(metas.map((m) => [m.modelId, m.dim]).sort()).toEqual([
      ['m025', 256],
      ['m025-other', 256],
      ['m075', 768],
    ]);
  }, 600_000);
});

describe.each([1, 2, 3, 4] as const)('scenario %i on an unbalanced project', (scenario) => {
  let run: RunDetail;
  beforeAll(async () => {
    run = await train({ scenario, model: 'm025', epochs: 1, seed: 5, ...(scenario === 2 ? { freezeTo: 'conv_pw_11_relu' } : {}) });
    expect(run.classNames).toEqual(UNBALANCED.classes);
  }, 600_000);

  it('reports the majority baseline of the validation labels, not of the training labels', () => {
    const valShare = Math.max(...UNBALANCED.val) / VAL_TOTAL;
    expect(valShare).not.toBeCloseTo(Math.max(...UNBALANCED.train) / TRAIN_TOTAL, 2); // the fixture tells them apart
    expect(run.baseline).toBeCloseTo(valShare, 6);
  });

  it('reports the validation confusion matrix with rows = true class, columns = predicted class', async () => {
    const matrix = run.confusion!.matrix;
    // Each row holds the validation images labelled with that class, whatever the model predicts.
    expect(matrix.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([...UNBALANCED.val]);
    const transposed = matrix.map((row, i) => row.map((_, j) => matrix[j]![i]!));
    expect(transposed, 'a symmetric matrix would hide a transposition').not.toEqual(matrix);
    expect(matrix).toEqual(await storedConfusion(run));
  });
});

describe('a run started while another trains', () => {
  it('is planned and queued at once, and a freeze boundary that is no block end is refused naming its field', async () => {
    // 1000 epochs of two trainable blocks: still training below.
    const long = await studio.call('startTraining', { config: { scenario: 2, model: 'm025', freezeTo: 'conv_pw_11_relu', epochs: 1000, batchSize: 8, patience: 0, seed: 5 } });
    while ((await studio.call('getRun', { id: long.runId })).metrics.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    // Planned by the engine beside the running training (with another model, which it loads then).
    await expect(studio.call('startTraining', { config: { scenario: 2, model: 'm075', freezeTo: 'conv_dw_5', epochs: 1 } })).rejects.toMatchObject({
      code: 'bad_input',
      field: 'config.freezeTo',
      message: expect.stringMatching(/conv_dw_5 is not a block boundary/),
    });
    const queued = await studio.call('startTraining', { config: { scenario: 2, model: 'm075', freezeTo: 'conv_pw_11_relu', epochs: 1 } });
    expect(studio.jobs.list().map((j) => j.id)).toContain(long.job.id);
    for (const { job } of [queued, long]) await studio.call('cancelJob', { id: job.id });
    expect((await studio.jobs.wait(long.job)).state).toBe('cancelled');
    expect((await studio.jobs.wait(queued.job)).state).toBe('cancelled');
  }, 600_000);
});
