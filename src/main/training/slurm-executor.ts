/**
 * A sweep on a Slurm cluster (`--on slurm`): every task becomes a run bundle in the shared work
 * folder (run-bundle.ts) and the tasks one job array (`sbatch --array=0-(n-1)`), each array task
 * running `transfer-studio run-bundle` on its bundle. The studio follows the tasks with squeue
 * (scontrol or sacct once they left the queue) and each bundle's progress.json, shows them live as
 * local runs (TrainingEvents), imports every finished run whole (run-bundle-import.ts), cancels
 * with scancel until squeue lists none of the array, and reports a task Slurm ended (TIMEOUT,
 * CANCELLED, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY...) with Slurm's reason. Run again, it imports
 * what finished meanwhile and submits only the tasks that did not finish.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import { entryScript } from '../../shared/node/entry-script';
import { writeFileAtomic } from '../../shared/node/atomic-write';
import type { JobContext } from '../jobs/job-manager';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import { bundleDirOf, bundlePaths, bundleSchema, LIMITS, progressSchema, readBundleJson, statusSchema, writeBundle, type BundleEpoch } from './run-bundle';
import { importBundle, RESULT_MAX_BYTES } from './run-bundle-import';
import { failureReason, isActive, sbatch, scancel, squeue, taskState, type SlurmEnv } from './slurm-commands';
import { localWorkdir, workdirRel, type SlurmWorkdir } from './slurm-workdir';
import { sshRunner, sshWorkdir } from './slurm-ssh';
import { parseSshAddress } from './ssh-channel';
import type { SweepExecutor, SweepTask, TaskOutcome } from './sweep-executor';
import type { TrainingEvents } from './training-service';

/**
 * Where and how the array runs: the sweep's Slurm options (SlurmOptions of the sweep request, in
 * src/shared/domain) with the work folder required. Each value reaches sbatch as one argument,
 * never through a shell.
 */
export interface SlurmExecutorOptions extends SlurmEnv {
  /** A folder this machine and every compute node see at the same path: the run bundles go there. */
  workdir: string;
  /** The work folder reached another way (on the login node over ssh); default: `workdir` itself. */
  access?: SlurmWorkdir;
  /** sbatch --partition; the cluster's default when absent. */
  partition?: string;
  /** sbatch --gres, e.g. gpu:1. */
  gres?: string;
  /** sbatch --time of each task, e.g. 02:00:00. */
  time?: string;
  events: TrainingEvents;
  /**
   * The command line that starts transfer-studio on a compute node (before `run-bundle BUNDLE`);
   * default: this installation (this Node or Electron and its CLI entry), which a cluster with a
   * shared file system sees at the same path.
   */
  studioCommand?: string[];
  /** How often the tasks are looked at (ms). */
  pollMs?: number;
  /** A run's row changed (imported, failed, cancelled): the views read the runs again. */
  changed?: () => void;
}

/** A task of this submission being followed. */
interface Tracked {
  task: SweepTask;
  dir: string;
  /** Index in the submitted array. */
  index: number;
  shownEpochs: number;
  progressStamp: number;
  progressRefused: boolean;
  queuedShown: boolean;
  /** Polls for which neither the queue nor Slurm's records nor the bundle knew the task. */
  unknownPolls: number;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** This installation's command line for a compute node: Node (or Electron as Node) and the CLI entry. */
export function defaultStudioCommand(): string[] {
  const { entry, execArgv } = entryScript('cli', import.meta.url, path.join('..', 'cli', 'index.ts'));
  return [process.execPath, ...execArgv, entry];
}

/** Where the studio's own time went in the last run() (the benchmark reads it). */
export interface SlurmRunStats {
  bundles: number;
  bundleMs: number;
  submitMs: number;
  /** Each import of a finished run. */
  importMs: number[];
}

export class SlurmExecutor implements SweepExecutor {
  readonly kind = 'slurm' as const;
  /** The job id of the last submission (tests and the log name it). */
  lastJobId: string | null = null;
  lastStats: SlurmRunStats = { bundles: 0, bundleMs: 0, submitMs: 0, importMs: [] };
  private readonly pollMs: number;
  /** The array and tasks being followed now (cancelTask stops one). */
  private following: { jobId: string; tasks: Map<number, Tracked> } | null = null;
  /** Runs cancelled alone (cancelTask): ended as cancelled, not as failed. */
  private readonly cancelled = new Set<number>();

