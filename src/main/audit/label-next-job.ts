/**
 * Label next's quick retrain: a fresh head on every labelled image's cached features (the run's
 * head settings, few epochs, large steps, early stopping: QUICK_RETRAIN) predicts the unlabelled
 * images in the engine; their margin and entropy uncertainty, density and prediction are stored as
 * the latest ranking, which the queue orders as asked. Only images the feature cache lacks are
 * extracted (the first ranking's unlabelled images), so after a batch of labels this takes seconds.
 */
import type { LabelNextInfo } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import type { ModelLibrary } from '../models/library';
import { listClasses } from '../store/classes';
import { imageFiles, labelledImageFiles } from '../store/image-files';
import { latestRankingInfo, saveRanking, type LabelNextScore } from '../store/label-next';
import type { ProjectStore } from '../store/project-store';
import type { Engine, EngineEvent } from '../engine/protocol';
import { featureSource, QUICK_RETRAIN, resolveSource, retrainConfig } from './feature-source';
import { uncertaintyOf } from './label-next';

const LABEL: Record<string, string> = { extract: 'Extracting features', train: 'Training the head', predict: 'Ranking' };

export async function runLabelNext(store: ProjectStore, engine: Engine, models: ModelLibrary, req: { runId?: number | undefined; model?: string | undefined }, ctx: JobContext): Promise<LabelNextInfo> {
  const t0 = performance.now();
  const source = resolveSource(store, models, req);
  const db = store.db;
  const labelled = labelledImageFiles(db);
  const classes = listClasses(db).filter((c) => labelled.some((r) => r.classId === c.id));
  if (classes.length < 2) throw new StudioError('bad_input', `Label next needs labelled images of at least two classes; this project has ${classes.length}.`);
  const unlabelled = imageFiles(db).filter((r) => r.classId === null);
  if (unlabelled.length === 0) throw new StudioError('bad_input', 'Every image is labelled: there is nothing to rank.');
  const index = new Map(classes.map((c, i) => [c.id, i]));
  const k = classes.length;
  let stage = 'extract';
  const onEvent = (e: EngineEvent): void => {
    if (e.type === 'stage') stage = e.stage;
    else if (e.type === 'progress' && e.total > 0) ctx.progress(e.done, e.total, LABEL[stage] ?? stage);
  };
  const r = await engine.call(
    'labelNext',
    {
      source: featureSource(store, source, [...labelled, ...unlabelled]),
      labels: Int32Array.from(labelled, (x) => index.get(x.classId!)!),
      numClasses: k,
      config: retrainConfig(source.config, { images: labelled.length, ...QUICK_RETRAIN }),
    },
    { signal: ctx.signal, onEvent },
  );
  ctx.throwIfCancelled();
  const scores: LabelNextScore[] = [];
  unlabelled.forEach((img, i) => {
    const p = r.probabilities.subarray(i * k, (i + 1) * k);
    if (!Number.isFinite(p[0]!)) return;
    let best = 0;
    for (let j = 1; j < k; j++) if (p[j]! > p[best]!) best = j;
    scores.push({ imageId: img.id, margin: uncertaintyOf(p, 0, k, 'margin'), entropy: uncertaintyOf(p, 0, k, 'entropy'), density: r.density[i]!, predicted: best, confidence: p[best]! });
  });
  const labelledFailed = r.failed.filter((i) => i < labelled.length).length;
  saveRanking(
    db,
    { runId: source.runId, model: source.modelId, cutLayer: r.cutLayer, featureDim: r.dim },
    classes.map((c) => ({ id: c.id, name: c.name })),
    {
      trainedOn: labelled.length - labelledFailed,
      ranked: scores.length,
      skippedCount: r.failed.length,
      durations: { extractMs: Math.round(r.extractMs), trainMs: Math.round(r.trainMs), totalMs: Math.round(performance.now() - t0) },
    },
    scores,
  );
  return latestRankingInfo(db)!;
}
