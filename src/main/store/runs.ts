/** Typed queries on training runs, their per-epoch metrics, confusion matrices and predictions. */
import type { BackendInfo, ConfusionMatrix, EpochMetrics, RunDetail, RunKind, RunState, RunSummary, Scenario, TrainConfig } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';

interface RunRow {
  id: number;
  scenario: Scenario;
  model: string;
  state: RunState;
  config: string;
  backend: string | null;
  class_names: string;
  baseline: number | null;
  best_epoch: number | null;
  best_val_acc: number | null;
  best_val_loss: number | null;
  result: string | null;
  error: string | null;
  job_id: string | null;
  started_at: string;
  finished_at: string | null;
  sweep_id: number | null;
  fold: number | null;
  kind: RunKind;
}

/** Runs with their sweep, fold and kind (sweep_runs; a run of no sweep is a 'train' run). */
const SELECT_RUNS = `SELECT r.*, s.sweep_id, s.fold, COALESCE(s.kind, 'train') AS kind FROM runs r LEFT JOIN sweep_runs s ON s.run_id = r.id`;

function toSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    scenario: r.scenario,
    model: r.model,
    state: r.state,
    config: JSON.parse(r.config) as TrainConfig,
    backend: r.backend === null ? null : (JSON.parse(r.backend) as BackendInfo),
    classNames: JSON.parse(r.class_names) as string[],
    baseline: r.baseline,
    bestEpoch: r.best_epoch,
    bestValAcc: r.best_val_acc,
    bestValLoss: r.best_val_loss,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    jobId: r.job_id,
    sweepId: r.sweep_id,
    fold: r.fold,
    kind: r.kind,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
  };
}

/** A new run, 'running' (queued until the training queue reaches it); a sweep's with its sweep and fold. */
export function createRun(db: DB, run: { config: TrainConfig; classNames: string[]; jobId: string | null; sweepId?: number; fold?: number | null; kind?: RunKind }): number {
  return db.transaction(() => {
    const info = db
      .prepare(
        `INSERT INTO runs (scenario, model, state, config, class_names, job_id, started_at)
         VALUES (?, ?, 'running', ?, ?, ?, ?)`,
      )
      .run(run.config.scenario, run.config.model, JSON.stringify(run.config), JSON.stringify(run.classNames), run.jobId, new Date().toISOString());
    const id = Number(info.lastInsertRowid);
    if (run.sweepId !== undefined)
      db.prepare('INSERT INTO sweep_runs (run_id, sweep_id, fold, kind) VALUES (?, ?, ?, ?)').run(id, run.sweepId, run.fold ?? null, run.kind ?? 'train');
    return id;
  })();
}

export function setRunBackend(db: DB, runId: number, backend: BackendInfo, baseline: number | null): void {
  db.prepare('UPDATE runs SET backend = ?, baseline = ? WHERE id = ?').run(JSON.stringify(backend), baseline, runId);
}