  constructor(private readonly options: SlurmExecutorOptions) {
    this.pollMs = options.pollMs ?? 1000;
  }

  async run(store: ProjectStore, tasks: SweepTask[], ctx: JobContext): Promise<Map<number, TaskOutcome>> {
    const outcomes = new Map<number, TaskOutcome>();
    const stats: SlurmRunStats = (this.lastStats = { bundles: 0, bundleMs: 0, submitMs: 0, importMs: [] });
    const { events } = this.options;
    const log = (runId: number, message: string): void => events.log({ runId, message });
    const end = (runId: number, outcome: TaskOutcome): void => {
      outcomes.set(runId, outcome);
      if (outcome.state === 'failed') runs.finishRun(store.db, runId, 'failed', { error: outcome.reason });
      else if (outcome.state === 'cancelled') runs.finishRun(store.db, runId, 'cancelled', { error: this.cancelled.has(runId) ? 'Cancelled.' : 'The sweep was cancelled.' });
      this.options.changed?.();
    };
    const access = this.access;
    const workdir = access.local;

    // Bundles: a run that already succeeded is left alone; a finished bundle is imported, not run again.
    const toSubmit: Tracked[] = [];
    const hashes = new Map<string, string>();
    let written = 0;
    // What the cluster's copies of the bundles hold decides which are finished: one look for all.
    const seen = await access
      .pull(tasks.flatMap((task) => ['bundle.json', 'status.json', 'result'].map((f) => workdirRel(access, path.join(bundleDirOf(workdir, store, task.runId), f)))), { maxBytes: LIMITS.bundle })
      .then(() => null, (e: unknown) => StudioError.from(e));
    for (const task of tasks) {
      ctx.progress(written++, tasks.length, 'Writing run bundles');
      // A run whose row is no longer 'running' (queued rows are) was ended meanwhile, e.g. cancelled alone: it never starts.
      const run = runs.getRun(store.db, task.runId);
      if (run.state !== 'running') {
        outcomes.set(task.runId, run.state === 'failed' ? { state: 'failed', reason: run.error ?? 'failed' } : { state: run.state });
        continue;
      }
      if (ctx.signal.aborted) {
        end(task.runId, { state: 'cancelled' });
        continue;
      }
      try {
        if (seen) throw seen;
        const started = performance.now();
        const bundle = await writeBundle(store, workdir, task, hashes, ctx.signal);
        stats.bundleMs += performance.now() - started;
        stats.bundles++;
        const tracked: Tracked = { task, dir: bundle.dir, index: toSubmit.length, shownEpochs: 0, progressStamp: 0, progressRefused: false, queuedShown: false, unknownPolls: 0 };
        if (bundle.finished) {
          log(task.runId, `Run ${task.runId} finished on the cluster earlier; importing it.`);
          end(task.runId, await this.importRun(store, tracked, ctx));
        } else toSubmit.push(tracked);
      } catch (e) {
        const err = StudioError.from(e);
        end(task.runId, ctx.signal.aborted ? { state: 'cancelled' } : { state: 'failed', reason: `Its run bundle could not be written: ${err.message}` });
      }
    }
    if (toSubmit.length === 0) return outcomes;
    try {
      const started = performance.now();
      await this.publish(toSubmit.map((t) => t.dir), ctx.signal);
      stats.bundleMs += performance.now() - started;
    } catch (e) {
      const err = StudioError.from(e);
      for (const t of toSubmit) end(t.task.runId, ctx.signal.aborted ? { state: 'cancelled' } : { state: 'failed', reason: `Its run bundle could not be sent to the cluster: ${err.message}` });
      return outcomes;
    }
    if (ctx.signal.aborted) {
      for (const t of toSubmit) end(t.task.runId, { state: 'cancelled' });
      return outcomes;
    }

    let jobId: string;
    try {
      const started = performance.now();
      jobId = await this.submit(workdir, toSubmit);
      stats.submitMs = performance.now() - started;
    } catch (e) {
      const err = StudioError.from(e);
      for (const t of toSubmit) end(t.task.runId, { state: 'failed', reason: err.message });
      return outcomes;
    }
    this.lastJobId = jobId;
    for (const t of toSubmit) {
      log(t.task.runId, `Submitted to Slurm as task ${t.index} of job array ${jobId} (${toSubmit.length} task(s)).`);
      events.progress({ runId: t.task.runId, jobId: ctx.jobId, phase: 'queued', done: 0, total: 0 });
    }
    this.following = { jobId, tasks: new Map(toSubmit.map((t) => [t.task.runId, t])) };
    try {
      await this.follow(store, jobId, toSubmit, ctx, end);
    } finally {
      this.following = null;
    }
    return outcomes;
  }

