/**
 * An ensemble's predictions, computed from its members' stored ones: per image the mean of their
 * class probabilities (classes matched by name to the first member's order). Nothing is stored for
 * an ensemble: predicting it predicts its members, and every view of it (the test-set exports, the
 * evaluation grids, the comparison with its best member) averages what they hold.
 */
import type { ConfusionMatrix, EnsembleScore, EnsembleSummary, PredictionQuery, PredictionRow, Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';
import { predictionsFor, top, type StoredPrediction } from './predictions';
import { getRun, sweepRuns } from './runs';
import { getSweep } from './sweeps';

export interface Ensemble {
  runs: number[];
  /** The first member's classes, in its order. */
  classNames: string[];
  /** Per member: the position in its own class names of each of `classNames`. */
  columns: number[][];
}

const listed = (names: readonly string[]): string => names.join(', ');

/**
 * The members checked: each a run that succeeded, all with the same classes (in any order). A
 * member with other classes is refused, saying which differ.
 */
export function ensembleOf(db: DB, runIds: readonly number[]): Ensemble {
  if (new Set(runIds).size !== runIds.length) throw new StudioError('bad_request', `A run is listed twice in the ensemble ${listed(runIds.map(String))}.`, 'runs');
  const members = runIds.map((id) => getRun(db, id));
  for (const run of members)
    if (run.state !== 'succeeded')
      throw new StudioError('bad_input', `Run ${run.id} has no trained model to be an ensemble member (it ${run.state === 'running' ? 'is still running' : run.state}).`, 'runs');
  const first = members[0]!;
  const columns = members.map((run) => {
    const own = new Map(run.classNames.map((n, i) => [n.toLowerCase(), i]));
    const missing = first.classNames.filter((n) => !own.has(n.toLowerCase()));
    const extra = run.classNames.filter((n) => !first.classNames.some((f) => f.toLowerCase() === n.toLowerCase()));
    if (missing.length > 0 || extra.length > 0 || run.classNames.length !== first.classNames.length)
      throw new StudioError(
        'bad_input',
        `Runs ${first.id} and ${run.id} do not predict the same classes, so their probabilities cannot be averaged: run ${first.id} has ${listed(first.classNames)}; run ${run.id} has ${listed(run.classNames)}` +
          `${missing.length ? ` (it lacks ${listed(missing)}` : ' ('}${missing.length && extra.length ? '; ' : ''}${extra.length ? `it adds ${listed(extra)}` : ''}). Pick runs trained on the same classes.`,
        'runs',
      );
    return first.classNames.map((n) => own.get(n.toLowerCase())!);
  });
  return { runs: [...runIds], classNames: first.classNames, columns };
}

const argmax = (p: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
};

/** -log p, floored as a stored prediction's loss is (runs.ts savePredictions). */
const crossEntropy = (p: number | undefined): number => -Math.log(Math.max(p ?? 0, 1e-7));

const sameViews = (a: readonly string[] | null, b: readonly string[] | null): boolean => a !== null && b !== null && a.join() === b.join();

type EnsemblePrediction = StoredPrediction & { views: string[] | null };

/**
 * The ensemble's prediction for each of `imageIds` that every member predicted: the mean of the
 * members' probabilities in the ensemble's class order; views: the members' when they agree, else null.
 */
export function ensemblePredictionsFor(db: DB, e: Ensemble, imageIds: readonly number[]): Map<number, EnsemblePrediction> {
  const all = averaged(db, e);
  const out = new Map<number, EnsemblePrediction>();
  for (const id of imageIds) {
    const p = all.get(id);
    if (p) out.set(id, p);
  }
  return out;
}

/**
 * The last ensemble averaged, per project database: the evaluation views page, filter and sort
 * through it without reading every member's rows again. Its key changes with any prediction of a
 * member stored, replaced (a new rowid) or deleted.
 */
const recent = new WeakMap<DB, { key: string; preds: Map<number, EnsemblePrediction> }>();

function averaged(db: DB, e: Ensemble): Map<number, EnsemblePrediction> {
  const members = JSON.stringify(e.runs);
  const state = db.prepare('SELECT COUNT(*) AS n, MAX(rowid) AS last, TOTAL(image_id) AS ids FROM predictions WHERE run_id IN (SELECT value FROM json_each(?))').get(members);
  const key = JSON.stringify([e.runs, e.columns, state]);
  const hit = recent.get(db);
  if (hit?.key === key) return hit.preds;
  const ids = db
    .prepare('SELECT image_id FROM predictions WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY image_id HAVING COUNT(*) = ?')
    .pluck()
    .all(members, e.runs.length) as number[];
  const perMember = e.runs.map((runId) => predictionsFor(db, runId, ids));
  const k = e.classNames.length;
  const preds = new Map<number, EnsemblePrediction>();
  for (const imageId of ids) {
    const own = perMember.map((m) => m.get(imageId)!);
    const mean = new Array<number>(k).fill(0);
    let views: string[] | null = own[0]!.views;
    own.forEach((p, m) => {
      const cols = e.columns[m]!;
      for (let c = 0; c < k; c++) mean[c]! += (p.probabilities[cols[c]!] ?? 0) / own.length;
      if (!sameViews(views, p.views)) views = null;
    });
    preds.set(imageId, { predicted: argmax(mean), probabilities: mean, views });
  }
  recent.set(db, { key, preds });
  return preds;
}

/** The views shared by every prediction, or null when they differ (some images with TTA, some without). */
export function commonViews(preds: Iterable<{ views: string[] | null }>): string[] | null {
  let views: string[] | null | undefined;
  for (const p of preds) {
    if (views === undefined) views = p.views;
    else if (!sameViews(views, p.views)) return null;
  }
  return views ?? ['identity'];
}

interface ImageRow {
  imageId: number;
  fileName: string;
  split: Split;
  classId: number | null;
  className: string | null;
}

/** Images predicted by every member, filtered by what does not depend on the prediction. */
function candidateImages(db: DB, e: Ensemble, q: Pick<PredictionQuery, 'trueIndex' | 'unlabelledOnly' | 'split'>): ImageRow[] {
  const parts = ['1'];
  const params: (string | number)[] = [JSON.stringify(e.runs), e.runs.length];
  if (q.trueIndex !== undefined) {
    const name = e.classNames[q.trueIndex];
    if (name === undefined) throw new StudioError('bad_request', `The ensemble has no class ${q.trueIndex}.`, 'trueIndex');
    parts.push('c.name = ? COLLATE NOCASE');
    params.push(name);
  }
  if (q.unlabelledOnly) parts.push('i.class_id IS NULL');
  if (q.split !== undefined) {
    parts.push('i.split = ?');
    params.push(q.split);
  }
  return db
    .prepare(
      `SELECT i.id AS imageId, i.file_name AS fileName, i.split AS split, i.class_id AS classId, c.name AS className
       FROM images i
       JOIN (SELECT image_id FROM predictions WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY image_id HAVING COUNT(*) = ?) every ON every.image_id = i.id
       LEFT JOIN classes c ON c.id = i.class_id WHERE ${parts.join(' AND ')} ORDER BY i.id`,
    )
    .all(...params) as ImageRow[];
}

/** listPredictions for an ensemble: the same filters, sorts and paging, on the averaged probabilities. */
export function listEnsemblePredictions(db: DB, q: PredictionQuery & { runs: number[] }): { rows: PredictionRow[]; total: number; classNames: string[] } {
  const e = ensembleOf(db, q.runs);
  if (q.predictedIndex !== undefined && q.predictedIndex >= e.classNames.length) throw new StudioError('bad_request', `The ensemble has no class ${q.predictedIndex}.`, 'predictedIndex');
  const images = candidateImages(db, e, q);
  const preds = averaged(db, e);
  const lower = e.classNames.map((n) => n.toLowerCase());
  const index = new Map(lower.map((n, i) => [n, i]));
  // Filtered on the averaged probabilities; whole rows are made for the page only.
  const rows: { img: ImageRow; p: EnsemblePrediction; confidence: number; loss: number | null }[] = [];
  for (const img of images) {
    const p = preds.get(img.imageId);
    if (!p || (q.predictedIndex !== undefined && p.predicted !== q.predictedIndex)) continue;
    const label = img.className?.toLowerCase() ?? null;
    if (q.wrongOnly && (label === null || label === lower[p.predicted])) continue;
    const confidence = p.probabilities[p.predicted] ?? 0;
    if (q.minConfidence !== undefined && confidence < q.minConfidence) continue;
    const trueIndex = label === null ? undefined : index.get(label);
    rows.push({ img, p, confidence, loss: label === null ? null : crossEntropy(trueIndex === undefined ? 0 : p.probabilities[trueIndex]) });
  }
  type Row = (typeof rows)[number];
  const byId = (a: Row, b: Row): number => a.img.imageId - b.img.imageId;
  if (q.sort === 'loss') rows.sort((a, b) => (a.loss === null ? 1 : 0) - (b.loss === null ? 1 : 0) || (b.loss ?? 0) - (a.loss ?? 0) || byId(a, b));
  else if (q.sort === 'confidence-asc') rows.sort((a, b) => a.confidence - b.confidence || byId(a, b));
  else if (q.sort === 'confidence-desc') rows.sort((a, b) => b.confidence - a.confidence || byId(a, b));
  const page = rows.slice(q.offset, q.offset + q.limit).map(
    ({ img, p, confidence, loss }): PredictionRow => ({ ...img, predicted: p.predicted, predictedName: e.classNames[p.predicted]!, confidence, loss, top: top(p.probabilities, e.classNames) }),
  );
  return { rows: page, total: rows.length, classNames: e.classNames };
}

/**
 * The ensemble against its members on the labelled validation images every member predicted:
 * accuracy and loss of each (from the same stored predictions), the best member, the gain, and
 * the ensemble's confusion matrix there.
 */
export function ensembleSummary(db: DB, runIds: readonly number[]): EnsembleSummary {
  const e = ensembleOf(db, runIds);
  const folds = foldModelsOf(db, e.runs);
  // A fold model trained on every labelled image outside its fold, validation images included: none is unseen by all members.
  if (folds)
    return { runs: e.runs, classNames: e.classNames, on: 'none', images: 0, members: [], best: null, ensemble: null, gain: null, confusion: null, views: null, folds };
  const index = new Map(e.classNames.map((n, i) => [n.toLowerCase(), i]));
  const images = candidateImages(db, e, { split: 'val', unlabelledOnly: false })
    .map((img) => ({ imageId: img.imageId, label: img.className === null ? undefined : index.get(img.className.toLowerCase()) }))
    .filter((img): img is { imageId: number; label: number } => img.label !== undefined);
  const ids = images.map((i) => i.imageId);
  const k = e.classNames.length;
  const score = (preds: Map<number, { probabilities: number[] }>, columns: number[]): EnsembleScore => {
    let correct = 0;
    let loss = 0;
    for (const img of images) {
      const probs = preds.get(img.imageId)!.probabilities;
      const mapped = columns.map((c) => probs[c] ?? 0);
      if (argmax(mapped) === img.label) correct++;
      loss += crossEntropy(mapped[img.label]);
    }
    return { accuracy: correct / images.length, loss: loss / images.length };
  };
  const identity = e.classNames.map((_, i) => i);
  const ensemblePreds = ensemblePredictionsFor(db, e, ids);
  const memberPreds = e.runs.map((runId) => predictionsFor(db, runId, ids));
  const empty = images.length === 0;
  const members = empty ? [] : e.runs.map((runId, m) => ({ runId, ...score(memberPreds[m]!, e.columns[m]!) }));
  const best = empty ? null : [...members].sort((a, b) => b.accuracy - a.accuracy || a.loss - b.loss)[0]!;
  const ensemble = empty ? null : score(ensemblePreds, identity);
  const matrix = e.classNames.map(() => new Array<number>(k).fill(0));
  for (const img of images) matrix[img.label]![ensemblePreds.get(img.imageId)!.predicted]!++;
  const confusion: ConfusionMatrix | null = empty ? null : { epoch: 0, classNames: e.classNames, matrix };
  return {
    runs: e.runs,
    classNames: e.classNames,
    on: 'validation',
    images: images.length,
    members,
    best,
    ensemble,
    gain: best && ensemble ? { accuracy: ensemble.accuracy - best.accuracy, loss: best.loss - ensemble.loss } : null,
    confusion,
    views: commonViews(ensemblePreds.values()),
    folds: null,
  };
}

/** When a member is a fold model of a k-fold sweep: that sweep, K, and its configuration's out-of-fold run (the first such member's). */
function foldModelsOf(db: DB, runIds: readonly number[]): EnsembleSummary['folds'] {
  const member = runIds.map((id) => getRun(db, id)).find((r) => r.fold !== null && r.sweepId !== null);
  if (!member) return null;
  const sweepId = member.sweepId!;
  const config = JSON.stringify(member.config);
  const cv = sweepRuns(db, sweepId).find((r) => r.kind === 'cv' && JSON.stringify(r.config) === config);
  return { sweepId, k: getSweep(db, sweepId).folds, cvRunId: cv?.id ?? null, outOfFoldAccuracy: cv?.bestValAcc ?? null };
}
