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

/** How many images go to the engine per call: bounds the message size and lets results land as they come. */
const CHUNK = 2000;

export async function predictImages(
  store: ProjectStore,
  engine: Engine,
  run: { id: number; classNames: readonly string[] },
  opts: { splits?: Split[]; signal: AbortSignal; onProgress?: (done: number, total: number) => void; onLog?: (message: string) => void },
): Promise<PredictSummary> {
  const runId = run.id;
  const splits = opts.splits ?? ['train', 'val', 'test'];
  const rows = imageFiles(store.db, splits);
  // Labels are matched to the run's classes by name, as the evaluation views do.
  const index = new Map(run.classNames.map((n, i) => [n.toLowerCase(), i]));
  const runDir = store.runDir(runId, { create: true });
  const cacheDir = store.folder('cache');
  let predicted = 0;
  const failed: string[] = [];
  for (let start = 0; start < rows.length; start += CHUNK) {
    if (opts.signal.aborted) throw new StudioError('cancelled', 'Prediction was cancelled.');
    const chunk = rows.slice(start, start + CHUNK);
    const result = await engine.call(
      'predict',
      { runDir, items: chunk.map((r) => ({ imageId: r.id, path: r.path, root: r.root, hash: r.hash })), cacheDir },
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
    runs.savePredictions(store.db, runId, batch);
    predicted += batch.length;
    opts.onProgress?.(Math.min(rows.length, start + CHUNK), rows.length);
  }
  return { runId, predicted, failed };
}

/** A finished run: the one asked for, else the latest succeeded. */
export function finishedRun(store: ProjectStore, runId: number | undefined): { id: number; classNames: string[] } {
  const id = runId ?? runs.latestSucceededRun(store.db)?.id;
  if (id === undefined) throw new StudioError('bad_input', 'There is no finished run: train a model first.', 'runId');
  return predictableRun(store, id);
}
