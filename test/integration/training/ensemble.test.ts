/**
 * Ensembles and test-time augmentation (issue 22) on real digits with a real MobileNet and the real
 * engine: three scenario 1 runs predicted as an ensemble with TTA from the CLI; the ensemble's
 * exported probabilities are the mean of its members' own exports; its gain over the best member
 * is what a hand computation from the members' stored validation predictions gives; a TTA
 * prediction is the mean of its views (each view predicted alone by the engine, the mirrored view
 * also as a mirrored copy of the file); members with other classes are refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict as enginePredict } from '../../../src/main/engine/predict';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { predictionsFor } from '../../../src/main/store/predictions';
import * as runs from '../../../src/main/store/runs';
import { forkEngine } from '../../../src/main/training/engine-client';
import type { EnsembleSummary } from '../../../src/shared/domain';
import { trainConfigSchema } from '../../../src/shared/domain';
import { TTA_VIEWS } from '../../../src/shared/tta';
import { MODEL_025 } from '../../fixtures/assets';
import { digitPng, writeDigits } from '../../fixtures/digits';
import { cli, readCsvFile, removeTempDirs, tempDir, type CliResult } from '../helpers';

const CLASSES = 3;
const TEST_PER_CLASS = 3;

let studio: Studio;
let home: string;
let dir: string;
let testDir: string;
const members: number[] = [];
const run = (...args: string[]): Promise<CliResult> => cli(home, args);

/** A probabilities export of the test set, by file name (in-process: the same job the CLI starts). */
async function probabilities(source: { runId: number } | { runs: number[] }, out: string): Promise<Map<string, number[]>> {
  const job = await studio.call('exportData', { kind: 'probabilities', out, ...source });
  const done = await studio.jobs.wait(job.id);
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
  return csvProbabilities(out);
}

async function csvProbabilities(file: string): Promise<Map<string, number[]>> {
  return new Map((await readCsvFile(file)).slice(1).map((row) => [row[0]!, row.slice(1).map(Number)]));
}