  private get access(): SlurmWorkdir {
    return this.options.access ?? localWorkdir(this.options.workdir);
  }

  /**
   * Gives the cluster the bundles written here, all at once (a few connections, however many tasks):
   * their images and models where it lacks them, their bundle.json, no state of an earlier attempt.
   */
  private async publish(dirs: string[], signal: AbortSignal): Promise<void> {
    const access = this.access;
    if (dirs.every((dir) => access.clusterPath(dir) === dir)) return;
    const shared = new Set<string>();
    for (const dir of dirs) {
      const bundle = await readBundleJson(bundlePaths(dir).bundle, bundleSchema, LIMITS.bundle, 'bundle.json');
      for (const rel of [bundle.model, ...bundle.items.map((i) => i.image), ...bundle.predict.map((i) => i.image)]) shared.add(rel);
    }
    await access.push([...shared], { onlyMissing: true, signal });
    const paths = dirs.map(bundlePaths);
    await access.remove(paths.flatMap((p) => [p.status, p.progress, p.result, p.work]).map((f) => workdirRel(access, f)));
    await access.push(paths.map((p) => workdirRel(access, p.bundle)), { signal });
  }

  /** Cancels one run of the sweep (scancel of its array task); false when it is not on the cluster now. */
  cancelTask(runId: number): boolean {
    const t = this.following?.tasks.get(runId);
    if (!t || !this.following) return false;
    this.cancelled.add(runId);
    void scancel(`${this.following.jobId}_${t.index}`, this.options).catch((e: unknown) =>
      this.options.events.log({ runId, message: `scancel failed: ${StudioError.from(e).message}` }),
    );
    return true;
  }

