/**
 * Host side of sweeps: plans a grid (every configuration checked by the engine, the runs listed with
 * a rough time), records the sweep and its runs (ordinary runs in the history, grouped under the
 * sweep), hands the runs to an executor (this machine's job queue, or Slurm) as one sweep job,
 * and reports the leaderboard. k-fold: the labelled images dealt into folds once (near-duplicate
 * clusters kept together), each configuration trained once per fold, and when every fold of a
 * configuration has succeeded, a 'cv' run holding each image's out-of-fold prediction, so Evaluate's
 * confusion matrix and mistakes cover every labelled image. Cancel one run or the whole sweep; a
 * re-run trains again only the runs that did not succeed.
 */
import fs from 'node:fs';
import type { JobInfo, StoreTopic } from '../../shared/api';
import type { ConfusionMatrix, Leaderboard, SweepPlan, SweepRequest, SweepState, SweepSummary } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { JobManager, type JobContext } from '../jobs/job-manager';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import * as sweeps from '../store/sweeps';
import { latestAudit } from '../store/audits';
import type { Engine, TrainItem } from '../engine/protocol';
import { trainingSet, type TrainingService } from './training-service';
import { checkConfigs, planRuns, type CheckedConfig } from './sweep-plan';
import { dealFolds, foldGrouping, foldItems } from './sweep-folds';
import { executorFor, type TaskExecutor } from './sweep-executors';
import { leaderboardRows } from './sweep-leaderboard';
import type { SweepTask } from './sweep-executor';

export interface SweepServiceDeps {
  engine(): Engine;
  modelDir(id: string): string;
  jobs: JobManager;
  training: TrainingService;
  changed(...topics: StoreTopic[]): void;
}

/** How often the sweep job's progress (runs ended of all) is read from the store. */
const PROGRESS_POLL_MS = 500;

export class SweepService {
  /** Sweeps running now: their job and executor (cancel one run, or the whole sweep). */
  private readonly active = new Map<number, { jobId: string; executor: TaskExecutor }>();

  constructor(private readonly deps: SweepServiceDeps) {}

  /** The runs a sweep would make and their rough time; refused with the field of a value the engine cannot train. */
  async plan(store: ProjectStore, req: SweepRequest): Promise<SweepPlan> {
    return (await this.prepare(store, req)).plan;
  }

  private async prepare(
    store: ProjectStore,
    req: SweepRequest,
  ): Promise<{ plan: SweepPlan; configs: CheckedConfig[]; classNames: string[]; items: TrainItem[]; folds: Map<number, number> | null }> {
    const { classNames, items } = trainingSet(store);
    // Dealt here so that --plan refuses folds the images cannot fill, as starting would.
    const groups = req.folds ? sweeps.duplicateGroups(store.db) : [];
    const folds = req.folds ? dealFolds(items, groups, req.folds, req.foldSeed) : null;
    const grouping = req.folds ? foldGrouping(latestAudit(store.db)?.createdAt ?? null, items, groups) : null;
    const configs = await checkConfigs(req.grid, this.deps.engine(), this.deps.modelDir);
    const plan = planRuns(configs, req.folds ?? null, items.length, runs.listRuns(store.db));
    return { plan: { ...plan, grouping }, configs, classNames, items, folds };
  }

  /** Records the sweep and its runs (queued) and starts the sweep job. */
  async start(store: ProjectStore, req: SweepRequest): Promise<{ job: JobInfo<'sweep'>; sweepId: number; plan: SweepPlan }> {
    const { plan, configs, classNames, items, folds } = await this.prepare(store, req);
    const executor = executorFor(req.on, req.slurm ?? null, this.executorDeps());
    const itemsOf = itemsByFold(items, folds);
    const created = sweeps.createSweep(store.db, {
      grid: req.grid,
      options: { folds: req.folds ?? null, foldSeed: req.foldSeed, on: req.on, slurm: req.slurm ?? null, classNames },
      folds,
      runs: plan.runs.map((r) => ({ config: r.config, fold: r.fold, jobId: JobManager.newId() })),
    });
    const tasks = plan.runs.map((r, i): SweepTask => {
      const c = configs[r.configIndex]!;
      return {
        runId: created.runIds[i]!,
        index: i,
        input: { classNames, items: itemsOf(r.fold), modelDir: c.modelDir, config: c.config, plan: c.plan },
        ...(r.fold !== null && req.folds ? { fold: { index: r.fold, of: req.folds } } : {}),
      };
    });
    const job = this.launch(store, created.sweepId, executor, tasks, req.folds ?? null);
    return { job, sweepId: created.sweepId, plan };
  }

