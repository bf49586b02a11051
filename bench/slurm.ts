/**
 * Slurm overhead benchmark (issue 22): `npm run bench -- slurm [--tasks 4] [--per-class 20]`
 *
 * On a one-node Slurm cluster started here (test/fixtures/slurm.ts; needs root and Debian's
 * slurm-wlm and munge), a small sweep of scenario-1 runs (MobileNet v1 0.25, handwritten digits,
 * 2 epochs, one seed per task) runs as one job array through SlurmExecutor, then the same runs
 * train here through the training service (one warm engine, one run at a time). Printed: the
 * studio's own time per task (writing its bundle, sbatch, importing the result), Slurm's queue time
 * (SubmitTime to StartTime, whole seconds), each task's time on the node against the same run's
 * time here (the difference is starting node, the CLI and an engine process per task), and the
 * whole sweep's wall time both ways. Numbers only; the machine's load distorts them.
 */
import path from 'node:path';
import { arg } from './common';
import { importRequestSchema, trainConfigSchema } from '../src/shared/domain';
import { EngineClient, forkEngine } from '../src/main/training/engine-client';
import { SlurmExecutor } from '../src/main/training/slurm-executor';
import { scontrolFields } from '../src/main/training/slurm-commands';
import { TrainingService, trainingSet, type TrainingEvents } from '../src/main/training/training-service';
import type { SweepTask } from '../src/main/training/sweep-executor';
import { ProjectStore } from '../src/main/store/project-store';
import { stratifiedSplit } from '../src/main/store/images';
import * as runs from '../src/main/store/runs';
import { runImport } from '../src/main/media/import';
import { MODEL_025 } from '../test/fixtures/assets';
import { writeDigits } from '../test/fixtures/digits';
import { slurmUnavailable, startSlurm } from '../test/fixtures/slurm';
import { removeTempDirs, tempDir } from '../test/fixtures/temp';

const TASKS = Number(arg('--tasks') ?? 4);
const PER_CLASS = Number(arg('--per-class') ?? 20);

const quiet: TrainingEvents = { progress: () => undefined, epoch: () => undefined, log: () => undefined };
const ctx = { signal: new AbortController().signal, jobId: 'bench', progress: () => undefined, throwIfCancelled: () => undefined };
const ms = (n: number): string => `${n.toFixed(0)} ms`;
const seconds = (t: string | undefined): number => (t ? Date.parse(`${t}Z`) / 1000 : Number.NaN);

async function main(): Promise<void> {
  const why = slurmUnavailable();
  if (why) {
    process.stdout.write(`skipped: ${why}\n`);
    return;
  }
  const t0 = performance.now();
  const cluster = await startSlurm();
  process.stdout.write(`one-node cluster up in ${ms(performance.now() - t0)}\n`);
  const engine = new EngineClient(() => forkEngine());
  try {
    const src = tempDir('ts-bench-slurm-src-');
    await writeDigits(src, PER_CLASS, 10);
    const store = ProjectStore.create(path.join(tempDir('ts-bench-slurm-'), 'project'));
    await runImport(store, importRequestSchema.parse({ source: src }), ctx, {});
    stratifiedSplit(store.db, 0.2, 1);
    const { classNames, items } = trainingSet(store);
    const makeTasks = async (): Promise<SweepTask[]> => {
      const out: SweepTask[] = [];
      for (let i = 0; i < TASKS; i++) {
        const config = trainConfigSchema.parse({ scenario: 1, model: 'm025', epochs: 2, batchSize: 16, seed: i + 1 });
        const plan = await engine.call('planTraining', { modelDir: MODEL_025, config });
        out.push({ runId: runs.createRun(store.db, { config, classNames, jobId: 'bench' }), index: i, input: { classNames, items, modelDir: MODEL_025, config, plan } });
      }
      return out;
    };
    process.stdout.write(`${TASKS} scenario-1 runs, ${items.length} labelled digits (${classNames.length} classes), MobileNet v1 0.25, 2 epochs each\n\n`);

    const onSlurm = await makeTasks();
    const slurm = new SlurmExecutor({ workdir: tempDir('ts-bench-slurm-work-'), partition: cluster.partition, env: cluster.env, events: quiet, pollMs: 200 });
    let started = performance.now();
    const outcomes = await slurm.run(store, onSlurm, ctx);
    const slurmWall = performance.now() - started;
    const failed = [...outcomes.values()].filter((o) => o.state !== 'succeeded');
    if (failed.length) throw new Error(`tasks failed: ${JSON.stringify(failed)}`);
    const records = cluster
      .run('scontrol', ['-o', 'show', 'job', slurm.lastJobId!])
      .split('\n')
      .map(scontrolFields)
      .filter((f) => f['ArrayTaskId'] !== undefined)
      .sort((a, b) => Number(a['ArrayTaskId']) - Number(b['ArrayTaskId']));
    const queue = records.map((f) => seconds(f['StartTime']) - seconds(f['SubmitTime']));
    const onNode = records.map((f) => seconds(f['EndTime']) - seconds(f['StartTime']));

    const local = await makeTasks();
    const service = new TrainingService(() => engine, quiet);
    const localMs: number[] = [];
    started = performance.now();
    for (const t of local) {
      const s = performance.now();
      await service.enqueue(store, t.runId, t.input, ctx);
      localMs.push(performance.now() - s);
    }
    const localWall = performance.now() - started;

    const st = slurm.lastStats;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stdout.write(
      [
        `studio, per task:  bundle writing ${ms(st.bundleMs / st.bundles)} (all ${st.bundles}: ${ms(st.bundleMs)}, images and model copied once), sbatch ${ms(st.submitMs)} for the array, import ${ms(mean(st.importMs))} (max ${ms(Math.max(...st.importMs))})`,
        `Slurm queue:       submit to start ${queue.map((q) => `${q} s`).join(', ')} (whole seconds; ${records.length} tasks on ${records[0]?.['NumCPUs'] ?? '?'} CPU each)`,
        `per task:          on the node ${onNode.map((s) => `${s} s`).join(', ')}  vs here (warm engine) ${localMs.map((m) => `${(m / 1000).toFixed(1)} s`).join(', ')}`,
        `                   -> about ${(mean(onNode) - mean(localMs) / 1000).toFixed(1)} s more per task on the node (node + CLI + a fresh engine process, model load)`,
        `whole sweep:       Slurm ${(slurmWall / 1000).toFixed(1)} s (tasks side by side, ${records.length} tasks)  vs here ${(localWall / 1000).toFixed(1)} s (one at a time)`,
      ].join('\n') + '\n',
    );
    store.close();
  } finally {
    engine.dispose();
    await cluster.stop();
    removeTempDirs();
  }
}

await main();
