/**
 * Paged queries over a run's predictions joined with the images and their current labels, for
 * the evaluation views (a confusion-matrix cell, misclassified, top losses) and label
 * suggestions; and accepting suggestions as labels (with what they replaced, for undo).
 * Class indexes are positions in the run's class_names; labels are matched to them by name,
 * so a class renamed or deleted since the run simply no longer matches.
 */
import type { LabelGroup, PredictionQuery, PredictionRow, Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';
import { decodeProbabilities, getRun } from './runs';
import { setLabels } from './images';

type Param = string | number;

const FROM = `FROM predictions p
  JOIN images i ON i.id = p.image_id
  LEFT JOIN classes c ON c.id = i.class_id`;

/** A query on one run's predictions (an ensemble's are listed by ensemble-predictions.ts). */
type RunPredictionQuery = PredictionQuery & { runId: number };

function where(q: RunPredictionQuery, classNames: readonly string[]): { sql: string; params: Param[] } {
  const parts = ['p.run_id = ?'];
  const params: Param[] = [q.runId];
  if (q.trueIndex !== undefined) {
    const name = classNames[q.trueIndex];
    if (name === undefined) throw new StudioError('bad_request', `Run ${q.runId} has no class ${q.trueIndex}.`, 'trueIndex');
    parts.push('c.name = ? COLLATE NOCASE');
    params.push(name);
  }
  if (q.predictedIndex !== undefined) {
    if (q.predictedIndex >= classNames.length) throw new StudioError('bad_request', `Run ${q.runId} has no class ${q.predictedIndex}.`, 'predictedIndex');
    parts.push('p.predicted = ?');
    params.push(q.predictedIndex);
  }
  if (q.wrongOnly) {
    // The run's name for the predicted index, compared with the image's current label.
    parts.push(`i.class_id IS NOT NULL AND c.name <> (SELECT value FROM json_each(?) WHERE key = p.predicted) COLLATE NOCASE`);
    params.push(JSON.stringify(classNames));
  }
  if (q.unlabelledOnly) parts.push('i.class_id IS NULL');
  if (q.split !== undefined) {
    parts.push('i.split = ?');
    params.push(q.split);
  }
  if (q.minConfidence !== undefined) {
    parts.push('p.confidence >= ?');
    params.push(q.minConfidence);
  }
  return { sql: `WHERE ${parts.join(' AND ')}`, params };
}

function order(sort: PredictionQuery['sort']): string {
  switch (sort) {
    case 'loss':
      return 'ORDER BY p.loss IS NULL, p.loss DESC, i.id';
    case 'confidence-asc':
      return 'ORDER BY p.confidence ASC, i.id';
    case 'confidence-desc':
      return 'ORDER BY p.confidence DESC, i.id';
    default:
      return 'ORDER BY i.id';
  }
}

interface Row {
  imageId: number;
  fileName: string;
  split: Split;
  classId: number | null;
  className: string | null;
  predicted: number;
  confidence: number;
  loss: number | null;
  probabilities: Buffer;
}

export function top(probs: readonly number[], classNames: readonly string[], n = 3): { name: string; p: number }[] {
  return probs
    .map((p, i) => ({ name: classNames[i] ?? `#${i}`, p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, n);
}

/** One page of a run's predictions for a filter and sort, and the total for the filter. */
export function listPredictions(db: DB, query: PredictionQuery): { rows: PredictionRow[]; total: number; classNames: string[] } {
  const runId = query.runId;
  if (runId === undefined) throw new StudioError('bad_request', "Name the run whose predictions to list (an ensemble's are listed by listEnsemblePredictions).", 'runId');
  const q = { ...query, runId };
  const { classNames } = getRun(db, runId);
  const { sql, params } = where(q, classNames);
  const rows = db
    .prepare(
      `SELECT i.id AS imageId, i.file_name AS fileName, i.split AS split, i.class_id AS classId, c.name AS className,
              p.predicted AS predicted, p.confidence AS confidence, p.loss AS loss, p.probabilities AS probabilities
       ${FROM} ${sql} ${order(q.sort)} LIMIT ? OFFSET ?`,
    )
    .all(...params, q.limit, q.offset) as Row[];
  const total = (db.prepare(`SELECT COUNT(*) AS n ${FROM} ${sql}`).get(...params) as { n: number }).n;
  return {
    total,
    classNames,
    rows: rows.map(({ probabilities, ...r }) => ({
      ...r,
      predictedName: classNames[r.predicted] ?? `#${r.predicted}`,
      top: top(decodeProbabilities(probabilities), classNames),
    })),
  };
}

export interface AcceptResult {
  previous: LabelGroup[];
  changed: number;
  /** Predictions whose class no longer exists in the project (renamed or deleted since the run). */
  skipped: number;
}

/**
 * Labels images with the run's prediction: the listed images (any label), or every unlabelled
 * image predicted with at least `minConfidence`. Returns the labels they had, for undo.
 */
export function acceptSuggestions(db: DB, q: { runId: number; minConfidence?: number | undefined; imageIds?: number[] | undefined }): AcceptResult {
  const { classNames } = getRun(db, q.runId);
  if (q.imageIds === undefined && q.minConfidence === undefined)
    throw new StudioError('bad_request', 'Give the images to accept, or a minimum confidence.', 'minConfidence');
  const picked = (
    q.imageIds !== undefined
      ? db
          .prepare('SELECT image_id AS imageId, predicted FROM predictions WHERE run_id = ? AND image_id IN (SELECT value FROM json_each(?))')
          .all(q.runId, JSON.stringify(q.imageIds))
      : db
          .prepare(
            `SELECT p.image_id AS imageId, p.predicted AS predicted FROM predictions p JOIN images i ON i.id = p.image_id
             WHERE p.run_id = ? AND i.class_id IS NULL AND p.confidence >= ?`,
          )
          .all(q.runId, q.minConfidence)
  ) as { imageId: number; predicted: number }[];
  const classIds = new Map(
    (db.prepare('SELECT id, name FROM classes').all() as { id: number; name: string }[]).map((c) => [c.name.toLowerCase(), c.id] as const),
  );
  const byClass = new Map<number, number[]>();
  let skipped = 0;
  for (const p of picked) {
    const id = classIds.get((classNames[p.predicted] ?? '').toLowerCase());
    if (id === undefined) {
      skipped++;
      continue;
    }
    const list = byClass.get(id) ?? [];
    list.push(p.imageId);
    byClass.set(id, list);
  }
  return db.transaction(() => {
    const previous: LabelGroup[] = [];
    let changed = 0;
    for (const [classId, ids] of byClass) {
      const r = setLabels(db, ids, classId);
      previous.push(...r.previous);
      changed += r.changed;
    }
    return { previous, changed, skipped };
  })();
}

/** A run's stored prediction for one image: the class index, every class's probability and the test-time views averaged. */
export interface StoredPrediction {
  predicted: number;
  probabilities: number[];
  /** ['identity']: the image alone. */
  views: string[];
}

/** The views column (null: the image alone); a value the studio never writes reads as views unknown. */
export function storedViews(column: string | null): string[] {
  if (column === null) return ['identity'];
  try {
    const views: unknown = JSON.parse(column);
    if (Array.isArray(views) && views.every((v) => typeof v === 'string')) return views as string[];
  } catch {
    // below
  }
  return ['unknown'];
}

/** Run `runId`'s predictions for `imageIds` (those it has), by image id. */
export function predictionsFor(db: DB, runId: number, imageIds: readonly number[]): Map<number, StoredPrediction> {
  const map = new Map<number, StoredPrediction>();
  type Stored = { imageId: number; predicted: number; probabilities: Buffer; views: string | null };
  const put = (r: Stored): void => void map.set(r.imageId, { predicted: r.predicted, probabilities: decodeProbabilities(r.probabilities), views: storedViews(r.views) });
  const unique = new Set(imageIds);
  const columns = 'SELECT image_id AS imageId, predicted, probabilities, views FROM predictions WHERE run_id = ?';
  // Many images (an ensemble's evaluation views): one pass over the run's rows beats an IN list.
  if (unique.size > 2000) {
    for (const r of db.prepare(columns).iterate(runId) as IterableIterator<Stored>) if (unique.has(r.imageId)) put(r);
    return map;
  }
  const stmt = db.prepare(`${columns} AND image_id IN (SELECT value FROM json_each(?))`);
  for (const r of stmt.all(runId, JSON.stringify([...unique])) as Stored[]) put(r);
  return map;
}
