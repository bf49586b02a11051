/**
 * The contract between a sweep (training/sweep-service.ts: the grid, k-fold, the leaderboard) and
 * what executes its runs: the studio's own job queue on this machine (--on local) or a Slurm job
 * array fed by self-contained run bundles (--on slurm). Both report runs the same way
 * (TrainingEvents: progress, epochs, log lines) and record every finished run in the project as an
 * ordinary run (metrics, confusion matrices, predictions, model), so the sweep, the history and the
 * leaderboard never ask where a run trained.
 */
import type { JobContext } from '../jobs/job-manager';
import type { ProjectStore } from '../store/project-store';
import type { TrainingInput } from './training-service';

/** One run of a sweep: its run row is already in the store (queued), under the sweep. */
export interface SweepTask {
  runId: number;
  /** Position in the sweep, 0-based (a Slurm array task's index). */
  index: number;
  /**
   * What the run trains on, as for a single run: the images with their split for this run (a
   * k-fold task's validation images are its fold), the class names, the model and the checked plan.
   */
  input: TrainingInput;
  /** The fold of a k-fold sweep, 0-based, and the fold count. */
  fold?: { index: number; of: number };
}

export type TaskOutcome =
  | { state: 'succeeded' }
  | { state: 'cancelled' }
  /** `reason` is the scheduler's or the engine's own words (Slurm: TIMEOUT, PREEMPTED, NODE_FAIL...). */
  | { state: 'failed'; reason: string };

export interface SweepExecutor {
  readonly kind: 'local' | 'slurm';
  /**
   * Runs the tasks and resolves once every one has ended, with each task's outcome by run id. A
   * task's run is recorded in the store when it ends (finished runs are imported whole or not at
   * all). Cancelling `ctx` stops every task still queued or running and leaves nothing running.
   */
  run(store: ProjectStore, tasks: SweepTask[], ctx: JobContext): Promise<Map<number, TaskOutcome>>;
}
