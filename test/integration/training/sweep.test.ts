/**
 * Sweeps on this machine with the real engine process: a 2x2 grid through the CLI records four
 * ordinary runs under one sweep with their metrics, and a seeded sweep run reproduces a single
 * `train` run of the same configuration; --plan refuses a layer the model lacks, naming its flag;
 * 3-fold cross-validation stores every labelled image's out-of-fold prediction (from the fold run
 * that validated on it); cancelling a sweep (the request, or Ctrl-C of the CLI) leaves no run
 * running, and re-running it trains only the runs that did not succeed.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { forkEngine } from '../../../src/main/training/engine-client';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { cliRunner, interruptedCli, jobRunning, removeTempDirs, tempDir } from '../helpers';

interface JsonRun {
  id: number;
  configuration: string;
  config: { lr: number; seed: number };
  fold: number | null;
  state: string;
  valAccuracy: number | null;
  valLoss: number | null;
}

describe('sweeps', () => {
  let home = '';
  let dir = '';
  const { run, ok } = cliRunner(() => home);
  const newStudio = (): Studio => new Studio({ userDataDir: home, mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });

  beforeAll(async () => {
    home = tempDir('ts-sweep-home-');
    const src = tempDir('ts-sweep-src-');
    await writeDigits(src, 12, 3);
    dir = path.join(tempDir('ts-sweep-proj-'), 'p');
    const studio = newStudio();
    try {
      await studio.call('createProject', { dir });
      await studio.jobs.wait((await studio.call('importImages', { source: src })).id);
      await studio.call('autoSplit', { val: 0.25, seed: 1 });
      await studio.call('importModel', { dir: MODEL_025, id: 'm025' });
    } finally {
      await studio.dispose();
    }
  }, 60_000);

  afterAll(() => removeTempDirs());

  it('runs a 2x2 grid as four runs of one sweep, and a seeded run reproduces a single train run', async () => {
    const r = await ok('sweep', dir, '--models', 'm025', '--lr', '0.01,0.003', '--seeds', '1,2', '--epochs', '2', '--batch', '8', '--json');
    const out = r.json as { sweep: { id: number; state: string }; runs: JsonRun[]; baseline: number; leaderboard: unknown[] };
    expect(out.sweep.state).toBe('succeeded');
    expect(out.runs).toHaveLength(4);
    expect(out.leaderboard).toHaveLength(4);
    expect(out.runs.map((x) => [x.config.lr, x.config.seed])).toEqual([[0.01, 1], [0.01, 2], [0.003, 1], [0.003, 2]]);
    for (const x of out.runs) {
      expect(x).toMatchObject({ state: 'succeeded', fold: null });
      expect(x.valAccuracy).toBeGreaterThan(0);
      expect(x.valLoss).toBeGreaterThan(0);
    }
    expect(out.baseline).toBeCloseTo(1 / 3, 5);
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT r.id, s.sweep_id AS sweepId, r.state FROM runs r LEFT JOIN sweep_runs s ON s.run_id = r.id ORDER BY r.id').all() as { id: number; sweepId: number; state: string }[];
      expect(rows.map((x) => x.id)).toEqual(out.runs.map((x) => x.id));
      expect(new Set(rows.map((x) => x.sweepId))).toEqual(new Set([out.sweep.id]));
      expect((db.prepare('SELECT COUNT(*) AS n FROM run_metrics WHERE run_id IN (SELECT run_id FROM sweep_runs WHERE sweep_id = ?)').get(out.sweep.id) as { n: number }).n).toBe(8);
    } finally {
      db.close();
    }

    // The sweep's best 2 by validation accuracy as an ensemble: predict resolves them to --runs and says which.
    const best = [...out.runs].sort((a, b) => b.valAccuracy! - a.valAccuracy! || a.valLoss! - b.valLoss! || a.id - b.id).slice(0, 2).map((x) => x.id);
    const ens = await ok('predict', dir, '--sweep', String(out.sweep.id), '--best', '2', '--split', 'val', '--json');
    expect((ens.json as { predict: { runs: number[]; chosen: { runs: number[]; label: string } } }).predict).toMatchObject({ runs: best, chosen: { runs: best, label: expect.stringMatching(/best 2 by validation accuracy/) } });
    const refused = await run('predict', dir, '--sweep', String(out.sweep.id), '--folds', '1');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/has no folds: take its best runs \(--best N\)/);

    const single = await ok('train', dir, '--scenario', '1', '--model', 'm025', '--lr', '0.003', '--seed', '2', '--epochs', '2', '--batch', '8', '--json');
    const trained = (single.json as { run: { metrics: { valAcc: number; valLoss: number; trainLoss: number }[] } }).run;
    const studio = newStudio();
    try {
      await studio.call('openProject', { dir });
      const twin = await studio.call('getRun', { id: out.runs[3]!.id });
      expect(twin.metrics).toHaveLength(trained.metrics.length);
      twin.metrics.forEach((m, i) => {
        expect(m.trainLoss).toBeCloseTo(trained.metrics[i]!.trainLoss, 5);
        expect(m.valLoss!).toBeCloseTo(trained.metrics[i]!.valLoss, 5);
        expect(m.valAcc).toBe(trained.metrics[i]!.valAcc);
      });
    } finally {
      await studio.dispose();
    }
  }, 120_000);

  it('--plan lists the runs with an estimate, and refuses a layer the model lacks naming --cut', async () => {
    const plan = await ok('sweep', dir, '--models', 'm025', '--lr', '0.01,0.001', '--folds', '3', '--epochs', '2', '--plan', '--json');
    const p = (plan.json as { plan: { runs: { fold: number }[]; configurations: number; estimate: { seconds: number; source: string }; grouping: { audited: boolean } } }).plan;
    expect(p.configurations).toBe(2);
    // Never audited: the plan warns that copies may straddle folds.
    expect(p.grouping.audited).toBe(false);
    expect(p.runs.map((x) => x.fold)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(p.estimate.seconds).toBeGreaterThan(0);
    expect(p.estimate.source).toMatch(/finished runs/);
    const bad = await run('sweep', dir, '--models', 'm025', '--cut', 'conv_pw_13_relu,no_such_layer', '--plan', '--json');
    expect(bad.code, bad.err).toBe(2);
    expect(bad.json).toMatchObject({ ok: false, error: { field: 'cut' } });
    expect(bad.err).toMatch(/--cut: cutLayer no_such_layer/);
    const slurmOnly = await run('sweep', dir, '--models', 'm025', '--time', '10', '--plan');
    expect(slurmOnly.code).toBe(2);
    expect(slurmOnly.err).toMatch(/--time is a Slurm option/);
  }, 60_000);

  it('Ctrl-C cancels the sweep: exit 1, no run left running, the sweep recorded as cancelled', async () => {
    const r = await interruptedCli(home, ['sweep', dir, '--models', 'm025', '--seeds', '5,6', '--epochs', '3', '--batch', '8', '--json'], () => jobRunning(dir, 'train'));
    expect(r.code, r.err).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT state FROM sweeps ORDER BY id DESC LIMIT 1').pluck().get()).toBe('cancelled');
      expect(db.prepare("SELECT COUNT(*) FROM runs WHERE state = 'running'").pluck().get()).toBe(0);
      expect(db.prepare("SELECT COUNT(*) FROM jobs WHERE state = 'running'").pluck().get()).toBe(0);
      expect(db.prepare("SELECT r.state FROM runs r JOIN sweep_runs s ON s.run_id = r.id WHERE s.sweep_id = (SELECT MAX(id) FROM sweeps) ORDER BY r.id").pluck().all()).toEqual(['cancelled', 'cancelled']);
    } finally {
      db.close();
    }
  }, 60_000);

  /** The 3-fold sweep of the test below: its fold models and out-of-fold accuracy. */
  let cvSweep: { id: number; folds: number[]; oof: number } | undefined;

  it('stores every labelled image out-of-fold under 3-fold cross-validation; cancelling leaves nothing running; a re-run trains only what did not succeed', async () => {
    const studio = newStudio();
    try {
      await studio.call('openProject', { dir });
      const cv = await studio.call('startSweep', { grid: { scenario: [1], model: ['m025'], epochs: [2], batchSize: [8] }, folds: 3 });
      expect((await studio.jobs.wait(cv.job)).state).toBe('succeeded');
      const board = await studio.call('sweepLeaderboard', { id: cv.sweepId });
      expect(board.rows).toHaveLength(1);
      const row = board.rows[0]!;
      expect(row.runs.map((x) => x.fold)).toEqual([0, 1, 2]);
      expect(row.valAcc!.n).toBe(3);
      expect(row.valAcc!.sd).toBeGreaterThanOrEqual(0);
      expect(row.cvRunId).not.toBeNull();
      const oof = await studio.call('listPredictions', { runId: row.cvRunId!, limit: 500 });
      expect(oof.total).toBe(36); // every labelled image (train and val) once
      const cvRun = await studio.call('getRun', { id: row.cvRunId! });
      expect(cvRun.kind).toBe('cv');
      expect(cvRun.confusion!.matrix.flat().reduce((s, v) => s + v, 0)).toBe(36);
      // Each image's out-of-fold prediction is its validating fold run's, whose training never saw it.
      const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
      try {
        const mismatched = db
          .prepare(
            `SELECT COUNT(*) AS n FROM predictions o JOIN sweep_folds f ON f.image_id = o.image_id AND f.sweep_id = ?
             JOIN sweep_runs r ON r.sweep_id = f.sweep_id AND r.fold = f.fold AND r.kind = 'train'
             JOIN predictions p ON p.run_id = r.run_id AND p.image_id = o.image_id
             WHERE o.run_id = ? AND p.probabilities <> o.probabilities`,
          )
          .get(cv.sweepId, row.cvRunId) as { n: number };
        expect(mismatched.n).toBe(0);
        expect((db.prepare('SELECT COUNT(DISTINCT fold) AS n FROM sweep_folds WHERE sweep_id = ?').get(cv.sweepId) as { n: number }).n).toBe(3);
      } finally {
        db.close();
      }
      await expect(studio.call('predictImages', { runId: row.cvRunId! })).rejects.toMatchObject({ code: 'bad_input' });
      cvSweep = { id: cv.sweepId, folds: row.runs.map((x) => x.id), oof: row.oofAcc! };

      // Cancel: one queued run alone, then the whole sweep once its first run trains.
      const started = await studio.call('startSweep', { grid: { scenario: [1], model: ['m025'], lr: [0.01, 0.003], seed: [3, 4], epochs: [3], batchSize: [8] } });
      const ids = (await studio.call('sweepLeaderboard', { id: started.sweepId })).rows.map((x) => x.runs[0]!.id);
      await studio.call('cancelRun', { id: ids[3]! });
      await new Promise<void>((resolve) => {
        const off = studio.on('run.epoch', (e) => {
          if (e.runId === ids[0]) {
            off();
            resolve();
          }
        });
      });
      await studio.call('cancelSweep', { id: started.sweepId });
      expect((await studio.jobs.wait(started.job)).state).toBe('cancelled');
      const after = await studio.call('sweepLeaderboard', { id: started.sweepId });
      expect(after.sweep.state).toBe('cancelled');
      expect(after.sweep.counts.running).toBe(0);
      expect(after.rows.map((x) => x.state)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
      expect((await studio.call('listJobs', {})).filter((j) => j.state === 'running')).toEqual([]);

      const again = await studio.call('resumeSweep', { id: started.sweepId });
      expect(again.runIds).toEqual(ids);
      expect((await studio.jobs.wait(again.job)).state).toBe('succeeded');
      const done = await studio.call('sweepLeaderboard', { id: started.sweepId });
      expect(done.rows.every((x) => x.state === 'succeeded' && x.runs[0]!.valAcc !== null)).toBe(true);
      await expect(studio.call('resumeSweep', { id: started.sweepId })).rejects.toMatchObject({ code: 'bad_input', message: expect.stringMatching(/nothing to run again/) });
    } finally {
      await studio.dispose();
    }
  }, 180_000);

  it('predict --sweep ID --folds C: the fold models as an ensemble, whose gain is said to be unmeasurable out of fold, with the out-of-fold estimate of one fold model', async () => {
    expect(cvSweep).toBeDefined();
    const r = await ok('predict', dir, '--sweep', String(cvSweep!.id), '--folds', '1', '--split', 'val');
    expect(r.out).toContain(`the 3 fold models of #1`);
    expect(r.out).toContain(`--runs ${cvSweep!.folds.join(',')}`);
    expect(r.out).toMatch(/no labelled image is unseen by every member and the ensemble's gain over its best member cannot be measured/);
    expect(r.out).toContain(`${(cvSweep!.oof * 100).toFixed(1)}%`);
    const bad = await run('predict', dir, '--sweep', String(cvSweep!.id), '--folds', '9');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/configurations 1 to 1, not 9/);
  }, 60_000);
});