/** One epoch's metrics and confusion matrix, and the best-epoch columns, in one transaction. */
export function recordEpoch(db: DB, runId: number, m: EpochMetrics, confusion: ConfusionMatrix | null): void {
  db.transaction(() => {
    db.prepare(
      `INSERT OR REPLACE INTO run_metrics (run_id, epoch, train_loss, train_acc, val_loss, val_acc, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(runId, m.epoch, m.trainLoss, m.trainAcc, m.valLoss, m.valAcc, m.durationMs);
    if (confusion) db.prepare('INSERT OR REPLACE INTO confusion_matrices (run_id, epoch, matrix) VALUES (?, ?, ?)').run(runId, m.epoch, JSON.stringify(confusion));
    if (m.valLoss !== null)
      db.prepare(
        `UPDATE runs SET best_epoch = ?, best_val_loss = ?, best_val_acc = ?
         WHERE id = ? AND (best_val_loss IS NULL OR best_val_loss > ?)`,
      ).run(m.epoch, m.valLoss, m.valAcc, runId, m.valLoss);
  })();
}

export function finishRun(db: DB, runId: number, state: Exclude<RunState, 'running'>, outcome: { result?: unknown; error?: string }): void {
  db.prepare('UPDATE runs SET state = ?, result = ?, error = ?, finished_at = ? WHERE id = ?').run(
    state,
    outcome.result === undefined ? null : JSON.stringify(outcome.result),
    outcome.error ?? null,
    new Date().toISOString(),
    runId,
  );
}

/** A cancelled or failed run running again (resumed from its checkpoint) under a new job. */
export function reopenRun(db: DB, runId: number, jobId: string, config: TrainConfig): void {
  db.prepare("UPDATE runs SET state = 'running', error = NULL, result = NULL, finished_at = NULL, job_id = ?, config = ? WHERE id = ?").run(
    jobId,
    JSON.stringify(config),
    runId,
  );
}

/**
 * A sweep's run that did not succeed, queued again from scratch under a new job: its metrics,
 * matrices and predictions of the attempt before are dropped (a re-run is a new training).
 */
export function restartRun(db: DB, runId: number, jobId: string): void {
  db.transaction(() => {
    for (const table of ['run_metrics', 'confusion_matrices', 'predictions']) db.prepare(`DELETE FROM ${table} WHERE run_id = ?`).run(runId);
    db.prepare(
      `UPDATE runs SET state = 'running', error = NULL, result = NULL, finished_at = NULL, backend = NULL, baseline = NULL,
         best_epoch = NULL, best_val_acc = NULL, best_val_loss = NULL, job_id = ?, started_at = ? WHERE id = ?`,
    ).run(jobId, new Date().toISOString(), runId);
  })();
}

export function listRuns(db: DB): RunSummary[] {
  return (db.prepare(`${SELECT_RUNS} ORDER BY r.id DESC`).all() as RunRow[]).map(toSummary);
}

/** The runs of a sweep, in the order it made them. */
export function sweepRuns(db: DB, sweepId: number): RunSummary[] {
  return (db.prepare(`${SELECT_RUNS} WHERE s.sweep_id = ? ORDER BY r.id`).all(sweepId) as RunRow[]).map(toSummary);
}

/** Run `runId`, or undefined when there is none. */
export function findRun(db: DB, runId: number): RunSummary | undefined {
  const row = db.prepare(`${SELECT_RUNS} WHERE r.id = ?`).get(runId) as RunRow | undefined;
  return row && toSummary(row);
}

export function getRun(db: DB, runId: number): RunSummary {
  const run = findRun(db, runId);
  if (!run) throw new StudioError('not_found', `There is no run ${runId}.`, 'id');
  return run;
}

/** The latest run that succeeded (what predict and export use when no run is named). */
export function latestSucceededRun(db: DB): RunSummary | undefined {
  const row = db.prepare(`${SELECT_RUNS} WHERE r.state = 'succeeded' AND COALESCE(s.kind, 'train') = 'train' ORDER BY r.id DESC LIMIT 1`).get() as RunRow | undefined;
  return row && toSummary(row);
}

/** Deletes a run's row with its metrics, confusion matrices and predictions (ON DELETE CASCADE). */
export function deleteRun(db: DB, runId: number): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
}

export function runDetail(db: DB, runId: number): RunDetail {
  const run = getRun(db, runId);
  const metrics = (
    db
      .prepare(
        `SELECT epoch, train_loss AS trainLoss, train_acc AS trainAcc, val_loss AS valLoss, val_acc AS valAcc, duration_ms AS durationMs
         FROM run_metrics WHERE run_id = ? ORDER BY epoch`,
      )
      .all(runId) as EpochMetrics[]
  );
  const cm = db.prepare('SELECT matrix FROM confusion_matrices WHERE run_id = ? ORDER BY epoch DESC LIMIT 1').get(runId) as { matrix: string } | undefined;
  // The matrix of the best epoch is the one the kept model produced; fall back to the last.
  const best =
    run.bestEpoch === null
      ? undefined
      : (db.prepare('SELECT matrix FROM confusion_matrices WHERE run_id = ? AND epoch = ?').get(runId, run.bestEpoch) as { matrix: string } | undefined);
  const chosen = best ?? cm;
  return { ...run, metrics, confusion: chosen ? (JSON.parse(chosen.matrix) as ConfusionMatrix) : null };
}

export interface PredictionInput {
  imageId: number;
  probabilities: Float32Array | number[];
  /** Index of the image's true class in the run's class names, when it has one. */
  trueIndex: number | null;
}

/** How a batch of predictions was made: the test-time views averaged (src/shared/tta.ts). */
export function viewsColumn(views: readonly string[] | undefined): string | null {
  return views === undefined || (views.length === 1 && views[0] === 'identity') ? null : JSON.stringify(views);
}

/**
 * Stores a batch of predictions (replacing earlier ones of the same run and image); `views`: the
 * test-time views each was averaged over (absent: the image alone).
 */
export function savePredictions(db: DB, runId: number, batch: PredictionInput[], views?: readonly string[]): void {
  const stmt = db.prepare(
    'INSERT OR REPLACE INTO predictions (run_id, image_id, predicted, confidence, probabilities, loss, views) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const viewsText = viewsColumn(views);
  db.transaction(() => {
    for (const p of batch) {
      const probs = Float32Array.from(p.probabilities);
      let best = 0;
      for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
      const loss = p.trueIndex === null ? null : -Math.log(Math.max(probs[p.trueIndex] ?? 0, 1e-7));
      stmt.run(runId, p.imageId, best, probs[best] ?? 0, Buffer.from(probs.buffer, probs.byteOffset, probs.byteLength), loss, viewsText);
    }
  })();
}

export function decodeProbabilities(blob: Buffer): number[] {
  return Array.from(new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength)));
}

/**
 * A run trained elsewhere (a Slurm task's bundle) recorded whole in one transaction: what ran it,
 * every epoch with its confusion matrix, the predictions and the outcome.
 */
export function recordImportedRun(
  db: DB,
  runId: number,
  run: { backend: BackendInfo; baseline: number | null; epochs: { metrics: EpochMetrics; confusion: ConfusionMatrix | null }[]; predictions: PredictionInput[]; result: unknown },
): void {
  db.transaction(() => {
    setRunBackend(db, runId, run.backend, run.baseline);
    for (const e of run.epochs) recordEpoch(db, runId, e.metrics, e.confusion);
    savePredictions(db, runId, run.predictions);
    finishRun(db, runId, 'succeeded', { result: run.result });
  })();
}