  /** Writes the array's script and task list under jobs/ and submits it; the Slurm job id. */
  private async submit(workdir: string, tasks: Tracked[]): Promise<string> {
    const jobDir = path.join(workdir, 'jobs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`);
    await fs.promises.mkdir(jobDir, { recursive: true });
    const list = path.join(jobDir, 'tasks.txt');
    const at = (p: string): string => this.access.clusterPath(p);
    // One bundle a line: a line break in the work folder's path would shift every task.
    if (/[\n\r]/.test(workdir) || /[\n\r]/.test(at(workdir))) throw new StudioError('bad_input', 'The Slurm work folder\'s path has a line break in it; choose another folder.', 'workdir');
    await writeFileAtomic(list, tasks.map((t) => at(t.dir)).join('\n') + '\n');
    const command = this.options.studioCommand ?? defaultStudioCommand();
    const electron = process.versions['electron'] !== undefined && !this.options.studioCommand;
    const script = path.join(jobDir, 'array.sh');
    await writeFileAtomic(
      script,
      [
        '#!/bin/sh',
        '# Written by Transfer Studio: each task of this job array trains one run bundle (the line of tasks.txt at its index).',
        `BUNDLE=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${quote(at(list))})`,
        `${electron ? 'ELECTRON_RUN_AS_NODE=1 ' : ''}exec ${command.map(quote).join(' ')} run-bundle "$BUNDLE"`,
        '',
      ].join('\n'),
    );
    await fs.promises.chmod(script, 0o755);
    await this.access.push([workdirRel(this.access, jobDir)]);
    const { partition, gres, time } = this.options;
    const args = [
      `--array=0-${tasks.length - 1}`,
      '--job-name=transfer-studio-sweep',
      `--chdir=${at(jobDir)}`,
      `--output=${at(path.join(jobDir, 'task-%a.out'))}`,
      `--error=${at(path.join(jobDir, 'task-%a.err'))}`,
      ...(partition ? [`--partition=${partition}`] : []),
      ...(gres ? [`--gres=${gres}`] : []),
      ...(time ? [`--time=${time}`] : []),
    ];
    return sbatch(args, at(script), this.options);
  }

  /** Follows the array until every task ended, or cancels it when the sweep is cancelled. */
  private async follow(store: ProjectStore, jobId: string, tasks: Tracked[], ctx: JobContext, end: (runId: number, o: TaskOutcome) => void): Promise<void> {
    const open = new Set(tasks);
    const slurm = this.options;
    while (open.size > 0) {
      if (ctx.signal.aborted) return this.cancel(store, jobId, open, ctx, end);
      let queued: Map<number, { state: string; reason?: string }>;
      try {
        queued = await squeue(jobId, slurm);
      } catch (e) {
        // A passing failure of the controller: the next poll asks again.
        for (const t of open) this.options.events.log({ runId: t.task.runId, message: `Could not ask Slurm about the tasks: ${StudioError.from(e).message}` });
        await sleep(this.pollMs * 5, ctx.signal);
        continue;
      }
      await this.refresh(open);
      for (const t of [...open]) {
        const q = queued.get(t.index);
        if (q) {
          if (q.state === 'PENDING' && !t.queuedShown) {
            t.queuedShown = true;
            if (q.reason) this.options.events.log({ runId: t.task.runId, message: `Waiting in Slurm's queue (${q.reason}).` });
          }
          await this.showProgress(t, ctx);
          continue;
        }
        const state = await taskState(jobId, t.index, slurm);
        if (state && isActive(state.state)) continue;
        await this.showProgress(t, ctx);
        const status = await readBundleJson(bundlePaths(t.dir).status, statusSchema, LIMITS.status, 'status.json').catch(() => null);
        if (!state && !status && ++t.unknownPolls < 3) continue;
        open.delete(t);
        this.following?.tasks.delete(t.task.runId);
        if (status?.state === 'succeeded' && (!state || state.state === 'COMPLETED')) end(t.task.runId, await this.importRun(store, t, ctx));
        else if (this.cancelled.has(t.task.runId)) end(t.task.runId, { state: 'cancelled' });
        else end(t.task.runId, { state: 'failed', reason: failureReason(state, status?.message) });
      }
      ctx.progress(tasks.length - open.size, tasks.length, 'Runs on the Slurm cluster');
      if (open.size > 0) await sleep(this.pollMs, ctx.signal);
    }
  }

  /** scancel, then waits until squeue lists none of the array; a task that finished meanwhile is still imported. */
  private async cancel(store: ProjectStore, jobId: string, open: Set<Tracked>, ctx: JobContext, end: (runId: number, o: TaskOutcome) => void): Promise<void> {
    await scancel(jobId, this.options);
    const never = new AbortController().signal;
    for (let i = 0; (await squeue(jobId, this.options).catch(() => new Map())).size > 0; i++) {
      if (i > 600) throw new StudioError('internal', `Slurm still lists tasks of job ${jobId} a minute after scancel.`);
      await sleep(100, never);
    }
    await this.refresh(open);
    for (const t of open) {
      const status = await readBundleJson(bundlePaths(t.dir).status, statusSchema, LIMITS.status, 'status.json').catch(() => null);
      const state = await taskState(jobId, t.index, this.options);
      if (status?.state === 'succeeded' && state?.state === 'COMPLETED') end(t.task.runId, await this.importRun(store, t, ctx));
      else end(t.task.runId, { state: 'cancelled' });
    }
  }

  /** The tasks' progress and status files (and whether a result is there) as the cluster has them. */
  private async refresh(open: Iterable<Tracked>): Promise<void> {
    const access = this.access;
    const rels = [...open].flatMap((t) => {
      const p = bundlePaths(t.dir);
      return [p.progress, p.status, p.result].map((f) => workdirRel(access, f));
    });
    // A failure to look is passing (the link, the login node): the next poll looks again.
    await access.pull(rels, { maxBytes: LIMITS.progress }).catch((e: unknown) => {
      for (const t of open) this.options.events.log({ runId: t.task.runId, message: `Could not read the task's files: ${StudioError.from(e).message}` });
    });
  }

  /** Progress and new epochs of a task from its progress.json, when it changed; a broken file is refused once, in the log. */
  private async showProgress(t: Tracked, ctx: JobContext): Promise<void> {
    const file = bundlePaths(t.dir).progress;
    const stat = await fs.promises.stat(file).catch(() => null);
    if (!stat || stat.mtimeMs === t.progressStamp) return;
    t.progressStamp = stat.mtimeMs;
    const runId = t.task.runId;
    let p;
    try {
      p = await readBundleJson(file, progressSchema, LIMITS.progress, `The progress file of run ${runId}`);
    } catch (e) {
      if (!t.progressRefused) this.options.events.log({ runId, message: `${StudioError.from(e).message} Its progress is not shown; the run goes on.` });
      t.progressRefused = true;
      return;
    }
    this.showEpochs(t, p.ended);
    const { ended: _ended, host: _host, ...rest } = p;
    this.options.events.progress({ runId, jobId: ctx.jobId, ...rest });
  }

  private showEpochs(t: Tracked, ended: BundleEpoch[]): void {
    for (const e of ended.slice(t.shownEpochs)) this.options.events.epoch({ runId: t.task.runId, metrics: e.metrics, confusion: e.confusion });
    t.shownEpochs = Math.max(t.shownEpochs, ended.length);
  }

  private async importRun(store: ProjectStore, t: Tracked, ctx: JobContext): Promise<TaskOutcome> {
    const runId = t.task.runId;
    try {
      const started = performance.now();
      await this.access.pull([workdirRel(this.access, bundlePaths(t.dir).result)], { deep: true, maxBytes: RESULT_MAX_BYTES, maxTotal: RESULT_MAX_BYTES });
      const imported = await importBundle(store, runId, t.dir);
      this.lastStats.importMs.push(performance.now() - started);
      this.showEpochs(t, imported.epochs);
      this.options.events.progress({ runId, jobId: ctx.jobId, phase: 'predict', done: imported.predictions, total: imported.predictions });
      return { state: 'succeeded' };
    } catch (e) {
      return { state: 'failed', reason: `The finished run could not be imported: ${StudioError.from(e).message}` };
    }
  }
}

/**
 * The executor of a sweep `--on slurm` (the sweep's executor registry calls it): its runs report to
 * the training service's events, as local runs do. A work folder is required: nothing else is
 * seen by the compute nodes.
 */
export function slurmExecutorFor(
  slurm: { workdir?: string | undefined; partition?: string | undefined; gres?: string | undefined; time?: string | undefined; login?: string | undefined } | null,
  deps: { training: { events: TrainingEvents }; changed?: () => void },
): SlurmExecutor {
  const workdir = slurm?.workdir;
  if (!workdir)
    throw new StudioError('bad_input', 'A sweep on Slurm needs a work folder that this machine and every compute node see at the same path (the run bundles go there).', 'workdir');
  if (/[\n\r]/.test(workdir)) throw new StudioError('bad_input', 'The Slurm work folder\'s path has a line break in it; choose another folder.', 'workdir');
  const { partition, gres, time, login } = slurm;
  // Through the login node: the commands run there, the work folder is its own, the tasks run the studio installed there.
  const address = login ? parseSshAddress(login) : null;
  return new SlurmExecutor({
    workdir,
    ...(address ? { access: sshWorkdir(address, workdir), runner: sshRunner(address), studioCommand: [address.command] } : {}),
    ...(partition ? { partition } : {}),
    ...(gres ? { gres } : {}),
    ...(time ? { time } : {}),
    events: deps.training.events,
    ...(deps.changed ? { changed: deps.changed } : {}),
  });
}
