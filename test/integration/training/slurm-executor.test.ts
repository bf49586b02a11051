/**
 * A sweep's runs on a real one-node Slurm cluster (test/fixtures/slurm.ts): SlurmExecutor writes
 * the run bundles, submits one job array whose tasks run `transfer-studio run-bundle` (the real
 * CLI and engine process), follows them and imports each finished run. Seeded, the runs give the
 * same metrics as the same runs trained here by the training service; cancelling leaves squeue
 * empty and no run half-imported; a task cancelled on the cluster is reported with Slurm's reason
 * and, run again, is submitted alone. Hostile work folders are refused with a message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type EpochMetrics } from '../../../src/shared/domain';
import { EngineClient, forkEngine } from '../../../src/main/training/engine-client';
import { SlurmExecutor } from '../../../src/main/training/slurm-executor';
import { importBundle } from '../../../src/main/training/run-bundle-import';
import { bundlePaths, bundleDirOf, RESULT_FILES } from '../../../src/main/training/run-bundle';
import { TrainingService, trainingSet, type TrainingEvents } from '../../../src/main/training/training-service';
import type { SweepTask } from '../../../src/main/training/sweep-executor';
import type { ProjectStore } from '../../../src/main/store/project-store';
import * as runs from '../../../src/main/store/runs';
import { stratifiedSplit } from '../../../src/main/store/images';
import { MODEL_025 } from '../../fixtures/assets';
import { writeDigits } from '../../fixtures/digits';
import { slurmUnavailable, startSlurm, type SlurmCluster } from '../../fixtures/slurm';
import { importAll, newStore, removeTempDirs, tempDir, testContext } from '../helpers';

const unavailable = slurmUnavailable();

describe.skipIf(unavailable !== null)(`sweeps on a Slurm cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let cluster: SlurmCluster;
  let store: ProjectStore;
  let engine: EngineClient;
  let workdir: string;
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

  /** Queued runs of scenario 1 with these seeds, as a sweep makes them, and their tasks. */
  async function tasks(seeds: number[]): Promise<SweepTask[]> {
    const { classNames, items } = trainingSet(store);
    const out: SweepTask[] = [];
    for (const [index, seed] of seeds.entries()) {
      const config = trainConfigSchema.parse({ scenario: 1, model: 'm025', epochs: 2, batchSize: 8, seed });
      const plan = await engine.call('planTraining', { modelDir: MODEL_025, config });
      const runId = runs.createRun(store.db, { config, classNames, jobId: 'sweep' });
      out.push({ runId, index, input: { classNames, items, modelDir: MODEL_025, config, plan } });
    }
    return out;
  }

  const executor = (extra: Partial<ConstructorParameters<typeof SlurmExecutor>[0]> = {}): SlurmExecutor =>
    new SlurmExecutor({ workdir, partition: cluster.partition, env: cluster.env, events, pollMs: 200, ...extra });
  const queueEmpty = (): boolean => cluster.run('squeue', ['-h']).trim() === '';
  const metricsOf = (runId: number): EpochMetrics[] => runs.runDetail(store.db, runId).metrics;

  it('trains a job array with the same metrics as local runs; a task cancelled on the cluster or failing is reported with Slurm\'s reason; the cancelled one is re-submitted alone', async () => {
    const onSlurm = await tasks([1, 2, 3]);
    const slurm = executor();
    // Task 2 waits for a core (two run at a time on this node): cancelled on the cluster at once.
    const killed = setInterval(() => {
      if (!slurm.lastJobId) return;
      clearInterval(killed);
      cluster.run('scancel', [`${slurm.lastJobId}_2`]);
    }, 50);
    const outcomes = await slurm.run(store, onSlurm, testContext()).finally(() => clearInterval(killed));
    expect(outcomes.get(onSlurm[0]!.runId), JSON.stringify(logs.slice(-5))).toEqual({ state: 'succeeded' });
    expect(outcomes.get(onSlurm[1]!.runId)).toEqual({ state: 'succeeded' });
    expect(outcomes.get(onSlurm[2]!.runId)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^CANCELLED: it was cancelled on the cluster \(scancel\)/) });
    expect(runs.getRun(store.db, onSlurm[2]!.runId)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^CANCELLED/) });
    expect(metricsOf(onSlurm[2]!.runId)).toEqual([]);
    finishedRunId = onSlurm[0]!.runId;

    // Run again (beside the same runs trained here) as the sweep's re-run does, its rows queued again: only the cancelled task is submitted.
    runs.reopenRun(store.db, onSlurm[2]!.runId, 'sweep', onSlurm[2]!.input.config);
    const local = await tasks([1, 2]);
    const service = new TrainingService(() => engine, { progress: () => undefined, epoch: () => undefined, log: () => undefined });
    // Beside it, on the other core, another sweep's run on a model folder that lost its weights: the engine on the node refuses it.
    const [failing] = await tasks([4]);
    const broken = tempDir('ts-slurm-broken-model-');
    fs.cpSync(MODEL_025, broken, { recursive: true });
    for (const f of fs.readdirSync(broken)) if (/shard/.test(f)) fs.rmSync(path.join(broken, f));
    failing!.input = { ...failing!.input, modelDir: broken };
    const [again, failed] = await Promise.all([
      slurm.run(store, onSlurm, testContext()),
      executor({ workdir: tempDir('ts-slurm-work-failing-') }).run(store, [failing!], testContext()),
      (async () => {
        for (const t of local) await service.enqueue(store, t.runId, t.input, testContext());
      })(),
    ]);
    expect([...again.values()]).toEqual([{ state: 'succeeded' }, { state: 'succeeded' }, { state: 'succeeded' }]);
    expect(failed.get(failing!.runId)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^FAILED: it ended with an error, exit code 1:0.*\(The weight shard .* is missing/) });
    expect(runs.getRun(store.db, failing!.runId)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^FAILED/) });
    const records = cluster.run('scontrol', ['-o', 'show', 'job', slurm.lastJobId!]).split('\n').filter((l) => l.includes(`ArrayJobId=${slurm.lastJobId} `));
    expect(records, records.join('\n')).toHaveLength(1);
    expect(records[0]).toMatch(/ArrayTaskId=0 /);
    expect(fs.readFileSync(path.join(path.dirname(/StdOut=(\S+)/.exec(records[0]!)![1]!), 'tasks.txt'), 'utf8').trim()).toBe(bundleDirOf(workdir, store, onSlurm[2]!.runId));
    expect(metricsOf(onSlurm[2]!.runId).map((m) => m.epoch)).toEqual([1, 2]);

    for (const [i, t] of local.entries()) {
      const run = runs.runDetail(store.db, onSlurm[i]!.runId);
      expect(run.state).toBe('succeeded');
      const there = run.metrics;
      const here = metricsOf(t.runId);
      expect(there.map((m) => m.epoch)).toEqual([1, 2]);
      for (const [e, m] of there.entries()) {
        expect(m.valAcc).toBe(here[e]!.valAcc);
        expect(m.trainLoss).toBeCloseTo(here[e]!.trainLoss, 5);
        expect(m.valLoss!).toBeCloseTo(here[e]!.valLoss!, 5);
      }
      expect(run.confusion?.matrix).toEqual(runs.runDetail(store.db, t.runId).confusion?.matrix);
      expect(run.backend?.server?.address).toBe('slurm');
      // The run's folder and predictions as a local run has them.
      expect(fs.existsSync(path.join(store.runDir(run.id), 'run.json'))).toBe(true);
      const count = (id: number): number => (store.db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE run_id = ?').get(id) as { n: number }).n;
      expect(count(run.id)).toBe(24);
      expect(count(run.id)).toBe(count(t.runId));
      const probabilities = (id: number): number[][] =>
        (store.db.prepare('SELECT probabilities FROM predictions WHERE run_id = ? ORDER BY image_id').all(id) as { probabilities: Buffer }[]).map((r) => runs.decodeProbabilities(r.probabilities));
      const [mine, theirs] = [probabilities(run.id), probabilities(t.runId)];
      mine.forEach((row, k) => row.forEach((p, c) => expect(p).toBeCloseTo(theirs[k]![c]!, 5)));
      // Shown live like a local run: each epoch once, and progress.
      expect(epochs.filter((e) => e.runId === run.id).map((e) => e.metrics.epoch)).toEqual([1, 2]);
      expect(progress.some((p) => p.runId === run.id && p.phase === 'queued')).toBe(true);
    }
    // Images stored once by content hash for every bundle.
    expect(fs.readdirSync(path.join(workdir, 'images'))).toHaveLength(24);
    expect(fs.readdirSync(path.join(workdir, 'models'))).toHaveLength(1);
  }, 120_000);

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
    const refused = (): string[] => logs.slice(seen).filter((l) => /progress file/.test(l.message)).map((l) => l.message);
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
