/**
 * Host side of prediction: runs a trained run's model over images of the project (in the engine
 * process) and stores each image's probabilities, predicted class, confidence and, for labelled
 * images, the loss. Used at the end of every training run (so evaluation, label suggestions and
 * the submission have predictions at once) and by the predict request (the test split again, or
 * images imported later).
 */
import type { PredictSummary } from '../../shared/api';
import type { Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { PLAIN_VIEWS, TTA_VIEWS, type TtaView } from '../../shared/tta';
import { ensembleOf, ensembleSummary } from '../store/ensemble-predictions';
import { imageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import type { Engine } from '../engine/protocol';

/** A finished run whose model can predict, or a typed error saying why not. */
export function predictableRun(store: ProjectStore, runId: number): { id: number; classNames: string[] } {
  const run = runs.getRun(store.db, runId);
  if (run.kind === 'cv')
    throw new StudioError('bad_input', `Run ${runId} holds the out-of-fold predictions of a k-fold configuration and has no model of its own: use one of its fold runs (${String((run.result?.outOfFold as { runs?: number[] } | undefined)?.runs?.join(', ') ?? '')}).`, 'runId');
  if (run.state !== 'succeeded')
    throw new StudioError('bad_input', `Run ${runId} has no trained model to predict with (it ${run.state === 'running' ? 'is still running' : run.state}).`, 'runId');
  return run;
}

export interface PredictOptions {
  splits?: Split[];
  /** Test-time augmentation: each image's probabilities averaged over these views (default: the image alone). */
  views?: readonly TtaView[];
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  onLog?: (message: string) => void;
}

/** The views of a prediction request: all of TTA's, or the image alone. */
export const viewsFor = (tta: boolean): readonly TtaView[] => (tta ? TTA_VIEWS : PLAIN_VIEWS);

/** How many images go to the engine per call: bounds the message size and lets results land as they come. */
const CHUNK = 2000;

export async function predictImages(
  store: ProjectStore,
  engine: Engine,
  run: { id: number; classNames: readonly string[] },
  opts: PredictOptions,
): Promise<PredictSummary> {
  const runId = run.id;
  const splits = opts.splits ?? ['train', 'val', 'test'];
  const rows = imageFiles(store.db, splits);
  // Labels are matched to the run's classes by name, as the evaluation views do.
  const index = new Map(run.classNames.map((n, i) => [n.toLowerCase(), i]));
  const runDir = store.runDir(runId, { create: true });
  const cacheDir = store.folder('cache');
  const views = [...(opts.views ?? PLAIN_VIEWS)];
  let predicted = 0;
  const failed: string[] = [];
  for (let start = 0; start < rows.length; start += CHUNK) {
    if (opts.signal.aborted) throw new StudioError('cancelled', 'Prediction was cancelled.');
    const chunk = rows.slice(start, start + CHUNK);
    const result = await engine.call(
      'predict',
      { runDir, items: chunk.map((r) => ({ imageId: r.id, path: r.path, root: r.root, hash: r.hash })), cacheDir, views },
      {
        signal: opts.signal,
        onEvent: (e) => {
          if (e.type === 'progress') opts.onProgress?.(start + e.done, rows.length);
          else if (e.type === 'log') opts.onLog?.(e.message);
        },
      },
    );
    const batch: runs.PredictionInput[] = [];
    result.items.forEach((item, i) => {
      const row = chunk[i]!;
      if (item.probabilities.length === 0) {
        failed.push(item.path);
        return;
      }
      batch.push({ imageId: row.id, probabilities: item.probabilities, trueIndex: row.className === null ? null : (index.get(row.className.toLowerCase()) ?? null) });
    });
    runs.savePredictions(store.db, runId, batch, result.views);
    predicted += batch.length;
    opts.onProgress?.(Math.min(rows.length, start + CHUNK), rows.length);
  }
  return { runId, predicted, failed, views };
}

/**
 * An ensemble predicts: each member in turn predicts the splits (its predictions stored as a
 * single run's), and the validation images too, with the same views, so that the comparison with
 * the best member (ensembleSummary) is made on predictions made alike.
 */
export async function predictEnsemble(store: ProjectStore, engine: Engine, runIds: readonly number[], opts: PredictOptions): Promise<PredictSummary> {
  const e = ensembleOf(store.db, runIds);
  const splits = opts.splits ?? ['test'];
  // The validation images are predicted too (after the asked splits) unless they were asked for.
  const rounds: Split[][] = splits.includes('val') ? [splits] : [splits, ['val']];
  const steps = e.runs.length * rounds.length;
  let predicted = Number.POSITIVE_INFINITY;
  const failed = new Set<string>();
  for (const [m, runId] of e.runs.entries()) {
    opts.onLog?.(`Ensemble member ${m + 1} of ${e.runs.length}: run ${runId}`);
    const run = predictableRun(store, runId);
    for (const [r, round] of rounds.entries()) {
      const step = m * rounds.length + r;
      const own = await predictImages(store, engine, run, { ...opts, splits: round, onProgress: (done, all) => opts.onProgress?.(step * all + done, steps * all) });
      if (r === 0) predicted = Math.min(predicted, own.predicted);
      for (const f of own.failed) failed.add(f);
    }
  }
  return { runId: e.runs[0]!, runs: e.runs, predicted, failed: [...failed], views: [...(opts.views ?? PLAIN_VIEWS)], ensemble: ensembleSummary(store.db, e.runs) };
}

/** A finished run: the one asked for, else the latest succeeded. */
export function finishedRun(store: ProjectStore, runId: number | undefined): { id: number; classNames: string[] } {
  const id = runId ?? runs.latestSucceededRun(store.db)?.id;
  if (id === undefined) throw new StudioError('bad_input', 'There is no finished run: train a model first.', 'runId');
  return predictableRun(store, id);
}
