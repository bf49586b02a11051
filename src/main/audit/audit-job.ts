/**
 * The audit job: fingerprints the images lack -> features and K-fold out-of-sample probabilities
 * of every labelled image (engine) -> confident learning -> feature neighbours of every image, by
 * its features and by its content's (engine) + perceptual-hash pairs -> pixel check -> clusters ->
 * one transaction into the store as the project's latest audit. Cancel stops at the next safe
 * point and stores nothing.
 */
import type { AuditSummary } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import { fillFingerprints } from '../media/fingerprints';
import type { ModelLibrary } from '../models/library';
import { auditSummary, confirmedIds, lastImageId, saveAudit, type AuditScoreInput } from '../store/audits';
import { listClasses } from '../store/classes';
import { fingerprintsOf } from '../store/fingerprints';
import { imageFiles, labelledImageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import type { Engine, EngineEvent } from '../engine/protocol';
import { confidentLearning, labelQuality } from './confident-learning';
import { featureSource, FOLD_TRAINING, resolveSource, retrainConfig } from './feature-source';
import { CONTENT_FEATURE_MIN_COSINE, CONTENT_FEATURE_NEIGHBOURS, findNearDuplicates } from './near-duplicates';

export interface AuditRequest {
  runId?: number | undefined;
  model?: string | undefined;
  folds: number;
}

/** Share of the job's progress bar each phase takes, in order. */
const PHASES = [
  ['fingerprints', 0.05, 'Fingerprinting images'],
  ['folds', 0.55, 'Out-of-sample probabilities'],
  ['neighbours', 0.2, 'Feature neighbours'],
  ['duplicates', 0.2, 'Near-duplicates'],
] as const;
type Phase = (typeof PHASES)[number][0];

/** Reports a phase's own progress (0..1) as the job's, on a bar of 1000; a phase's first report is never throttled away. */
function phaseProgress(ctx: JobContext): (phase: Phase, share: number, detail?: string) => void {
  let current: Phase | null = null;
  return (phase, share, detail) => {
    let start = 0;
    for (const [name, weight, label] of PHASES) {
      if (name === phase) {
        ctx.progress(Math.round((start + weight * Math.min(1, Math.max(0, share))) * 1000), 1000, detail ? `${label}: ${detail}` : label, phase !== current);
        current = phase;
        return;
      }
      start += weight;
    }
  };
}

/** Engine events of one call as phase progress: extraction first (a third of the phase), then the work. */
function engineProgress(report: (share: number, detail?: string) => void): (e: EngineEvent) => void {
  let stage = 'extract';
  return (e) => {
    if (e.type === 'stage') stage = e.stage;
    else if (e.type === 'progress' && e.total > 0) {
      const share = e.done / e.total;
      if (stage === 'extract') report(share / 3, `extracting features ${e.done}/${e.total}`);
      else report(1 / 3 + (2 / 3) * share, stage === 'folds' ? 'training the folds' : 'nearest neighbours');
    }
  };
}

const sinceMs = (t: number): number => Math.round(performance.now() - t);

export async function runAudit(store: ProjectStore, engine: Engine, models: ModelLibrary, req: AuditRequest, ctx: JobContext): Promise<AuditSummary> {
  const t0 = performance.now();
  const progress = phaseProgress(ctx);
  const source = resolveSource(store, models, req);
  const db = store.db;
  const lastId = lastImageId(db);

  // What to look at: every labelled image (any split) for label issues, every image for duplicates.
  const labelled = labelledImageFiles(db);
  const classes = listClasses(db).filter((c) => labelled.some((r) => r.classId === c.id));
  if (classes.length < 2) throw new StudioError('bad_input', `The audit needs labelled images of at least two classes; this project has ${classes.length}.`);
  if (labelled.length < req.folds * 2)
    throw new StudioError('bad_input', `${labelled.length} labelled images are too few for ${req.folds} folds: label at least ${req.folds * 2}, or use fewer folds.`, 'folds');
  const classIndex = new Map(classes.map((c, i) => [c.id, i]));
  const all = imageFiles(db);

  // 1. Fingerprints for images imported before they were made at import.
  progress('fingerprints', 0);
  let tPhase = performance.now();
  const fp = await fillFingerprints(store, { signal: ctx.signal, onProgress: (done, total) => progress('fingerprints', done / total, `${done}/${total}`) });
  ctx.throwIfCancelled();
  const fingerprintsMs = sinceMs(tPhase);

  // 2. Out-of-sample probabilities (features extracted where the cache lacks them).
  tPhase = performance.now();
  const k = classes.length;
  const images = Math.ceil((labelled.length * (req.folds - 1)) / req.folds);
  const config = retrainConfig(source.config, { images, ...FOLD_TRAINING, patience: Math.max(FOLD_TRAINING.minPatience, source.config.patience) });
  const oos = await engine.call(
    'outOfSample',
    { source: featureSource(store, source, labelled), labels: Int32Array.from(labelled, (r) => classIndex.get(r.classId!)!), numClasses: k, config, folds: req.folds },
    { signal: ctx.signal, onEvent: engineProgress((s, d) => progress('folds', s, d)) },
  );
  ctx.throwIfCancelled();
  const foldsMs = sinceMs(tPhase);

  // 3. Confident learning on the images that could be read; confirmed labels count, never flagged.
  const scoredRows = labelled.map((_, i) => i).filter((i) => Number.isFinite(oos.probabilities[i * k]!));
  const probs = new Float32Array(scoredRows.length * k);
  scoredRows.forEach((i, r) => probs.set(oos.probabilities.subarray(i * k, (i + 1) * k), r * k));
  const given = Int32Array.from(scoredRows, (i) => classIndex.get(labelled[i]!.classId!)!);
  const confirmed = confirmedIds(db);
  const cl = confidentLearning({
    probabilities: probs,
    labels: given,
    numClasses: k,
    confirmed: new Set(scoredRows.map((i, r) => (confirmed.has(labelled[i]!.id) ? r : -1)).filter((r) => r >= 0)),
  });
  const quality = labelQuality(probs, given, k);
  const flagged = new Map(cl.issues.map((x) => [x.index, x]));
  const scores: AuditScoreInput[] = scoredRows.map((i, r) => {
    const issue = flagged.get(r);
    let suggested = issue?.suggested ?? -1;
    if (suggested < 0) for (let j = 0; j < k; j++) if (j !== given[r] && (suggested < 0 || probs[r * k + j]! > probs[r * k + suggested]!)) suggested = j;
    return {
      imageId: labelled[i]!.id,
      given: given[r]!,
      suggested: Math.max(0, suggested),
      score: quality[r]!,
      selfConfidence: probs[r * k + given[r]!]!,
      flagged: issue !== undefined,
      probabilities: probs.slice(r * k, (r + 1) * k),
    };
  });

  // 4. Near-duplicates: feature neighbours of every image, hash pairs, the pixel check, clusters.
  tPhase = performance.now();
  const nb = await engine.call('featureNeighbours', { source: featureSource(store, source, all) }, { signal: ctx.signal, onEvent: engineProgress((s, d) => progress('neighbours', s / 2, d)) });
  ctx.throwIfCancelled();
  // And by the features of each image's content (its flat margins off), as it is and mirrored: candidates among padded, cropped and mirrored copies.
  const cnb = await engine.call(
    'featureNeighbours',
    { source: featureSource(store, source, all), k: CONTENT_FEATURE_NEIGHBOURS, minCosine: CONTENT_FEATURE_MIN_COSINE, content: true },
    { signal: ctx.signal, onEvent: engineProgress((s, d) => progress('neighbours', 0.5 + s / 2, d ? `content: ${d}` : 'content features')) },
  );
  ctx.throwIfCancelled();
  const neighboursMs = sinceMs(tPhase);
  tPhase = performance.now();
  const prints = fingerprintsOf(
    db,
    all.map((r) => r.hash),
  );
  const withPrint = all.map((r, i) => ({ r, i })).filter(({ r }) => prints.has(r.hash));
  const position = new Int32Array(all.length).fill(-1);
  withPrint.forEach(({ i }, p) => (position[i] = p));
  const printed = (pairs: { a: number; b: number; cosine: number }[]) => pairs.map((p) => ({ a: position[p.a]!, b: position[p.b]!, cosine: p.cosine })).filter((p) => p.a >= 0 && p.b >= 0);
  const featurePairs = printed(nb.pairs);
  const contentFeaturePairs = printed(cnb.pairs);
  const nd = await findNearDuplicates(
    {
      hashes: withPrint.map(({ r }) => prints.get(r.hash)!.phash),
      thumbs: withPrint.map(({ r }) => prints.get(r.hash)!),
      featurePairs,
      contentFeaturePairs,
      splits: withPrint.map(({ r }) => r.split),
      labels: withPrint.map(({ r }) => r.classId),
    },
    ctx.signal,
    (share) => progress('duplicates', share),
  );
  if (!nd) throw new StudioError('cancelled', 'The audit was cancelled.');
  ctx.throwIfCancelled();
  const idOf = (p: number): number => withPrint[p]!.r.id;
  const clusters = nd.clusters.map((c) => ({
    members: c.members.map(idOf),
    pairs: c.pairs.map((p) => ({ a: idOf(p.a), b: idOf(p.b), hamming: p.hamming, cosine: p.cosine, pixel: p.pixel, match: p.match, edges: p.edges, smoothed: p.smoothed ?? null, rival: p.rival ?? null, interior: p.interior ?? null, interiorRival: p.interiorRival ?? null })),
  }));
  const duplicatesMs = sinceMs(tPhase);

  // 5. One transaction: the latest audit.
  const failedPaths = [...new Set([...oos.failed.map((i) => labelled[i]!.path), ...nb.failed.map((i) => all[i]!.path), ...cnb.failed.map((i) => all[i]!.path)])];
  const unprinted = all.length - withPrint.length;
  saveAudit(db, {
    source: { runId: source.runId, model: source.modelId, cutLayer: oos.cutLayer, featureDim: oos.dim },
    folds: req.folds,
    classes: classes.map((c) => ({ id: c.id, name: c.name })),
    lastImageId: lastId,
    scores,
    clusters,
    result: {
      scored: scoredRows.length,
      images: all.length,
      skippedCount: Math.max(failedPaths.length, unprinted),
      skipped: failedPaths.slice(0, 100),
      flagged: cl.issues.length,
      noiseRates: classes.map((_, c) => ({ images: given.filter((g) => g === c).length, rate: cl.noiseRates[c] ?? null })),
      fingerprintsComputed: fp.computed,
      durations: { fingerprintsMs, foldsMs, neighboursMs, duplicatesMs, totalMs: sinceMs(t0) },
    },
  });
  return auditSummary(db)!;
}