beforeAll(async () => {
  home = tempDir('ts-ensemble-home-');
  const src = tempDir('ts-ensemble-src-');
  await writeDigits(src, 12, CLASSES);
  testDir = tempDir('ts-ensemble-test-');
  for (let d = 0; d < CLASSES; d++) for (let n = 0; n < TEST_PER_CLASS; n++) fs.writeFileSync(path.join(testDir, `t${d}_${n}.png`), await digitPng(d, 40 + n));
  studio = new Studio({ userDataDir: home, mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
  dir = path.join(tempDir('ts-ensemble-proj-'), 'p');
  await studio.call('createProject', { dir });
  await studio.jobs.wait((await studio.call('importImages', { source: src })).id);
  await studio.jobs.wait((await studio.call('importImages', { source: testDir, split: 'test' })).id);
  await studio.call('autoSplit', { val: 0.34, seed: 2 });
  await studio.call('importModel', { dir: MODEL_025, id: 'm025' });
  // Three members: the frozen features are extracted once, each head trains in well under a second.
  for (const [seed, lr] of [[1, 0.01], [2, 0.003], [3, 0.02]] as const) {
    const { job, runId } = await studio.call('startTraining', { config: { scenario: 1, model: 'm025', epochs: 4, batchSize: 8, patience: 0, seed, lr } });
    const done = await studio.jobs.wait(job.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    members.push(runId);
  }
}, 120_000);

afterAll(async () => {
  await studio?.dispose();
  removeTempDirs();
});

describe('ensembles and test-time augmentation', () => {
  let plainFirst: Map<string, number[]>;
  let summary: EnsembleSummary;

  it('predicts an ensemble with TTA from the CLI and says by how much it beats its best member on the validation images', async () => {
    plainFirst = await probabilities({ runId: members[0]! }, path.join(tempDir(), 'plain.csv'));
    const r = await run('predict', dir, '--runs', members.join(','), '--tta', '--json');
    expect(r.code, r.err).toBe(0);
    const p = r.json?.predict as { runs: number[]; tta: string[]; predicted: number; ensemble: EnsembleSummary };
    expect(p).toMatchObject({ runs: members, tta: [...TTA_VIEWS], predicted: CLASSES * TEST_PER_CLASS });
    summary = p.ensemble;
    expect(summary.views).toEqual([...TTA_VIEWS]);

    // By hand, from the members' stored validation predictions (TTA ones now) and the labels.
    const db = studio.store().db;
    const val = db.prepare(`SELECT i.id, c.name FROM images i JOIN classes c ON c.id = i.class_id WHERE i.split = 'val'`).all() as { id: number; name: string }[];
    expect(summary.images).toBe(val.length);
    const classNames = (await studio.call('getRun', { id: members[0]! })).classNames;
    const label = (name: string): number => classNames.indexOf(name);
    const stored = members.map((m) => predictionsFor(db, m, val.map((v) => v.id)));
    const argmax = (p: number[]): number => p.indexOf(Math.max(...p));
    const score = (probs: (id: number) => number[]): { accuracy: number; loss: number } => ({
      accuracy: val.filter((v) => argmax(probs(v.id)) === label(v.name)).length / val.length,
      loss: val.reduce((s, v) => s - Math.log(Math.max(probs(v.id)[label(v.name)]!, 1e-7)), 0) / val.length,
    });
    const own = stored.map((s) => score((id) => s.get(id)!.probabilities));
    expect(stored.every((s) => [...s.values()].every((x) => x.views.join() === TTA_VIEWS.join()))).toBe(true);
    const mean = score((id) => classNames.map((_, c) => stored.reduce((a, s) => a + s.get(id)!.probabilities[c]!, 0) / stored.length));
    const best = own.map((o, i) => ({ ...o, runId: members[i]! })).sort((a, b) => b.accuracy - a.accuracy || a.loss - b.loss)[0]!;
    expect(summary.best?.runId).toBe(best.runId);
    expect(summary.ensemble!.accuracy).toBeCloseTo(mean.accuracy, 9);
    expect(summary.ensemble!.loss).toBeCloseTo(mean.loss, 5);
    expect(summary.gain!.accuracy).toBeCloseTo(mean.accuracy - best.accuracy, 9);
    expect(summary.gain!.loss).toBeCloseTo(best.loss - mean.loss, 5);
    summary.members.forEach((m, i) => expect(m.loss).toBeCloseTo(own[i]!.loss, 5));
    expect(summary.confusion!.matrix.flat().reduce((a, b) => a + b, 0)).toBe(val.length);
    expect(r.out).not.toContain('Gain'); // --json prints the object only
  });

  it("exports the ensemble's probabilities as the mean of its members' own exports, and says they are TTA ones", async () => {
    const own = await Promise.all(members.map((m) => probabilities({ runId: m }, path.join(tempDir(), `run${m}.csv`))));
    const out = path.join(tempDir(), 'ensemble.csv');
    const r = await run('export', dir, 'probabilities', '--runs', members.join(','), '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({ ok: true, export: { kind: 'probabilities', runId: null, runs: members, views: [...TTA_VIEWS], rows: CLASSES * TEST_PER_CLASS } });
    const ensemble = await csvProbabilities(out);
    expect([...ensemble.keys()].sort()).toEqual([...own[0]!.keys()].sort());
    for (const [name, probs] of ensemble) probs.forEach((p, c) => expect(Math.abs(p - own.reduce((a, o) => a + o.get(name)![c]!, 0) / own.length), `${name} class ${c}`).toBeLessThan(1e-6));
    // The TTA predictions differ from the plain ones the run made when it finished.
    const diff = Math.max(...[...own[0]!].flatMap(([name, probs]) => probs.map((p, c) => Math.abs(p - plainFirst.get(name)![c]!))));
    expect(diff).toBeGreaterThan(1e-4);
    // The evaluation views list the ensemble's predictions as a run's.
    const wrong = await studio.call('listPredictions', { runs: members, split: 'val', wrongOnly: true, limit: 500 });
    const cm = summary.confusion!.matrix;
    expect(wrong.total).toBe(cm.flat().reduce((a, b) => a + b, 0) - cm.reduce((a, row, i) => a + row[i]!, 0));
  });

  it('a TTA prediction is the mean of its views, the mirrored view as a mirrored copy of the file is predicted', async () => {
    const runDir = studio.store().runDir(members[0]!);
    const file = path.join(testDir, 't1_0.png');
    const flipped = path.join(tempDir(), 'flipped.png');
    await sharp(fs.readFileSync(file)).flop().png().toFile(flipped);
    const one = async (p: string, views: (typeof TTA_VIEWS)[number][]): Promise<number[]> => (await enginePredict(runDir, [{ path: p }], undefined, undefined, undefined, views)).items[0]!.probabilities;
    // One call at a time, as the engine process runs them (a run's scratch cache is shared).
    const perView: number[][] = [];
    for (const v of TTA_VIEWS) perView.push(await one(file, [v]));
    const all = await one(file, [...TTA_VIEWS]);
    all.forEach((p, c) => expect(Math.abs(p - perView.reduce((a, v) => a + v[c]!, 0) / perView.length)).toBeLessThan(1e-6));
    const mirrored = await one(flipped, ['identity']);
    perView[1]!.forEach((p, c) => expect(Math.abs(p - mirrored[c]!), `class ${c}`).toBeLessThan(1e-4));
    // What the CLI stored for that image is this mean.
    const imageId = studio.store().db.prepare(`SELECT id FROM images WHERE file_name = 't1_0.png'`).pluck().get() as number;
    const stored = predictionsFor(studio.store().db, members[0]!, [imageId]).get(imageId)!;
    stored.probabilities.forEach((p, c) => expect(Math.abs(p - all[c]!)).toBeLessThan(1e-5));
  });

  it('refuses members that do not predict the same classes, saying which', async () => {
    const db = studio.store().db;
    const other = runs.createRun(db, { config: trainConfigSchema.parse({ scenario: 1, model: 'm025' }), classNames: ['0', '1', '7'], jobId: 'other' });
    runs.finishRun(db, other, 'succeeded', {});
    const out = path.join(tempDir(), 'refused.csv');
    const r = await run('export', dir, 'submission', '--runs', `${members[0]},${other}`, '--out', out, '--json');
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'bad_input' } });
    expect((r.json?.error as { message: string }).message).toBe(
      `Runs ${members[0]} and ${other} do not predict the same classes, so their probabilities cannot be averaged: run ${members[0]} has 0, 1, 2; run ${other} has 0, 1, 7 (it lacks 2; it adds 7). Pick runs trained on the same classes.`,
    );
    expect(fs.existsSync(out)).toBe(false);
    await expect(studio.call('predictImages', { runs: [members[1]!, other], tta: true })).rejects.toThrow(/do not predict the same classes/);
  });
});
