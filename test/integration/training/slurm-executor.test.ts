/**
 * Sweeps on a real one-node Slurm cluster (test/fixtures/slurm.ts). Through the CLI, `transfer-studio
 * sweep --on slurm` runs a 2x2 grid as one job array whose tasks run `transfer-studio run-bundle`
 * (the real CLI and engine process): seeded, its runs have the metrics and predictions of the same
 * sweep run here; a task cancelled on the cluster is reported with Slurm's reason, and --resume
 * submits it alone. Directly through SlurmExecutor: a task whose engine fails is reported with its
 * message; cancelling leaves squeue empty and no run half-imported; one run is cancelled alone;
 * hostile work folders and progress files are refused with a message.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EpochMetrics } from '../../../src/shared/domain';
import { EngineClient, forkEngine } from '../../../src/main/training/engine-client';
import { SlurmExecutor } from '../../../src/main/training/slurm-executor';
import { importBundle } from '../../../src/main/training/run-bundle-import';
import { bundlePaths, bundleDirOf, RESULT_FILES } from '../../../src/main/training/run-bundle';
import type { TrainingEvents } from '../../../src/main/training/training-service';
import type { SweepTask } from '../../../src/main/training/sweep-executor';
import type { ProjectStore } from '../../../src/main/store/project-store';
import * as runs from '../../../src/main/store/runs';
import { stratifiedSplit } from '../../../src/main/store/images';
import { MODEL_025 } from '../../fixtures/assets';
import { scenario1Tasks } from '../../fixtures/sweep-tasks';
import { writeDigits } from '../../fixtures/digits';
import { slurmUnavailable, startSlurm, type SlurmCluster } from '../../fixtures/slurm';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { cli, importAll, newStore, removeTempDirs, tempDir, testContext, type CliResult } from '../helpers';

const unavailable = slurmUnavailable();

describe.skipIf(unavailable !== null)(`sweeps on a Slurm cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let cluster: SlurmCluster;
  let store: ProjectStore;
  let engine: EngineClient;
  let workdir: string;
  /** A project made through the Studio, for the CLI's sweeps, and the CLI's user folder. */
  let project = '';
  let home = '';
  /** A run the first test trained on the cluster (its bundle is the hostile test's material). */
  let finishedRunId = 0;
  const epochs: { runId: number; metrics: EpochMetrics }[] = [];
  const logs: { runId: number; message: string }[] = [];
  const progress: { runId: number; phase: string }[] = [];
  const events: TrainingEvents = {
    progress: (p) => progress.push({ runId: p.runId, phase: p.phase }),
    epoch: (e) => epochs.push({ runId: e.runId, metrics: e.metrics }),
    log: (e) => logs.push(e),
  };

  beforeAll(async () => {
    const [c] = await Promise.all([
      startSlurm(),
      (async () => {
        const src = tempDir('ts-slurm-src-');
        await writeDigits(src, 8, 3);
        store = newStore();
        await importAll(store, { source: src });
        stratifiedSplit(store.db, 0.25, 1);
        home = tempDir('ts-slurm-home-');
        project = path.join(tempDir('ts-slurm-proj-'), 'p');
        const studio = new Studio({ userDataDir: home, mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
        try {
          await studio.call('createProject', { dir: project });
          await studio.jobs.wait((await studio.call('importImages', { source: src })).id);
          await studio.call('autoSplit', { val: 0.25, seed: 1 });
          await studio.call('importModel', { dir: MODEL_025, id: 'm025' });
        } finally {
          await studio.dispose();
        }
      })(),
    ]);
    cluster = c;
    engine = new EngineClient(() => forkEngine());
    workdir = tempDir('ts-slurm-work-');
  }, 60_000);

  afterAll(async () => {
    engine?.dispose();
    await cluster?.stop();
    store?.close();
    removeTempDirs();
  });

  const tasks = (seeds: number[]): Promise<SweepTask[]> => scenario1Tasks(store, engine, seeds);

  const executor = (extra: Partial<ConstructorParameters<typeof SlurmExecutor>[0]> = {}): SlurmExecutor =>
    new SlurmExecutor({ workdir, partition: cluster.partition, env: cluster.env, events, pollMs: 200, ...extra });
  const queueEmpty = (): boolean => cluster.run('squeue', ['-h']).trim() === '';
  const metricsOf = (runId: number): EpochMetrics[] => runs.runDetail(store.db, runId).metrics;

  it('transfer-studio sweep --on slurm: a 2x2 sweep gives the metrics of the same sweep run here; a task cancelled on the cluster is reported with its reason and --resume submits it alone', async () => {
    const slurmWork = tempDir('ts-slurm-cli-work-');
    const grid = ['--models', 'm025', '--lr', '0.01,0.003', '--seeds', '1,2', '--epochs', '2', '--batch', '8', '--json'];
    const sweepCli = (...args: string[]): Promise<CliResult> => cli(home, ['sweep', project, ...args], { env: cluster.env });
    const arrays = (): string[] => [...new Set(cluster.run('scontrol', ['-o', 'show', 'job']).split('\n').flatMap((l) => /ArrayJobId=(\d+) /.exec(l)?.[1] ?? []))];
    const before = new Set(arrays());
    // The array's last task waits for a core (two run at a time on this node): cancelled on the cluster.
    let cancelled = '';
    const killer = setInterval(() => {
      const job = cluster.run('squeue', ['-h', '-o', '%F']).split('\n').map((l) => l.trim()).find((id) => id && !before.has(id));
      if (!job || cancelled) return;
      cancelled = `${job}_3`;
      cluster.run('scancel', [cancelled]);
    }, 100);
    const [onSlurm, here] = await Promise.all([sweepCli(...grid, '--on', 'slurm', '--workdir', slurmWork).finally(() => clearInterval(killer)), sweepCli(...grid)]);
    type Out = { sweep: { id: number; state: string }; runs: { id: number; config: { lr: number; seed: number }; state: string; error: string | null; valAccuracy: number | null }[] };
    expect(here.code, here.err).toBe(0);
    expect(cancelled).not.toBe('');
    expect(onSlurm.code, onSlurm.err).not.toBe(0);
    expect(onSlurm.err).toMatch(/Sweep \d+ failed: 3 of 4 runs succeeded; run the rest again with --resume \d+/);
    expect(onSlurm.err).toMatch(/run \d+ failed: CANCELLED: it was cancelled on the cluster \(scancel\)/);
    const sweepId = Number(/--resume (\d+)/.exec(onSlurm.err)![1]);
    const resumed = await sweepCli('--resume', String(sweepId), '--json');
    expect(resumed.code, resumed.err).toBe(0);
    // Re-submitted alone: the newest array has one task.
    const latest = arrays().filter((id) => !before.has(id)).sort((a, b) => Number(a) - Number(b));
    expect(latest).toHaveLength(2);
    const records = cluster.run('scontrol', ['-o', 'show', 'job', latest[1]!]).split('\n').filter((l) => l.includes(`ArrayJobId=${latest[1]} `));
    expect(records, records.join('\n')).toHaveLength(1);
    expect(records[0]).toMatch(/ArrayTaskId=0 /);

    const there = resumed.json as Out;
    const local = here.json as Out;
    expect(there.sweep).toMatchObject({ id: sweepId, state: 'succeeded' });
    expect(there.runs.map((r) => [r.config.lr, r.config.seed, r.state])).toEqual(local.runs.map((r) => [r.config.lr, r.config.seed, 'succeeded']));
    const db = new Database(path.join(project, 'project.sqlite'), { readonly: true });
    try {
      const metrics = (runId: number): { epoch: number; val_acc: number; val_loss: number; train_loss: number }[] =>
        db.prepare('SELECT epoch, val_acc, val_loss, train_loss FROM run_metrics WHERE run_id = ? ORDER BY epoch').all(runId) as never;
      const predictions = (runId: number): number[][] =>
        (db.prepare('SELECT probabilities FROM predictions WHERE run_id = ? ORDER BY image_id').all(runId) as { probabilities: Buffer }[]).map((r) => runs.decodeProbabilities(r.probabilities));
      for (const [i, r] of there.runs.entries()) {
        const l = local.runs[i]!;
        const [a, b] = [metrics(r.id), metrics(l.id)];
        expect(a.map((m) => m.epoch)).toEqual([1, 2]);
        a.forEach((m, e) => {
          expect(m.val_acc).toBe(b[e]!.val_acc);
          expect(m.train_loss).toBeCloseTo(b[e]!.train_loss, 5);
          expect(m.val_loss).toBeCloseTo(b[e]!.val_loss, 5);
        });
        expect(r.valAccuracy).toBe(l.valAccuracy);
        const [mine, theirs] = [predictions(r.id), predictions(l.id)];
        expect(mine).toHaveLength(24);
        mine.forEach((row, k) => row.forEach((p, c) => expect(p).toBeCloseTo(theirs[k]![c]!, 5)));
      }
    } finally {
      db.close();
    }
    expect(queueEmpty()).toBe(true);
  }, 120_000);

  it('trains a job array\'s runs and shows them live like local runs; a task whose engine fails on the node is reported FAILED with the engine\'s message', async () => {
    // One good task, and one on a model folder that lost its weights: the engine on the node refuses it.
    const [good, failing] = await tasks([1, 4]);
    const broken = tempDir('ts-slurm-broken-model-');
    fs.cpSync(MODEL_025, broken, { recursive: true });
    for (const f of fs.readdirSync(broken)) if (/shard/.test(f)) fs.rmSync(path.join(broken, f));
    failing!.input = { ...failing!.input, modelDir: broken };
    const outcomes = await executor().run(store, [good!, failing!], testContext());
    expect(outcomes.get(good!.runId), JSON.stringify(logs.slice(-5))).toEqual({ state: 'succeeded' });
    expect(outcomes.get(failing!.runId)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^FAILED: it ended with an error, exit code 1:0.*\(The weight shard .* is missing/) });
    expect(runs.getRun(store.db, failing!.runId)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^FAILED/) });
    expect(metricsOf(failing!.runId)).toEqual([]);
    finishedRunId = good!.runId;
    const run = runs.runDetail(store.db, good!.runId);
    expect(run.metrics.map((m) => m.epoch)).toEqual([1, 2]);
    expect(run.confusion?.matrix.flat().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(run.backend?.server?.address).toBe('slurm');
    // The run's folder and predictions as a local run has them (the CLI test compares their values with local runs').
    expect(fs.existsSync(path.join(store.runDir(run.id), 'run.json'))).toBe(true);
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE run_id = ?').get(run.id) as { n: number }).n).toBe(24);
    // Shown live like a local run: each epoch once, and progress.
    expect(epochs.filter((e) => e.runId === run.id).map((e) => e.metrics.epoch)).toEqual([1, 2]);
    expect(progress.some((p) => p.runId === run.id && p.phase === 'queued')).toBe(true);
    // Images stored once by content hash for every bundle; the two model folders once each.
    expect(fs.readdirSync(path.join(workdir, 'images'))).toHaveLength(24);
    expect(fs.readdirSync(path.join(workdir, 'models'))).toHaveLength(2);
  }, 60_000);

  it('refuses a hostile work folder with a message, leaving the run untouched', async () => {
    const [t] = await tasks([3]);
    const done = bundleDirOf(workdir, store, finishedRunId);
    const dir = bundleDirOf(workdir, store, t!.runId);
    fs.cpSync(done, dir, { recursive: true });
    const bundle = JSON.parse(fs.readFileSync(bundlePaths(dir).bundle, 'utf8')) as { runId: number };
    fs.writeFileSync(bundlePaths(dir).bundle, JSON.stringify({ ...bundle, runId: t!.runId }));
    const p = bundlePaths(dir);
    // A link out of the result folder.
    fs.symlinkSync('/etc/passwd', path.join(p.result, 'stolen'));
    await expect(importBundle(store, t!.runId, dir)).rejects.toThrow(/link \(stolen\)/);
    fs.rmSync(path.join(p.result, 'stolen'));
    // A model file named outside the folder.
    const trainFile = path.join(p.result, RESULT_FILES.train);
    const train = JSON.parse(fs.readFileSync(trainFile, 'utf8')) as { modelFiles: string[] };
    fs.writeFileSync(trainFile, JSON.stringify({ ...train, modelFiles: ['../../../../etc/passwd'] }));
    await expect(importBundle(store, t!.runId, dir)).rejects.toThrow(/model file \.\.\/.*not in its folder/);
    fs.writeFileSync(trainFile, JSON.stringify(train));
    // Predictions that are not JSON, then 50 MB over the epochs' limit.
    fs.writeFileSync(path.join(p.result, RESULT_FILES.predictions), '{"imageIds": [1, 2');
    await expect(importBundle(store, t!.runId, dir)).rejects.toThrow(/predictions is not valid JSON/);
    fs.writeFileSync(path.join(p.result, RESULT_FILES.epochs), Buffer.alloc(65 * 2 ** 20, 32));
    await expect(importBundle(store, t!.runId, dir)).rejects.toThrow(/epochs is 65\.0 MB, more than the 64 MB/);
    expect(runs.getRun(store.db, t!.runId).state).toBe('running');
    expect(metricsOf(t!.runId)).toEqual([]);
    expect(fs.existsSync(store.runDir(t!.runId))).toBe(false);
    runs.finishRun(store.db, t!.runId, 'failed', { error: 'test' });
  });

  it('cancelling the sweep while its tasks run leaves squeue empty and no run half-imported', async () => {
    const ts = await tasks([4, 5]);
    const controller = new AbortController();
    const ids = new Set(ts.map((t) => t.runId));
    // Cancelled once a task runs the studio on the node (its first progress file).
    const seen = progress.length;
    const cancelWhenTraining = setInterval(() => {
      if (progress.slice(seen).some((p) => ids.has(p.runId) && p.phase !== 'queued')) {
        clearInterval(cancelWhenTraining);
        controller.abort();
      }
    }, 50);
    const outcomes = await executor().run(store, ts, testContext(controller)).finally(() => clearInterval(cancelWhenTraining));
    expect([...outcomes.values()]).toEqual([{ state: 'cancelled' }, { state: 'cancelled' }]);
    expect(queueEmpty()).toBe(true);
    for (const t of ts) {
      expect(runs.getRun(store.db, t.runId).state).toBe('cancelled');
      expect(metricsOf(t.runId)).toEqual([]);
      expect((store.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE run_id = ?').get(t.runId) as { n: number }).n).toBe(0);
      expect(fs.existsSync(path.join(store.runDir(t.runId), 'run.json'))).toBe(false);
    }
  }, 60_000);

  it('refuses a progress file that is not JSON or too big, once, and goes on following the task; cancels one run alone', async () => {
    const ts = await tasks([8, 9]);
    const controller = new AbortController();
    // Tasks that run a shell sleeping instead of the studio: their progress files are the test's.
    const slurm = executor({ studioCommand: ['/bin/sh', '-c', 'sleep 60'] });
    const dirs = ts.map((t) => bundleDirOf(workdir, store, t.runId));
    const seen = logs.length;
    // In run order: both files are written while a poll may be between the two tasks, so either may be refused first.
    const runOf = (m: string): number => Number(/ of run (\d+)/.exec(m)?.[1]);
    const refused = (): string[] =>
      logs
        .slice(seen)
        .filter((l) => /progress file/.test(l.message))
        .map((l) => l.message)
        .sort((a, b) => runOf(a) - runOf(b));
    const hostile = setInterval(() => {
      if (!slurm.lastJobId || fs.existsSync(bundlePaths(dirs[1]!).progress)) return;
      fs.writeFileSync(bundlePaths(dirs[0]!).progress, '{"phase": "train", "done": ');
      fs.writeFileSync(bundlePaths(dirs[1]!).progress, Buffer.alloc(50 * 2 ** 20, 32));
    }, 50);
    // Then one run is cancelled alone (scancel of its task), then the sweep.
    let alone = false;
    const stop = setInterval(() => {
      if (refused().length < 2) return;
      if (!alone) alone = slurm.cancelTask(ts[0]!.runId);
      else if (runs.getRun(store.db, ts[0]!.runId).state === 'cancelled') controller.abort();
    }, 50);
    const outcomes = await slurm.run(store, ts, testContext(controller)).finally(() => {
      clearInterval(hostile);
      clearInterval(stop);
    });
    expect([...outcomes.values()]).toEqual([{ state: 'cancelled' }, { state: 'cancelled' }]);
    expect(refused()).toEqual([
      expect.stringMatching(new RegExp(`progress file of run ${ts[0]!.runId} is not valid JSON .*refused\\. Its progress is not shown; the run goes on\\.`)),
      expect.stringMatching(new RegExp(`progress file of run ${ts[1]!.runId} is 50\\.0 MB, more than the 4 MB it may be`)),
    ]);
    expect(runs.getRun(store.db, ts[0]!.runId).error).toBe('Cancelled.');
    expect(runs.getRun(store.db, ts[1]!.runId).error).toBe('The sweep was cancelled.');
    expect(queueEmpty()).toBe(true);
  }, 30_000);
});
