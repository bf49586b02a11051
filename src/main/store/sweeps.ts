/** Typed queries on sweeps: the grid and options, the state, and each labelled image's fold. */
import type { ConfusionMatrix, RunState, SlurmOptions, SweepExecutorKind, SweepGrid, SweepInfo, SweepState, TrainConfig } from '../../shared/domain';
import { createRun, finishRun, restartRun } from './runs';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';

/** What a sweep was started with besides its grid (sweeps.options). */
export interface SweepOptions {
  folds: number | null;
  foldSeed: number;
  on: SweepExecutorKind;
  slurm: SlurmOptions | null;
  /** The classes its runs train on: a re-run refuses a project whose classes changed since. */
  classNames: string[];
}

interface SweepRow {
  id: number;
  grid: string;
  options: string;
  state: SweepState;
  created_at: string;
  finished_at: string | null;
}

function toInfo(db: DB, r: SweepRow): SweepInfo & { classNames: string[] } {
  const o = JSON.parse(r.options) as SweepOptions;
  const counts: Record<RunState, number> = { running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const c of db.prepare("SELECT r.state, COUNT(*) AS n FROM runs r JOIN sweep_runs s ON s.run_id = r.id WHERE s.sweep_id = ? AND s.kind = 'train' GROUP BY r.state").all(r.id) as { state: RunState; n: number }[])
    counts[c.state] = c.n;
  return {
    id: r.id,
    grid: JSON.parse(r.grid) as SweepGrid,
    folds: o.folds,
    foldSeed: o.foldSeed,
    on: o.on,
    slurm: o.slurm,
    classNames: o.classNames,
    state: r.state,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    counts,
  };
}

/** A new sweep (running) with its folds and its runs (queued), in one transaction. */
export function createSweep(
  db: DB,
  sweep: { grid: SweepGrid; options: SweepOptions; folds: ReadonlyMap<number, number> | null; runs: { config: TrainConfig; fold: number | null; jobId: string }[] },
): { sweepId: number; runIds: number[] } {
  return db.transaction(() => {
    const info = db
      .prepare("INSERT INTO sweeps (grid, options, state, created_at) VALUES (?, ?, 'running', ?)")
      .run(JSON.stringify(sweep.grid), JSON.stringify(sweep.options), new Date().toISOString());
    const sweepId = Number(info.lastInsertRowid);
    if (sweep.folds) saveFolds(db, sweepId, sweep.folds);
    const runIds = sweep.runs.map((r) => createRun(db, { config: r.config, classNames: sweep.options.classNames, jobId: r.jobId, sweepId, fold: r.fold }));
    return { sweepId, runIds };
  })();
}

/** Runs of a sweep queued again from scratch (each under a new job id), the sweep running again. */
export function restartSweepRuns(db: DB, sweepId: number, runs: { runId: number; jobId: string }[]): void {
  db.transaction(() => {
    for (const r of runs) restartRun(db, r.runId, r.jobId);
    setSweepState(db, sweepId, 'running');
  })();
}

export function getSweep(db: DB, id: number): SweepInfo & { classNames: string[] } {
  const row = db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as SweepRow | undefined;
  if (!row) throw new StudioError('not_found', `There is no sweep ${id}.`, 'id');
  return toInfo(db, row);
}

export function listSweeps(db: DB): SweepInfo[] {
  return (db.prepare('SELECT * FROM sweeps ORDER BY id DESC').all() as SweepRow[]).map((r) => {
    const { classNames: _c, ...info } = toInfo(db, r);
    return info;
  });
}

export function setSweepState(db: DB, id: number, state: SweepState): void {
  db.prepare('UPDATE sweeps SET state = ?, finished_at = ? WHERE id = ?').run(state, state === 'running' ? null : new Date().toISOString(), id);
}

/** Each labelled image's fold, kept for the sweep's re-runs. */
function saveFolds(db: DB, sweepId: number, folds: ReadonlyMap<number, number>): void {
  const stmt = db.prepare('INSERT INTO sweep_folds (sweep_id, image_id, fold) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const [imageId, fold] of folds) stmt.run(sweepId, imageId, fold);
  })();
}

export function sweepFolds(db: DB, sweepId: number): Map<number, number> {
  const rows = db.prepare('SELECT image_id AS imageId, fold FROM sweep_folds WHERE sweep_id = ?').all(sweepId) as { imageId: number; fold: number }[];
  return new Map(rows.map((r) => [r.imageId, r.fold]));
}

/** The latest audit's near-duplicate clusters, as lists of image ids. */
export function duplicateGroups(db: DB): number[][] {
  const rows = db
    .prepare(
      `SELECT m.cluster_id AS cluster, m.image_id AS imageId FROM duplicate_members m
       JOIN duplicate_clusters c ON c.id = m.cluster_id
       WHERE c.audit_id = (SELECT MAX(id) FROM audits) ORDER BY m.cluster_id, m.image_id`,
    )
    .all() as { cluster: number; imageId: number }[];
  const groups = new Map<number, number[]>();
  for (const r of rows) groups.set(r.cluster, [...(groups.get(r.cluster) ?? []), r.imageId]);
  return [...groups.values()];
}

/** Copies the predictions of `fromRun` for `imageIds` to `toRun` (a k-fold configuration's out-of-fold predictions). */
function copyPredictions(db: DB, fromRun: number, toRun: number, imageIds: readonly number[]): number {
  const stmt = db.prepare(
    `INSERT OR REPLACE INTO predictions (run_id, image_id, predicted, confidence, probabilities, loss, views)
     SELECT ?, image_id, predicted, confidence, probabilities, loss, views FROM predictions WHERE run_id = ? AND image_id = ?`,
  );
  let copied = 0;
  db.transaction(() => {
    for (const id of imageIds) copied += stmt.run(toRun, fromRun, id).changes;
  })();
  return copied;
}

/**
 * A k-fold configuration's 'cv' run in one transaction: each fold run's predictions of its own fold
 * copied to it, and the out-of-fold accuracy, mean loss, baseline and confusion matrix.
 */
export function saveOutOfFold(
  db: DB,
  cv: { sweepId: number; config: TrainConfig; classNames: string[]; folds: { runId: number; imageIds: number[] }[] },
  r: { acc: number; loss: number | null; baseline: number; confusion: ConfusionMatrix },
): number {
  return db.transaction(() => {
    const runId = createRun(db, { config: cv.config, classNames: cv.classNames, jobId: null, sweepId: cv.sweepId, kind: 'cv' });
    let copied = 0;
    for (const f of cv.folds) copied += copyPredictions(db, f.runId, runId, f.imageIds);
    db.prepare('INSERT OR REPLACE INTO confusion_matrices (run_id, epoch, matrix) VALUES (?, 0, ?)').run(runId, JSON.stringify(r.confusion));
    db.prepare('UPDATE runs SET best_val_acc = ?, best_val_loss = ?, baseline = ? WHERE id = ?').run(r.acc, r.loss, r.baseline, runId);
    finishRun(db, runId, 'succeeded', { result: { outOfFold: { folds: cv.folds.length, runs: cv.folds.map((f) => f.runId), predictions: copied } } });
    return runId;
  })();
}

/** Predicted class and loss of a run's predictions of `imageIds`. */
export function predictedOf(db: DB, runId: number): Map<number, { predicted: number; loss: number | null }> {
  const rows = db.prepare('SELECT image_id AS imageId, predicted, loss FROM predictions WHERE run_id = ?').all(runId) as { imageId: number; predicted: number; loss: number | null }[];
  return new Map(rows.map((r) => [r.imageId, { predicted: r.predicted, loss: r.loss }]));
}
