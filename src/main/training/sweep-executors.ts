/**
 * Which executor runs a sweep's tasks (--on local | slurm): a small registry the sweep service asks,
 * so an executor plugs in without the sweep service knowing it.
 *
 * Slurm (issue 22, the slurm helper): add `slurm: (slurm, deps) => slurmExecutorFor(slurm, deps)`
 * (training/slurm-executor.ts; it reads deps.training.events) to FACTORIES below; until then
 * `on: slurm` is refused with a clear message before a sweep exists (`--plan` still lists the runs).
 * An executor may also offer `cancelTask(runId)` (cancel one run of a running sweep: scancel of its
 * array task); the sweep service marks a queued run cancelled in the store itself, and an executor
 * must not start a task whose run row is no longer 'running' (LocalExecutor shows how).
 */
import type { SlurmOptions, SweepExecutorKind } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { LocalExecutor, type LocalExecutorDeps } from './local-executor';
import type { SweepExecutor } from './sweep-executor';

/** An executor that may stop one task of a running sweep (true: it did). */
export type TaskExecutor = SweepExecutor & { cancelTask?(runId: number): boolean };

/** What an executor may use: the studio's job queue and training service (and the slurm options). */
export type ExecutorDeps = LocalExecutorDeps;

type ExecutorFactory = (slurm: SlurmOptions | null, deps: ExecutorDeps) => TaskExecutor;

const FACTORIES: Partial<Record<SweepExecutorKind, ExecutorFactory>> = {
  local: (_slurm, deps) => new LocalExecutor(deps),
};

/** The executor of `kind`, or a bad_input error naming the `on` field when this build has none. */
export function executorFor(kind: SweepExecutorKind, slurm: SlurmOptions | null, deps: ExecutorDeps): TaskExecutor {
  const factory = FACTORIES[kind];
  if (!factory)
    throw new StudioError('bad_input', `The ${kind === 'slurm' ? 'Slurm' : kind} executor is not available in this build: run the sweep on this machine (on: local).`, 'on');
  return factory(slurm, deps);
}
