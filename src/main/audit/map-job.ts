/**
 * The embedding map job: every image's features (extracted where the cache lacks them) through PCA
 * and seeded UMAP in the engine, stored as the project's latest map; and pages of it for the Audit
 * screen as base64 typed arrays (a compact payload that every transport carries as text).
 */
import type { EmbeddingMapPage, MapSummary } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import type { ModelLibrary } from '../models/library';
import { auditScores } from '../store/audits';
import { listClasses } from '../store/classes';
import { latestMap, mapBounds, mapPoints, saveMap } from '../store/embedding-maps';
import { imageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import { latestSucceededRun } from '../store/runs';
import type { Engine, EngineEvent } from '../engine/protocol';
import { featureSource, resolveSource } from './feature-source';

const STAGE_LABEL: Record<string, string> = { extract: 'Extracting features', pca: 'PCA', neighbours: 'Nearest neighbours', layout: 'UMAP layout' };
/** Share of the bar before each stage (extraction is the unknown: it is nothing once cached). */
const STAGE_START: Record<string, number> = { extract: 0, pca: 0.3, neighbours: 0.35, layout: 0.5 };

export async function runMap(store: ProjectStore, engine: Engine, models: ModelLibrary, req: { runId?: number | undefined; model?: string | undefined; seed: number }, ctx: JobContext): Promise<MapSummary> {
  const t0 = performance.now();
  const source = resolveSource(store, models, req);
  const all = imageFiles(store.db);
  if (all.length < 3) throw new StudioError('bad_input', `A map needs at least 3 images; this project has ${all.length}.`);
  let stage = 'extract';
  const onEvent = (e: EngineEvent): void => {
    if (e.type === 'stage') stage = e.stage;
    else if (e.type === 'progress' && e.total > 0) {
      const start = STAGE_START[stage] ?? 0;
      const end = Object.values(STAGE_START).find((v) => v > start) ?? 1;
      ctx.progress(Math.round((start + (end - start) * (e.done / e.total)) * 1000), 1000, STAGE_LABEL[stage] ?? stage);
    }
  };
  ctx.progress(0, 1000, STAGE_LABEL.extract);
  const r = await engine.call('embeddingMap', { source: featureSource(store, source, all), seed: req.seed }, { signal: ctx.signal, onEvent });
  ctx.throwIfCancelled();
  const kept = all.map((_, i) => i).filter((i) => Number.isFinite(r.coordinates[2 * i]!));
  const xy = new Float32Array(kept.length * 2);
  kept.forEach((i, p) => xy.set(r.coordinates.subarray(2 * i, 2 * i + 2), 2 * p));
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let p = 0; p < kept.length; p++) {
    minX = Math.min(minX, xy[2 * p]!);
    maxX = Math.max(maxX, xy[2 * p]!);
    minY = Math.min(minY, xy[2 * p + 1]!);
    maxY = Math.max(maxY, xy[2 * p + 1]!);
  }
  const info = { runId: source.runId, model: source.modelId, cutLayer: r.cutLayer, featureDim: r.dim };
  const durationMs = Math.round(performance.now() - t0);
  const result = { points: kept.length, skippedCount: r.failed.length, pcaComponents: r.pcaComponents, pcaExplained: r.pcaExplained, durationMs, bounds: { minX, maxX, minY, maxY } };
  const mapId = saveMap(store.db, info, kept.map((i) => all[i]!.id), xy, result);
  return { mapId, source: info, points: kept.length, skippedCount: r.failed.length, pcaComponents: r.pcaComponents, pcaExplained: r.pcaExplained, durationMs };
}

const base64 = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const SPLIT_CODE = { train: 0, val: 1, test: 2 } as const;

/** A page of the latest map with labels and splits now, the latest run's predictions and the latest audit's scores. */
export function mapPage(store: ProjectStore, offset: number, limit: number): EmbeddingMapPage | null {
  const db = store.db;
  const map = latestMap(db);
  if (!map) return null;
  const run = latestSucceededRun(db);
  const classes = listClasses(db).map((c) => ({ id: c.id, name: c.name, color: c.color }));
  const classIndex = new Map(classes.map((c, i) => [c.id, i]));
  const byName = new Map(classes.map((c, i) => [c.name.toLowerCase(), i]));
  // The run's class index -> the palette's (by name, as the evaluation views match them).
  const runToPalette = (run?.classNames ?? []).map((n) => byName.get(n.toLowerCase()) ?? -1);
  const { rows, total } = mapPoints(db, map.id, run?.id ?? null, offset, limit);
  const scores = auditScores(db);
  const n = rows.length;
  const ids = new Int32Array(n);
  const xy = new Float32Array(2 * n);
  const labels = new Int16Array(n);
  const predicted = new Int16Array(n);
  const splits = new Uint8Array(n);
  const quality = new Float32Array(n);
  rows.forEach((r, i) => {
    ids[i] = r.id;
    xy[2 * i] = r.x;
    xy[2 * i + 1] = r.y;
    labels[i] = r.classId === null ? -1 : (classIndex.get(r.classId) ?? -1);
    predicted[i] = r.predicted === null ? -1 : (runToPalette[r.predicted] ?? -1);
    splits[i] = SPLIT_CODE[r.split];
    quality[i] = scores.get(r.id) ?? NaN;
  });
  return {
    mapId: map.id,
    createdAt: map.createdAt,
    source: map.source,
    total,
    offset,
    count: n,
    classes,
    runId: run?.id ?? null,
    bounds: mapBounds(db, map.id),
    ids: base64(ids),
    xy: base64(xy),
    labels: base64(labels),
    predicted: base64(predicted),
    splits: base64(splits),
    scores: base64(quality),
  };
}