  /** Runs again every run of the sweep that did not succeed (same configuration, same fold). */
  async resume(store: ProjectStore, sweepId: number): Promise<{ job: JobInfo<'sweep'>; sweepId: number; runIds: number[] }> {
    const sweep = sweeps.getSweep(store.db, sweepId);
    if (this.active.has(sweepId) || sweep.counts.running > 0) throw new StudioError('conflict', `Sweep ${sweepId} is still running.`, 'id');
    const { classNames, items } = trainingSet(store);
    if (classNames.join('\n') !== sweep.classNames.join('\n'))
      throw new StudioError('bad_input', `The project's classes changed since sweep ${sweepId} (${sweep.classNames.join(', ')} then, ${classNames.join(', ')} now): start a new sweep.`, 'id');
    const all = runs.sweepRuns(store.db, sweepId).filter((r) => r.kind === 'train');
    const again = all.filter((r) => r.state !== 'succeeded');
    if (again.length === 0) throw new StudioError('bad_input', `Every run of sweep ${sweepId} has succeeded: nothing to run again.`, 'id');
    const configs = await checkConfigs(sweep.grid, this.deps.engine(), this.deps.modelDir);
    const byKey = new Map(configs.map((c) => [JSON.stringify(c.config), c]));
    const folds = sweep.folds ? sweeps.sweepFolds(store.db, sweepId) : null;
    const executor = executorFor(sweep.on, sweep.slurm, this.executorDeps());
    const itemsOf = itemsByFold(items, folds);
    const tasks = again.map((r): SweepTask => {
      const c = byKey.get(JSON.stringify(r.config));
      if (!c) throw new StudioError('internal', `Run ${r.id}'s configuration is not in sweep ${sweepId}'s grid.`);
      return {
        runId: r.id,
        index: all.indexOf(r),
        input: { classNames, items: itemsOf(r.fold), modelDir: c.modelDir, config: c.config, plan: c.plan },
        ...(r.fold !== null && sweep.folds ? { fold: { index: r.fold, of: sweep.folds } } : {}),
      };
    });
    sweeps.restartSweepRuns(store.db, sweepId, again.map((r) => ({ runId: r.id, jobId: JobManager.newId() })));
    // The attempt before left its model, checkpoint and caches: a re-run starts from nothing.
    for (const r of again) fs.rmSync(store.runDir(r.id), { recursive: true, force: true });
    const job = this.launch(store, sweepId, executor, tasks, sweep.folds);
    return { job, sweepId, runIds: again.map((r) => r.id) };
  }

  private executorDeps(): { jobs: JobManager; training: TrainingService; changed: () => void } {
    return { jobs: this.deps.jobs, training: this.deps.training, changed: () => this.deps.changed('runs') };
  }

  private launch(store: ProjectStore, sweepId: number, executor: TaskExecutor, tasks: SweepTask[], folds: number | null): JobInfo<'sweep'> {
    const jobId = JobManager.newId();
    this.active.set(sweepId, { jobId, executor });
    const { job } = this.deps.jobs.start('sweep', (ctx) => this.execute(store, sweepId, executor, tasks, folds, ctx).finally(() => this.active.delete(sweepId)), jobId);
    this.deps.changed('runs');
    return job;
  }

  private async execute(store: ProjectStore, sweepId: number, executor: TaskExecutor, tasks: SweepTask[], folds: number | null, ctx: JobContext): Promise<SweepSummary> {
    const ids = new Set(tasks.map((t) => t.runId));
    const report = (): void => {
      const ended = runs.sweepRuns(store.db, sweepId).filter((r) => ids.has(r.id) && r.state !== 'running').length;
      ctx.progress(ended, tasks.length, `Sweep ${sweepId}: ${ended} of ${tasks.length} runs ended`);
    };
    report();
    const timer = setInterval(report, PROGRESS_POLL_MS);
    try {
      await executor.run(store, tasks, ctx);
    } finally {
      clearInterval(timer);
      // Nothing of the sweep may stay 'running' once its job ends (an executor that stopped early, a crash).
      for (const r of runs.sweepRuns(store.db, sweepId))
        if (r.state === 'running') runs.finishRun(store.db, r.id, ctx.signal.aborted ? 'cancelled' : 'failed', { error: ctx.signal.aborted ? 'The sweep was cancelled.' : 'The sweep ended before this run did.' });
    }
    if (folds) outOfFold(store, sweepId, folds);
    report();
    const all = runs.sweepRuns(store.db, sweepId).filter((r) => r.kind === 'train');
    const state: SweepState = ctx.signal.aborted ? 'cancelled' : all.every((r) => r.state === 'succeeded') ? 'succeeded' : 'failed';
    sweeps.setSweepState(store.db, sweepId, state);
    this.deps.changed('runs');
    return { sweepId, state, runs: all.map((r) => ({ id: r.id, state: r.state, error: r.error })) };
  }

