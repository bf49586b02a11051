/**
 * The latest data audit: its label scores (out-of-sample probabilities, confident learning's
 * flags), label confirmations, and its near-duplicate clusters. What is "open", a "leak" or a
 * "conflict" is judged on the images' labels and splits now, so a fix or a move shows at once.
 */
import {
  DUPLICATE_MATCHES,
  DUPLICATE_THRESHOLDS,
  type AuditSummary,
  type DuplicateClusterInfo,
  type DuplicateMemberInfo,
  type DuplicatePairInfo,
  type FeatureSourceInfo,
  type IssueStatus,
  type LabelIssueQuery,
  type LabelIssueRow,
  type NoiseRateInfo,
  type Split,
} from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';

/** What an audit stores beside its rows (the audits.result JSON). */
export interface AuditResultData {
  scored: number;
  images: number;
  skippedCount: number;
  skipped: string[];
  flagged: number;
  /** Per class of the audit, in order. */
  noiseRates: { images: number; rate: number | null }[];
  fingerprintsComputed: number;
  durations: AuditSummary['durations'];
  /** [a, b, edges] of the stored pairs whose edges were measured (the second look; no column holds it: few pairs). */
  pairEdges?: [number, number, number][];
  /** [a, b, smoothed correlation] of the stored pairs that have one (as pairEdges). */
  pairSmoothed?: [number, number, number][];
  /** [a, b, next best rival's score] of the stored pairs that were compared with one (as pairEdges). */
  pairRival?: [number, number, number][];
  /** [a, b, interior correlation] of the stored pairs that have one (as pairEdges). */
  pairInterior?: [number, number, number][];
  /** [a, b, the interiors' next best] of the stored pairs that have one (as pairEdges). */
  pairInteriorRival?: [number, number, number][];
}

export interface AuditScoreInput {
  imageId: number;
  given: number;
  suggested: number;
  score: number;
  selfConfidence: number;
  flagged: boolean;
  probabilities: Float32Array;
}

export interface NewAudit {
  source: FeatureSourceInfo;
  folds: number;
  /** The classes of the probabilities, in order. */
  classes: { id: number; name: string }[];
  result: AuditResultData;
  /** The highest image id when the audit started: images above it were not looked at. */
  lastImageId: number;
  scores: AuditScoreInput[];
  clusters: { members: number[]; pairs: Omit<DuplicatePairInfo, 'shifted' | 'margin'>[] }[];
}

export function lastImageId(db: DB): number {
  return (db.prepare('SELECT COALESCE(MAX(id), 0) AS n FROM images').get() as { n: number }).n;
}

const f32 = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const fromF32 = (b: Buffer): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** The pair measures no column holds, kept in the result where a pair has them. */
const PAIR_MEASURES = ['edges', 'smoothed', 'rival', 'interior', 'interiorRival'] as const;
type PairMeasure = (typeof PAIR_MEASURES)[number];
const MEASURE_KEYS = { edges: 'pairEdges', smoothed: 'pairSmoothed', rival: 'pairRival', interior: 'pairInterior', interiorRival: 'pairInteriorRival' } as const satisfies Record<PairMeasure, keyof AuditResultData>;

/** The result with each pair measure of the pairs that have it. */
function withPairMeasures(audit: NewAudit): AuditResultData {
  const result = { ...audit.result };
  for (const m of PAIR_MEASURES) {
    const rows = audit.clusters.flatMap((c) => c.pairs.flatMap((p): [number, number, number][] => (p[m] === null ? [] : [[p.a, p.b, p[m]]])));
    if (rows.length) result[MEASURE_KEYS[m]] = rows;
  }
  return result;
}

/** A pair measure by pair key (a-b) of an audit. */
type Measures = Record<PairMeasure, Map<string, number>>;
const pairKey = (a: number, b: number): string => `${a}-${b}`;
const byPair = (rows: [number, number, number][] = []): Map<string, number> => new Map(rows.map(([a, b, v]) => [pairKey(a, b), v]));
const measuresOf = (a: LatestAudit): Measures => Object.fromEntries(PAIR_MEASURES.map((m) => [m, byPair(a.result[MEASURE_KEYS[m]])])) as Measures;

