/**
 * Ensembles a sweep suggests, from its leaderboard: its best N runs by validation accuracy (a sweep
 * without folds: each run validated on the same images, so their accuracies compare), or the K fold
 * models of one configuration (numbered from 1 in the sweep's order, as the leaderboard shows them).
 * `predict --sweep` resolves to these runs, and the Export screen offers them as one pick. Also how a
 * fold ensemble's comparison reads: its gain cannot be measured out of fold.
 */
import type { EnsembleSummary, Leaderboard } from './domain';
import { StudioError } from './errors';

export interface SweepEnsemble {
  label: string;
  runs: number[];
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The sweep's `n` succeeded runs with the best validation accuracy (then the lowest loss). */
export function bestOfSweep(board: Leaderboard, n: number): SweepEnsemble {
  const id = board.sweep.id;
  if (board.sweep.folds)
    throw new StudioError('bad_request', `Sweep ${id} is ${board.sweep.folds}-fold: its runs validated on different folds, so their accuracies do not rank them; take one configuration's fold models (--folds C).`, 'best');
  if (!Number.isInteger(n) || n < 2) throw new StudioError('bad_request', `--best takes a number of runs of 2 or more, not ${n}.`, 'best');
  const done = board.rows.flatMap((r) => r.runs).filter((r) => r.state === 'succeeded' && r.valAcc !== null);
  if (done.length < n) throw new StudioError('bad_input', `Sweep ${id} has ${done.length} run(s) that succeeded with a validation accuracy, fewer than the ${n} asked.`, 'best');
  const runs = [...done].sort((a, b) => b.valAcc! - a.valAcc! || (a.valLoss ?? Infinity) - (b.valLoss ?? Infinity) || a.id - b.id).slice(0, n);
  return { label: `Sweep ${id}: best ${n} by validation accuracy (runs ${runs.map((r) => `${r.id} ${pct(r.valAcc!)}`).join(', ')})`, runs: runs.map((r) => r.id) };
}

/** The K fold models of configuration `config` (from 1) of a k-fold sweep, every one succeeded. */
export function foldsOfSweep(board: Leaderboard, config: number): SweepEnsemble {
  const id = board.sweep.id;
  if (!board.sweep.folds) throw new StudioError('bad_request', `Sweep ${id} has no folds: take its best runs (--best N).`, 'folds');
  const row = board.rows.find((r) => r.configIndex === config - 1);
  if (!row) throw new StudioError('bad_request', `Sweep ${id} has configurations 1 to ${board.rows.length}, not ${config}.`, 'folds');
  const failed = row.runs.filter((r) => r.state !== 'succeeded');
  if (failed.length || row.runs.length !== board.sweep.folds)
    throw new StudioError('bad_input', `Configuration ${config} of sweep ${id} (${row.label}) has ${board.sweep.folds - failed.length} of its ${board.sweep.folds} fold models: run the rest with sweep --resume ${id}.`, 'folds');
  return { label: `Sweep ${id}: the ${row.runs.length} fold models of #${config} ${row.label}${row.oofAcc !== null ? ` (out-of-fold ${pct(row.oofAcc)})` : ''}`, runs: row.runs.map((r) => r.id) };
}

/** What the Export screen offers from a sweep: its best `n` runs, or each complete configuration's fold models. */
export function sweepEnsembles(board: Leaderboard, n = 3): SweepEnsemble[] {
  const offers: SweepEnsemble[] = [];
  if (!board.sweep.folds) {
    const done = board.rows.flatMap((r) => r.runs).filter((r) => r.state === 'succeeded' && r.valAcc !== null).length;
    if (done >= 2) offers.push(bestOfSweep(board, Math.min(n, done)));
    return offers;
  }
  for (const row of board.rows)
    if (row.runs.length === board.sweep.folds && row.runs.every((r) => r.state === 'succeeded')) offers.push(foldsOfSweep(board, row.configIndex + 1));
  return offers;
}

/** A fold ensemble's comparison, said plainly: what cannot be compared, and what estimates one member. */
export function foldEnsembleText(s: EnsembleSummary): string | null {
  if (!s.folds) return null;
  const f = s.folds;
  const estimate =
    f.outOfFoldAccuracy !== null
      ? ` One fold model's accuracy is estimated by the out-of-fold predictions (run ${f.cvRunId}, each labelled image predicted by the fold model that did not train on it): ${pct(f.outOfFoldAccuracy)}.`
      : ' The out-of-fold estimate of one fold model exists once every fold of the configuration has succeeded.';
  return `Runs ${s.runs.join(', ')} include fold models of ${f.k ?? 'a'}-fold sweep ${f.sweepId}: each trained on the labelled images of the other folds (validation images included), so no labelled image is unseen by every member and the ensemble's gain over its best member cannot be measured.${estimate}`;
}