  /** Cancels the whole sweep: every queued and running run. */
  cancelSweep(store: ProjectStore, sweepId: number): void {
    sweeps.getSweep(store.db, sweepId);
    const active = this.active.get(sweepId);
    if (!active) throw new StudioError('conflict', `Sweep ${sweepId} is not running.`, 'id');
    this.deps.jobs.cancel(active.jobId);
  }

  /** Cancels one run: training now (its job, or its executor's task), or queued (it will not start). */
  cancelRun(store: ProjectStore, runId: number): void {
    const run = runs.getRun(store.db, runId);
    if (run.state !== 'running') throw new StudioError('conflict', `Run ${runId} is not running (it ${run.state}).`, 'id');
    if (run.jobId !== null && this.deps.jobs.cancel(run.jobId)) return;
    if (run.sweepId !== null && this.active.get(run.sweepId)?.executor.cancelTask?.(runId)) return;
    if (run.sweepId === null) throw new StudioError('conflict', `Run ${runId} has no job running.`, 'id');
    runs.finishRun(store.db, runId, 'cancelled', { error: 'Cancelled before it started.' });
    this.deps.changed('runs');
  }

  leaderboard(store: ProjectStore, sweepId: number): Leaderboard {
    const { classNames: _c, ...sweep } = sweeps.getSweep(store.db, sweepId);
    const all = runs.sweepRuns(store.db, sweepId);
    const baseline = all.find((r) => r.kind === 'cv' && r.baseline !== null)?.baseline ?? all.find((r) => r.baseline !== null)?.baseline ?? null;
    return { sweep, baseline, rows: leaderboardRows(sweep.grid, all) };
  }
}

/** A run's items by its fold: each fold's list made once and shared by its configurations' runs. */
function itemsByFold(items: TrainItem[], folds: ReadonlyMap<number, number> | null): (fold: number | null) => TrainItem[] {
  const made = new Map<number, TrainItem[]>();
  return (fold) => {
    if (!folds || fold === null) return items;
    if (!made.has(fold)) made.set(fold, foldItems(items, folds, fold));
    return made.get(fold)!;
  };
}

/**
 * For every configuration whose K folds have all succeeded and that has no 'cv' run yet: a 'cv' run
 * with each labelled image's prediction by the fold run that validated on it (so never trained on
 * it), its accuracy, mean loss and confusion matrix over every labelled image of the folds.
 */
function outOfFold(store: ProjectStore, sweepId: number, k: number): void {
  const db = store.db;
  const all = runs.sweepRuns(db, sweepId);
  const folds = sweeps.sweepFolds(db, sweepId);
  const { classNames } = sweeps.getSweep(db, sweepId);
  const labelOf = new Map(trainingSet(store).items.map((it) => [it.imageId, it.label]));
  const groups = new Map<string, typeof all>();
  for (const r of all) groups.set(JSON.stringify(r.config), [...(groups.get(JSON.stringify(r.config)) ?? []), r]);
  for (const group of groups.values()) {
    const train = group.filter((r) => r.kind === 'train');
    if (group.some((r) => r.kind === 'cv') || train.length !== k || train.some((r) => r.state !== 'succeeded')) continue;
    const matrix = classNames.map(() => classNames.map(() => 0));
    let correct = 0;
    let n = 0;
    let lossSum = 0;
    let losses = 0;
    const byFold = train.map((run) => {
      const mine = [...folds].filter(([id, f]) => f === run.fold && labelOf.has(id)).map(([id]) => id);
      const predicted = sweeps.predictedOf(db, run.id);
      for (const id of mine) {
        const p = predicted.get(id);
        if (!p) continue;
        const y = labelOf.get(id)!;
        matrix[y]![p.predicted]!++;
        n++;
        if (p.predicted === y) correct++;
        if (p.loss !== null) {
          lossSum += p.loss;
          losses++;
        }
      }
      return { runId: run.id, imageIds: mine };
    });
    const perClass = matrix.map((row) => row.reduce((s, v) => s + v, 0));
    const confusion: ConfusionMatrix = { epoch: 0, classNames, matrix };
    sweeps.saveOutOfFold(
      db,
      { sweepId, config: train[0]!.config, classNames, folds: byFold },
      { acc: n ? correct / n : 0, loss: losses ? lossSum / losses : null, baseline: n ? Math.max(...perClass) / n : 0, confusion },
    );
  }
}
