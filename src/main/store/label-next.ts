/**
 * The latest label-next ranking: per unlabelled image the head's margin and entropy uncertainty,
 * its density in the unlabelled pool and its prediction. The queue is ordered when asked, so the
 * uncertainty measure and representativeness are choices of the query, and images labelled since
 * drop out.
 */
import type { FeatureSourceInfo, LabelNextInfo, LabelNextRow, Split, UncertaintyKind } from '../../shared/domain';
import type { DB } from './open-database';

export interface LabelNextScore {
  imageId: number;
  margin: number;
  entropy: number;
  density: number;
  predicted: number;
  confidence: number;
}

type RankingData = Pick<LabelNextInfo, 'trainedOn' | 'ranked' | 'skippedCount' | 'durations'>;

/** Stores a ranking as the latest (the one before is deleted); returns its id. */
export function saveRanking(db: DB, source: FeatureSourceInfo, classes: { id: number; name: string }[], data: RankingData, scores: readonly LabelNextScore[]): number {
  return db.transaction(() => {
    db.prepare('DELETE FROM label_next_rankings').run();
    const id = Number(
      db
        .prepare('INSERT INTO label_next_rankings (run_id, model, cut_layer, feature_dim, classes, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(source.runId, source.model, source.cutLayer, source.featureDim, JSON.stringify(classes), JSON.stringify(data), new Date().toISOString()).lastInsertRowid,
    );
    const row = db.prepare(
      'INSERT INTO label_next_scores (ranking_id, image_id, margin, entropy, density, predicted, confidence) SELECT ?, id, ?, ?, ?, ?, ? FROM images WHERE id = ?',
    );
    for (const s of scores) row.run(id, s.margin, s.entropy, s.density, s.predicted, s.confidence, s.imageId);
    return id;
  })();
}

export function latestRanking(db: DB): (LabelNextInfo & { classes: { id: number; name: string }[] }) | null {
  const r = db
    .prepare('SELECT id, run_id AS runId, model, cut_layer AS cutLayer, feature_dim AS featureDim, classes, result, created_at AS createdAt FROM label_next_rankings ORDER BY id DESC LIMIT 1')
    .get() as { id: number; runId: number | null; model: string; cutLayer: string; featureDim: number; classes: string; result: string; createdAt: string } | undefined;
  if (!r) return null;
  const classes = JSON.parse(r.classes) as { id: number; name: string }[];
  return {
    id: r.id,
    createdAt: r.createdAt,
    source: { runId: r.runId, model: r.model, cutLayer: r.cutLayer, featureDim: r.featureDim },
    classNames: classes.map((c) => c.name),
    classes,
    ...(JSON.parse(r.result) as RankingData),
  };
}

/** The latest ranking as the contract describes it. */
export function latestRankingInfo(db: DB): LabelNextInfo | null {
  const r = latestRanking(db);
  if (!r) return null;
  const { classes: _classes, ...info } = r;
  return info;
}

export function labelNextQueue(
  db: DB,
  q: { uncertainty: UncertaintyKind; representative: boolean; split?: Split | undefined; offset: number; limit: number },
): { rows: LabelNextRow[]; total: number } {
  const ranking = latestRanking(db);
  if (!ranking) return { rows: [], total: 0 };
  const u = q.uncertainty === 'entropy' ? 's.entropy' : 's.margin';
  const score = q.representative ? `${u} * s.density` : u;
  const where = `WHERE s.ranking_id = ? AND i.class_id IS NULL${q.split ? ' AND i.split = ?' : ''}`;
  const params: (string | number)[] = q.split ? [ranking.id, q.split] : [ranking.id];
  const from = `FROM label_next_scores s JOIN images i ON i.id = s.image_id ${where}`;
  const total = (db.prepare(`SELECT COUNT(*) AS n ${from}`).get(...params) as { n: number }).n;
  const rows = db
    .prepare(
      `SELECT s.image_id AS imageId, i.file_name AS fileName, i.split, ${score} AS score, ${u} AS uncertainty, s.density, s.predicted, s.confidence
       ${from} ORDER BY score DESC, s.image_id LIMIT ? OFFSET ?`,
    )
    .all(...params, q.limit, q.offset) as (Omit<LabelNextRow, 'predictedClassId' | 'predicted'> & { predicted: number })[];
  const exists = db.prepare('SELECT 1 FROM classes WHERE id = ?').pluck();
  return {
    total,
    rows: rows.map((r) => {
      const c = ranking.classes[r.predicted];
      return { ...r, predictedClassId: c && exists.get(c.id) ? c.id : null, predicted: c?.name ?? '' };
    }),
  };
}
