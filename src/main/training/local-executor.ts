/**
 * The sweep executor of this machine (--on local): each task becomes an ordinary training job of
 * the studio's job queue (so the Train screen, the status bar and cancelJob see it like any run),
 * one at a time: the engine is one process and trains one run at a time (TrainingService's queue).
 */
import type { JobInfo } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import { JobManager, type JobContext } from '../jobs/job-manager';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import type { SweepExecutor, SweepTask, TaskOutcome } from './sweep-executor';
import type { TrainingService } from './training-service';

export interface LocalExecutorDeps {
  jobs: JobManager;
  training: TrainingService;
  /** A run's row changed (the views read the runs again). */
  changed(): void;
}

export class LocalExecutor implements SweepExecutor {
  readonly kind = 'local';
  /** The task training now: its run and job. */
  private current: { runId: number; jobId: string } | null = null;

  constructor(private readonly deps: LocalExecutorDeps) {}

  async run(store: ProjectStore, tasks: SweepTask[], ctx: JobContext): Promise<Map<number, TaskOutcome>> {
    const outcomes = new Map<number, TaskOutcome>();
    const stopCurrent = (): void => {
      if (this.current) this.deps.jobs.cancel(this.current.jobId);
    };
    ctx.signal.addEventListener('abort', stopCurrent);
    try {
      for (const task of tasks) {
        const row = runs.getRun(store.db, task.runId);
        // Cancelled while it waited (the sweep, or this run alone): it never starts.
        if (ctx.signal.aborted || row.state !== 'running') {
          if (row.state === 'running') runs.finishRun(store.db, task.runId, 'cancelled', { error: 'Cancelled before it started.' });
          outcomes.set(task.runId, row.state === 'failed' ? { state: 'failed', reason: row.error ?? 'failed' } : { state: 'cancelled' });
          continue;
        }
        const jobId = row.jobId ?? JobManager.newId();
        this.current = { runId: task.runId, jobId };
        const { done } = this.deps.jobs.start('train', (jctx) => this.deps.training.enqueue(store, task.runId, task.input, jctx), jobId);
        this.deps.changed();
        const job = await done.finally(() => (this.current = null));
        outcomes.set(task.runId, outcomeOf(job));
        this.deps.changed();
      }
    } finally {
      ctx.signal.removeEventListener('abort', stopCurrent);
    }
    return outcomes;
  }

  /** Stops the task of `runId` if it is training now; false when it is not (queued, or ended). */
  cancelTask(runId: number): boolean {
    if (this.current?.runId !== runId) return false;
    return this.deps.jobs.cancel(this.current.jobId) !== undefined;
  }
}

function outcomeOf(job: JobInfo<'train'>): TaskOutcome {
  if (job.state === 'succeeded') return { state: 'succeeded' };
  if (job.state === 'cancelled') return { state: 'cancelled' };
  return { state: 'failed', reason: StudioError.from(job.error ?? new Error('Training failed.')).message };
}
