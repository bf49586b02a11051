/**
 * The rules of a run's life that are not training itself: which run can be resumed (and with what),
 * and deleting a run with its folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import { trainingSet } from './training-service';
import type { TrainItem } from '../engine/protocol';

export interface ResumableRun {
  runId: number;
  /** The run's config, with the new epoch count if one was asked. */
  config: TrainConfig;
  classNames: string[];
  items: TrainItem[];
}

/**
 * A cancelled or failed run of scenarios 2-4 that has a checkpoint, on the classes it was started
 * with; refused with the reason otherwise.
 */
export function resumableRun(store: ProjectStore, runId: number, epochs?: number): ResumableRun {
  const run = runs.getRun(store.db, runId);
  if (run.state !== 'cancelled' && run.state !== 'failed')
    throw new StudioError('conflict', `Run ${run.id} ${run.state === 'running' ? 'is still running' : 'has finished'}; only a cancelled or failed run can be resumed.`, 'id');
  if (run.scenario === 1)
    throw new StudioError('bad_input', 'A feature-extraction run (scenario 1) retrains its head in seconds from the cached features: start a new run instead.', 'id');
  // A run on a server keeps its checkpoint there until it comes home with the result (the server checks it).
  if (!run.backend?.server && !fs.existsSync(path.join(store.runDir(run.id), 'checkpoint')))
    throw new StudioError('bad_input', `Run ${run.id} stopped before its first epoch ended, so it has no checkpoint to resume from: start a new run.`, 'id');
  const { classNames, items } = trainingSet(store);
  if (classNames.join('\n') !== run.classNames.join('\n'))
    throw new StudioError('bad_input', `The project's classes changed since run ${run.id} (${run.classNames.join(', ')} then, ${classNames.join(', ')} now): start a new run.`, 'id');
  const config = { ...run.config, ...(epochs === undefined ? {} : { epochs }) };
  return { runId: run.id, config, classNames, items };
}

/** Deletes a run that is not running: its rows, then its folder (trained model, caches, checkpoint). */
export function deleteRun(store: ProjectStore, runId: number): void {
  const run = runs.getRun(store.db, runId);
  if (run.state === 'running') throw new StudioError('conflict', `Run ${runId} is still running; cancel it first.`, 'id');
  runs.deleteRun(store.db, runId);
  fs.rmSync(store.runDir(runId), { recursive: true, force: true });
}
