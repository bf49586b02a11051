/**
 * The latest embedding map: a 2-D point per image (a new map replaces it), and pages of it joined
 * with the images' labels and splits now, the latest run's predictions and the latest audit's scores.
 */
import type { FeatureSourceInfo, Split } from '../../shared/domain';
import type { DB } from './open-database';

export interface MapResultData {
  points: number;
  skippedCount: number;
  pcaComponents: number;
  pcaExplained: number;
  durationMs: number;
  bounds: { minX: number; maxX: number; minY: number; maxY: number };
}

/** Stores a map as the latest (the one before is deleted); `ids` and `xy` ([x, y] per id) in the same order. */
export function saveMap(db: DB, source: FeatureSourceInfo, ids: ArrayLike<number>, xy: Float32Array, result: MapResultData): number {
  return db.transaction(() => {
    db.prepare('DELETE FROM embedding_maps').run();
    const id = Number(
      db
        .prepare('INSERT INTO embedding_maps (run_id, model, cut_layer, feature_dim, result, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(source.runId, source.model, source.cutLayer, source.featureDim, JSON.stringify(result), new Date().toISOString()).lastInsertRowid,
    );
    // An image removed while the map was computed has no row to point at: its point is dropped.
    const point = db.prepare('INSERT INTO map_points (map_id, image_id, x, y) SELECT ?, id, ?, ? FROM images WHERE id = ?');
    for (let i = 0; i < ids.length; i++) point.run(id, xy[2 * i], xy[2 * i + 1], ids[i]);
    return id;
  })();
}

export interface MapInfo {
  id: number;
  createdAt: string;
  source: FeatureSourceInfo;
  result: MapResultData;
}

export function latestMap(db: DB): MapInfo | null {
  const r = db
    .prepare('SELECT id, run_id AS runId, model, cut_layer AS cutLayer, feature_dim AS featureDim, result, created_at AS createdAt FROM embedding_maps ORDER BY id DESC LIMIT 1')
    .get() as { id: number; runId: number | null; model: string; cutLayer: string; featureDim: number; result: string; createdAt: string } | undefined;
  if (!r) return null;
  return { id: r.id, createdAt: r.createdAt, source: { runId: r.runId, model: r.model, cutLayer: r.cutLayer, featureDim: r.featureDim }, result: JSON.parse(r.result) as MapResultData };
}

export interface MapPointRow {
  id: number;
  x: number;
  y: number;
  classId: number | null;
  split: Split;
  /** The run's predicted class index, or null. */
  predicted: number | null;
}

/** A page of the map's points (in image order) with labels and splits now and `runId`'s predictions. */
export function mapPoints(db: DB, mapId: number, runId: number | null, offset: number, limit: number): { rows: MapPointRow[]; total: number } {
  const total = (db.prepare('SELECT COUNT(*) AS n FROM map_points WHERE map_id = ?').get(mapId) as { n: number }).n;
  const rows = db
    .prepare(
      `SELECT p.image_id AS id, p.x, p.y, i.class_id AS classId, i.split, pr.predicted
       FROM map_points p JOIN images i ON i.id = p.image_id
       LEFT JOIN predictions pr ON pr.run_id = ? AND pr.image_id = p.image_id
       WHERE p.map_id = ? ORDER BY p.image_id LIMIT ? OFFSET ?`,
    )
    .all(runId ?? -1, mapId, limit, offset) as MapPointRow[];
  return { rows, total };
}

/** Bounds of the points now in the map. */
export function mapBounds(db: DB, mapId: number): { minX: number; maxX: number; minY: number; maxY: number } {
  const b = db.prepare('SELECT MIN(x) AS minX, MAX(x) AS maxX, MIN(y) AS minY, MAX(y) AS maxY FROM map_points WHERE map_id = ?').get(mapId) as Record<string, number | null>;
  return { minX: b.minX ?? 0, maxX: b.maxX ?? 0, minY: b.minY ?? 0, maxY: b.maxY ?? 0 };
}