/** Stores an audit as the project's latest (the one before, with its rows, is deleted); returns its id. */
export function saveAudit(db: DB, audit: NewAudit): number {
  return db.transaction(() => {
    db.prepare('DELETE FROM audits').run();
    const id = Number(
      db
        .prepare('INSERT INTO audits (run_id, model, cut_layer, feature_dim, folds, classes, result, last_image_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(audit.source.runId, audit.source.model, audit.source.cutLayer, audit.source.featureDim, audit.folds, JSON.stringify(audit.classes), JSON.stringify(withPairMeasures(audit)), audit.lastImageId, new Date().toISOString())
        .lastInsertRowid,
    );
    // An image removed while the audit ran has no row to point at: its scores and memberships are dropped.
    const score = db.prepare(
      `INSERT INTO audit_scores (audit_id, image_id, given, suggested, given_class_id, score, self_confidence, flagged, probabilities)
       SELECT ?, id, ?, ?, ?, ?, ?, ?, ? FROM images WHERE id = ?`,
    );
    for (const s of audit.scores) {
      const givenClass = audit.classes[s.given];
      if (!givenClass) throw new StudioError('internal', `Audit score of image ${s.imageId} has class ${s.given}, outside the ${audit.classes.length} classes.`);
      score.run(id, s.given, s.suggested, givenClass.id, s.score, s.selfConfidence, s.flagged ? 1 : 0, f32(s.probabilities), s.imageId);
    }
    const cluster = db.prepare('INSERT INTO duplicate_clusters (audit_id) VALUES (?)');
    const member = db.prepare('INSERT INTO duplicate_members (cluster_id, image_id) SELECT ?, id FROM images WHERE id = ?');
    const pair = db.prepare(
      `INSERT INTO duplicate_pairs (cluster_id, a, b, hamming, cosine, pixel, shifted)
       SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM images WHERE id IN (?, ?)) = 2`,
    );
    for (const c of audit.clusters) {
      const cid = Number(cluster.run(id).lastInsertRowid);
      for (const m of c.members) member.run(cid, m);
      // The shifted column holds the match's index in DUPLICATE_MATCHES (0 aligned, 1 shifted: what it held before matches had names).
      for (const p of c.pairs) pair.run(cid, p.a, p.b, p.hamming, p.cosine, p.pixel, DUPLICATE_MATCHES.indexOf(p.match), p.a, p.b);
    }
    return id;
  })();
}

interface AuditRow {
  id: number;
  runId: number | null;
  model: string;
  cutLayer: string;
  featureDim: number;
  folds: number;
  classes: string;
  result: string;
  lastImageId: number;
  createdAt: string;
}

export interface LatestAudit {
  id: number;
  createdAt: string;
  source: FeatureSourceInfo;
  folds: number;
  classes: { id: number; name: string }[];
  result: AuditResultData;
  lastImageId: number;
}

export function latestAudit(db: DB): LatestAudit | null {
  const r = db
    .prepare(
      `SELECT id, run_id AS runId, model, cut_layer AS cutLayer, feature_dim AS featureDim, folds, classes, result, last_image_id AS lastImageId, created_at AS createdAt
       FROM audits ORDER BY id DESC LIMIT 1`,
    )
    .get() as AuditRow | undefined;
  if (!r) return null;
  return {
    id: r.id,
    createdAt: r.createdAt,
    source: { runId: r.runId, model: r.model, cutLayer: r.cutLayer, featureDim: r.featureDim },
    folds: r.folds,
    classes: JSON.parse(r.classes) as { id: number; name: string }[],
    result: JSON.parse(r.result) as AuditResultData,
    lastImageId: r.lastImageId,
  };
}

/** An issue's status now, as SQL over audit_scores s joined with images i. */
const STATUS = `CASE WHEN i.class_id IS NOT s.given_class_id THEN 'fixed'
  WHEN EXISTS (SELECT 1 FROM label_confirmations lc WHERE lc.image_id = i.id AND lc.class_id = i.class_id) THEN 'confirmed'
  ELSE 'open' END`;

/** Clusters of the audit with 2+ members in the project, their size and whether they leak or conflict now. */
const CLUSTERS = `SELECT c.id, COUNT(*) AS size, COUNT(DISTINCT i.split) > 1 AS leak, COUNT(DISTINCT i.class_id) > 1 AS conflict
  FROM duplicate_clusters c JOIN duplicate_members m ON m.cluster_id = c.id JOIN images i ON i.id = m.image_id
  WHERE c.audit_id = ? GROUP BY c.id HAVING COUNT(*) >= 2`;

export function auditSummary(db: DB): AuditSummary | null {
  const a = latestAudit(db);
  if (!a) return null;
  const open = (
    db.prepare(`SELECT COUNT(*) AS n FROM audit_scores s JOIN images i ON i.id = s.image_id WHERE s.audit_id = ? AND s.flagged = 1 AND ${STATUS} = 'open'`).get(a.id) as { n: number }
  ).n;
  const c = db
    .prepare(`SELECT COUNT(*) AS clusters, COALESCE(SUM(leak), 0) AS leaks, COALESCE(SUM(conflict), 0) AS conflicts, COALESCE(SUM(size), 0) AS images FROM (${CLUSTERS})`)
    .get(a.id) as { clusters: number; leaks: number; conflicts: number; images: number };
  const since = (db.prepare('SELECT COUNT(*) AS n FROM images WHERE id > ?').get(a.lastImageId) as { n: number }).n;
  const exists = db.prepare('SELECT 1 FROM classes WHERE id = ?').pluck();
  const noiseRates: NoiseRateInfo[] = a.classes.map((cls, i) => ({
    classId: exists.get(cls.id) ? cls.id : null,
    className: cls.name,
    images: a.result.noiseRates[i]?.images ?? 0,
    rate: a.result.noiseRates[i]?.rate ?? null,
  }));
  const r = a.result;
  return {
    id: a.id,
    createdAt: a.createdAt,
    source: a.source,
    folds: a.folds,
    classNames: a.classes.map((x) => x.name),
    scored: r.scored,
    images: r.images,
    skippedCount: r.skippedCount,
    skipped: r.skipped,
    flagged: r.flagged,
    openIssues: open,
    noiseRates,
    clusters: c.clusters,
    leaks: c.leaks,
    conflicts: c.conflicts,
    duplicateImages: c.images,
    imagesSince: since,
    fingerprintsComputed: r.fingerprintsComputed,
    durations: r.durations,
  };
}

/** A page of the latest audit's flagged images (of a status now), likeliest errors first. */
export function listLabelIssues(db: DB, q: LabelIssueQuery): { rows: LabelIssueRow[]; total: number } {
  const a = latestAudit(db);
  if (!a) return { rows: [], total: 0 };
  const parts = ['s.audit_id = ?', 's.flagged = 1'];
  const params: (string | number)[] = [a.id];
  if (q.status !== 'all') {
    parts.push(`${STATUS} = ?`);
    params.push(q.status);
  }
  if (q.givenClassId !== undefined) {
    parts.push('s.given_class_id = ?');
    params.push(q.givenClassId);
  }
  if (q.suggestedClassId !== undefined) {
    const index = a.classes.findIndex((c) => c.id === q.suggestedClassId);
    parts.push('s.suggested = ?');
    params.push(index);
  }
  if (q.split !== undefined) {
    parts.push('i.split = ?');
    params.push(q.split);
  }
  const from = `FROM audit_scores s JOIN images i ON i.id = s.image_id WHERE ${parts.join(' AND ')}`;
  const total = (db.prepare(`SELECT COUNT(*) AS n ${from}`).get(...params) as { n: number }).n;
  const rows = db
    .prepare(
      `SELECT s.image_id AS imageId, i.file_name AS fileName, i.split, s.given, s.suggested, s.given_class_id AS givenClassId, i.class_id AS classId,
              s.score, s.self_confidence AS selfConfidence, s.probabilities, ${STATUS} AS status
       ${from} ORDER BY s.score, s.image_id LIMIT ? OFFSET ?`,
    )
    .all(...params, q.limit, q.offset) as {
    imageId: number;
    fileName: string;
    split: Split;
    given: number;
    suggested: number;
    givenClassId: number;
    classId: number | null;
    score: number;
    selfConfidence: number;
    probabilities: Buffer;
    status: IssueStatus;
  }[];
  const exists = db.prepare('SELECT 1 FROM classes WHERE id = ?').pluck();
  const classId = (i: number): number | null => {
    const id = a.classes[i]?.id;
    return id !== undefined && exists.get(id) ? id : null;
  };
  return {
    total,
    rows: rows.map((r) => {
      const p = fromF32(r.probabilities);
      const top = Array.from(p, (v, j) => ({ name: a.classes[j]?.name ?? String(j), p: v }))
        .sort((x, y) => y.p - x.p)
        .slice(0, 3);
      return {
        imageId: r.imageId,
        fileName: r.fileName,
        split: r.split,
        givenClassId: classId(r.given),
        given: a.classes[r.given]?.name ?? '',
        suggestedClassId: classId(r.suggested),
        suggested: a.classes[r.suggested]?.name ?? '',
        classId: r.classId,
        score: r.score,
        selfConfidence: r.selfConfidence,
        status: r.status,
        top,
      };
    }),
  };
}

/** Label-quality score of every image the latest audit scored (the map's colour). */
export function auditScores(db: DB): Map<number, number> {
  const a = latestAudit(db);
  if (!a) return new Map();
  const rows = db.prepare('SELECT image_id AS id, score FROM audit_scores WHERE audit_id = ?').all(a.id) as { id: number; score: number }[];
  return new Map(rows.map((r) => [r.id, r.score]));
}

// ---- confirmations ------------------------------------------------------------------------

/** Ids of images (of `ids`) whose current label is confirmed. */
export function confirmedIds(db: DB, ids?: readonly number[]): Set<number> {
  const sql = 'SELECT lc.image_id FROM label_confirmations lc JOIN images i ON i.id = lc.image_id AND i.class_id = lc.class_id';
  const rows = ids ? db.prepare(`${sql} WHERE lc.image_id IN (SELECT value FROM json_each(?))`).pluck().all(JSON.stringify(ids)) : db.prepare(sql).pluck().all();
  return new Set(rows as number[]);
}

/** Confirms the current label of the labelled images among `ids`; returns those newly confirmed. */
export function confirmLabels(db: DB, ids: readonly number[]): { changed: number; confirmed: number[] } {
  return db.transaction(() => {
    const before = confirmedIds(db, ids);
    const now = new Date().toISOString();
    db.prepare(
      `INSERT INTO label_confirmations (image_id, class_id, confirmed_at)
       SELECT id, class_id, ? FROM images WHERE id IN (SELECT value FROM json_each(?)) AND class_id IS NOT NULL
       ON CONFLICT(image_id) DO UPDATE SET class_id = excluded.class_id, confirmed_at = excluded.confirmed_at`,
    ).run(now, JSON.stringify(ids));
    const confirmed = [...confirmedIds(db, ids)].filter((id) => !before.has(id)).sort((x, y) => x - y);
    return { changed: confirmed.length, confirmed };
  })();
}

/** Removes confirmations of `ids`; returns the images whose current label had been confirmed. */
export function unconfirmLabels(db: DB, ids: readonly number[]): { changed: number; unconfirmed: number[] } {
  return db.transaction(() => {
    const unconfirmed = [...confirmedIds(db, ids)].sort((x, y) => x - y);
    db.prepare('DELETE FROM label_confirmations WHERE image_id IN (SELECT value FROM json_each(?))').run(JSON.stringify(ids));
    return { changed: unconfirmed.length, unconfirmed };
  })();
}

// ---- near-duplicate clusters ----------------------------------------------------------------

const FILTER: Record<'all' | 'leaks' | 'conflicts', string> = { all: '', leaks: 'WHERE leak', conflicts: 'WHERE conflict' };
/** Members and pairs listed per cluster at most (a cluster of thousands of blank images stays one answer). */
const MEMBERS_SHOWN = 200;

export function listDuplicateClusters(db: DB, q: { only: 'all' | 'leaks' | 'conflicts'; offset: number; limit: number }): { rows: DuplicateClusterInfo[]; total: number } {
  const a = latestAudit(db);
  if (!a) return { rows: [], total: 0 };
  const base = `SELECT * FROM (${CLUSTERS}) ${FILTER[q.only]}`;
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM (${base})`).get(a.id) as { n: number }).n;
  const page = db.prepare(`${base} ORDER BY size DESC, id LIMIT ? OFFSET ?`).all(a.id, q.limit, q.offset) as { id: number; size: number; leak: number; conflict: number }[];
  return { total, rows: page.map((c) => clusterInfo(db, c, measuresOf(a))) };
}

type PairRow = Omit<DuplicatePairInfo, 'shifted' | 'match' | 'margin' | PairMeasure> & { shifted: number };

/** A stored pair with its match named, its margin over the match's threshold and each pair measure (edges, smoothed correlation, rival, interior and its rival) where it has one. */
function pairInfo(p: PairRow, measures: Measures): DuplicatePairInfo {
  const match = DUPLICATE_MATCHES[p.shifted] ?? 'shifted';
  const measured = Object.fromEntries(PAIR_MEASURES.map((m) => [m, measures[m].get(pairKey(p.a, p.b)) ?? null])) as Record<PairMeasure, number | null>;
  return { ...p, shifted: match !== 'aligned', match, margin: p.pixel - DUPLICATE_THRESHOLDS[match], ...measured };
}

function clusterInfo(db: DB, c: { id: number; size: number; leak: number; conflict: number }, measures: Measures): DuplicateClusterInfo {
  const members = db
    .prepare(
      `SELECT i.id AS imageId, i.file_name AS fileName, i.split, i.class_id AS classId, cl.name AS className
       FROM duplicate_members m JOIN images i ON i.id = m.image_id LEFT JOIN classes cl ON cl.id = i.class_id
       WHERE m.cluster_id = ? ORDER BY i.id LIMIT ?`,
    )
    .all(c.id, MEMBERS_SHOWN) as DuplicateMemberInfo[];
  const pairs = (
    db
      .prepare('SELECT a, b, hamming, cosine, pixel, shifted FROM duplicate_pairs WHERE cluster_id = ? ORDER BY pixel DESC, a, b LIMIT ?')
      .all(c.id, MEMBERS_SHOWN) as PairRow[]
  ).map((p) => pairInfo(p, measures));
  const splits = (db.prepare('SELECT DISTINCT i.split FROM duplicate_members m JOIN images i ON i.id = m.image_id WHERE m.cluster_id = ? ORDER BY i.split').pluck().all(c.id) as Split[]).sort(
    (x, y) => SPLIT_ORDER.indexOf(x) - SPLIT_ORDER.indexOf(y),
  );
  return { id: c.id, size: c.size, members, pairs, splits, leak: c.leak === 1, conflict: c.conflict === 1 };
}
const SPLIT_ORDER: Split[] = ['train', 'val', 'test'];

/** One cluster of the latest audit (with at most MEMBERS_SHOWN members), or a typed not_found. */
export function duplicateCluster(db: DB, clusterId: number): DuplicateClusterInfo {
  const a = latestAudit(db);
  const c = a ? (db.prepare(`SELECT * FROM (${CLUSTERS}) WHERE id = ?`).get(a.id, clusterId) as { id: number; size: number; leak: number; conflict: number } | undefined) : undefined;
  if (!a || !c) throw new StudioError('not_found', `The latest audit has no near-duplicate cluster ${clusterId} (with two or more images still in the project).`, 'clusterId');
  return clusterInfo(db, c, measuresOf(a));
}

/** Every member of a cluster (not capped) with its split now. */
export function clusterMembers(db: DB, clusterId: number): { id: number; split: Split }[] {
  return db
    .prepare('SELECT i.id, i.split FROM duplicate_members m JOIN images i ON i.id = m.image_id WHERE m.cluster_id = ? ORDER BY i.id')
    .all(clusterId) as { id: number; split: Split }[];
}

/** Every cluster with all its members and each member's closest pair within the cluster (exports). */
export function allClusters(db: DB): (DuplicateClusterInfo & { best: Map<number, DuplicatePairInfo> })[] {
  const a = latestAudit(db);
  if (!a) return [];
  const list = db.prepare(`${CLUSTERS} ORDER BY COUNT(*) DESC, c.id`).all(a.id) as { id: number; size: number; leak: number; conflict: number }[];
  const measures = measuresOf(a);
  return list.map((c) => {
    const info = clusterInfo(db, c, measures);
    info.members = db
      .prepare(
        `SELECT i.id AS imageId, i.file_name AS fileName, i.split, i.class_id AS classId, cl.name AS className
         FROM duplicate_members m JOIN images i ON i.id = m.image_id LEFT JOIN classes cl ON cl.id = i.class_id WHERE m.cluster_id = ? ORDER BY i.id`,
      )
      .all(c.id) as DuplicateMemberInfo[];
    const best = new Map<number, DuplicatePairInfo>();
    for (const row of db.prepare('SELECT a, b, hamming, cosine, pixel, shifted FROM duplicate_pairs WHERE cluster_id = ?').all(c.id) as PairRow[]) {
      const p = pairInfo(row, measures);
      for (const m of [p.a, p.b]) if (p.pixel > (best.get(m)?.pixel ?? -Infinity)) best.set(m, p);
    }
    return { ...info, best };
  });
}
