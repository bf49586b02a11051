/**
 * Which executor runs a sweep's tasks (--on local | slurm): a small registry the sweep service asks,
 * so an executor plugs in without the sweep service knowing it.
 *
 * local: the studio's own job queue (local-executor.ts); slurm: a job array of run bundles
 * (slurm-executor.ts; it reads deps.training.events). An executor may also offer `cancelTask(runId)` (cancel one run of a running sweep: scancel of its
 * array task); the sweep service marks a queued run cancelled in the store itself, and an executor
 * must not start a task whose run row is no longer 'running' (LocalExecutor shows how).
 */
import type { SlurmOptions, SweepExecutorKind } from '../../shared/domain';
import { LocalExecutor, type LocalExecutorDeps } from './local-executor';
import { slurmExecutorFor } from './slurm-executor';
import type { SweepExecutor } from './sweep-executor';

/** An executor that may stop one task of a running sweep (true: it did). */
export type TaskExecutor = SweepExecutor & { cancelTask?(runId: number): boolean };

/** What an executor may use: the studio's job queue and training service (and the slurm options). */
export type ExecutorDeps = LocalExecutorDeps;

type ExecutorFactory = (slurm: SlurmOptions | null, deps: ExecutorDeps) => TaskExecutor;

const FACTORIES: Record<SweepExecutorKind, ExecutorFactory> = {
  local: (_slurm, deps) => new LocalExecutor(deps),
  slurm: (slurm, deps) => slurmExecutorFor(slurm, deps),
};

/** The executor of `kind` (Slurm's refuses options it cannot use, naming their field). */
export function executorFor(kind: SweepExecutorKind, slurm: SlurmOptions | null, deps: ExecutorDeps): TaskExecutor {
  return FACTORIES[kind](slurm, deps);
}
