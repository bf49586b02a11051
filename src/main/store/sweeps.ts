/** Typed queries on sweeps: the grid and options, the state, and each labelled image's fold. */
import type { ConfusionMatrix, RunState, SlurmOptions, SweepExecutorKind, SweepGrid, SweepInfo, SweepState } from '../../shared/domain';
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
  for (const c of db.prepare("SELECT state, COUNT(*) AS n FROM runs WHERE sweep_id = ? AND kind = 'train' GROUP BY state").all(r.id) as { state: RunState; n: number }[])
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

export function createSweep(db: DB, grid: SweepGrid, options: SweepOptions): number {
  const info = db
    .prepare("INSERT INTO sweeps (grid, options, state, created_at) VALUES (?, ?, 'running', ?)")
    .run(JSON.stringify(grid), JSON.stringify(options), new Date().toISOString());
  return Number(info.lastInsertRowid);
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
export function saveFolds(db: DB, sweepId: number, folds: ReadonlyMap<number, number>): void {
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
export function copyPredictions(db: DB, fromRun: number, toRun: number, imageIds: readonly number[]): number {
  const stmt = db.prepare(
    `INSERT OR REPLACE INTO predictions (run_id, image_id, predicted, confidence, probabilities, loss)
     SELECT ?, image_id, predicted, confidence, probabilities, loss FROM predictions WHERE run_id = ? AND image_id = ?`,
  );
  let copied = 0;
  db.transaction(() => {
    for (const id of imageIds) copied += stmt.run(toRun, fromRun, id).changes;
  })();
  return copied;
}

/** A k-fold configuration's out-of-fold figures on its 'cv' run: accuracy, mean loss, baseline and confusion matrix. */
export function recordOutOfFold(db: DB, runId: number, r: { acc: number; loss: number | null; baseline: number; confusion: ConfusionMatrix }): void {
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO confusion_matrices (run_id, epoch, matrix) VALUES (?, 0, ?)').run(runId, JSON.stringify(r.confusion));
    db.prepare('UPDATE runs SET best_val_acc = ?, best_val_loss = ?, baseline = ? WHERE id = ?').run(r.acc, r.loss, r.baseline, runId);
  })();
}

/** Predicted class and loss of a run's predictions of `imageIds`. */
export function predictedOf(db: DB, runId: number): Map<number, { predicted: number; loss: number | null }> {
  const rows = db.prepare('SELECT image_id AS imageId, predicted, loss FROM predictions WHERE run_id = ?').all(runId) as { imageId: number; predicted: number; loss: number | null }[];
  return new Map(rows.map((r) => [r.imageId, { predicted: r.predicted, loss: r.loss }]));
}
