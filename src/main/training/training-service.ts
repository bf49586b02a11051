/**
 * Host side of training: turns a TrainConfig into an engine job over the project's labelled
 * images, queues runs one at a time (the engine is one process), records every epoch and the
 * outcome in the store, and streams progress as run events. TensorFlow.js is not imported here:
 * the engine process does the work.
 */
import type { ConfusionMatrix, EpochMetrics, RunProgress, TrainConfig, TrainRunResult } from '../../shared/domain';
import type { TrainPlan } from '../../shared/train-plan';
import { StudioError } from '../../shared/errors';
import { PROGRESS_INTERVAL_MS, type JobContext } from '../jobs/job-manager';
import type { ProjectStore } from '../store/project-store';
import { listClasses } from '../store/classes';
import { trainingImages } from '../store/image-files';
import * as runs from '../store/runs';
import { predictImages } from './predict-images';
import type { Engine, EngineEvent, TrainItem } from '../engine/protocol';

export interface TrainingEvents {
  progress(p: RunProgress): void;
  epoch(e: { runId: number; metrics: EpochMetrics; confusion: ConfusionMatrix | null }): void;
  log(e: { runId: number; message: string }): void;
}

export interface TrainingInput {
  classNames: string[];
  items: TrainItem[];
  modelDir: string;
  config: TrainConfig;
  /** The checked plan of `config` on the model (the engine's planTraining). */
  plan: TrainPlan;
  resume?: boolean;
}

/** The labelled train and validation images with their class index; refuses data that cannot train. */
export function trainingSet(store: ProjectStore): { classNames: string[]; items: TrainItem[] } {
  const rows = trainingImages(store.db);
  const trained = new Set(rows.filter((r) => r.split === 'train').map((r) => r.classId));
  // Only classes with training images get an output: an empty class can never be predicted right.
  const classes = listClasses(store.db).filter((c) => trained.has(c.id));
  if (classes.length < 2)
    throw new StudioError('bad_input', `Training needs at least two classes with labelled training images; this project has ${classes.length}.`);
  const index = new Map(classes.map((c, i) => [c.id, i]));
  const items = rows
    .filter((r) => index.has(r.classId))
    .map((r) => ({ imageId: r.id, path: r.path, root: r.root, hash: r.hash, label: index.get(r.classId)!, split: r.split }));
  if (!items.some((i) => i.split === 'val'))
    throw new StudioError('bad_input', 'The validation split is empty: run Auto split (or move some labelled images to validation) before training.');
  return { classNames: classes.map((c) => c.name), items };
}

/** The job's progress label of each phase but training (whose label names the epoch). */
const PHASE_LABEL: Partial<Record<RunProgress['phase'], string>> = { upload: 'Uploading to the server', extract: 'Extracting features', predict: 'Predicting' };

export class TrainingService {
  /** Runs wait for the ones before them: one engine, one training at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: () => Engine,
    /** Also what a sweep's Slurm executor reports its runs' progress to (they show like local runs). */
    readonly events: TrainingEvents,
  ) {}

  /** Runs one training job when the runs queued before it have ended. */
  async enqueue(store: ProjectStore, runId: number, job: TrainingInput, ctx: JobContext): Promise<TrainRunResult> {
    this.events.progress({ runId, jobId: ctx.jobId, phase: 'queued', done: 0, total: 0 });
    const turn = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((r) => (release = r));
    try {
      await turn;
      return await this.run(store, runId, ctx, job);
    } finally {
      release();
    }
  }

  private async run(store: ProjectStore, runId: number, ctx: JobContext, job: TrainingInput): Promise<TrainRunResult> {
    if (ctx.signal.aborted) {
      runs.finishRun(store.db, runId, 'cancelled', { error: 'Cancelled before it started.' });
      throw new StudioError('cancelled', 'Cancelled before it started.');
    }
    let phase: RunProgress['phase'] = 'extract';
    let last = 0;
    // The run's log: sent live as run.log and kept with the run's result.
    const log: string[] = [];
    const logLine = (message: string): void => {
      log.push(message);
      this.events.log({ runId, message });
    };
    const onEvent = (e: EngineEvent): void => {
      switch (e.type) {
        case 'phase':
          phase = e.phase;
          break;
        case 'backend':
          runs.setRunBackend(store.db, runId, e.backend, null);
          break;
        case 'epoch':
          runs.recordEpoch(store.db, runId, e.metrics, e.confusion);
          this.events.epoch({ runId, metrics: e.metrics, confusion: e.confusion });
          break;
        case 'log':
          logLine(e.message);
          break;
        case 'progress': {
          ctx.progress(e.done, e.total, PHASE_LABEL[phase] ?? `Epoch ${e.epoch ?? ''}`);
          const now = Date.now();
          if (now - last < PROGRESS_INTERVAL_MS && e.done < e.total) break;
          last = now;
          const { type: _type, ...p } = e;
          const eta = p.imagesPerSec && p.imagesPerSec > 0 ? (p.total - p.done) / p.imagesPerSec : undefined;
          this.events.progress({ runId, jobId: ctx.jobId, phase, ...p, ...(eta === undefined ? {} : { etaSeconds: eta }) });
          break;
        }
      }
    };
    try {
      const result = await this.engine().call(
        'train',
        {
          job: {
            projectDir: store.dir,
            runDir: store.runDir(runId, { create: true }),
            cacheDir: store.folder('cache'),
            modelDir: job.modelDir,
            modelId: job.config.model,
            classNames: job.classNames,
            items: job.items,
            config: job.config,
            plan: job.plan,
            ...(job.resume ? { resume: true } : {}),
          },
        },
        { signal: ctx.signal, onEvent },
      );
      runs.setRunBackend(store.db, runId, result.backend, result.baseline);
      if (ctx.signal.aborted || result.state === 'cancelled') {
        runs.finishRun(store.db, runId, 'cancelled', { result: { ...result, log }, error: 'Cancelled; the best model so far is kept.' });
        throw new StudioError('cancelled', 'Training was cancelled.');
      }
      // Every image gets the new model's prediction: the evaluation views, label suggestions and
      // the submission read them. Training and validation features are cached, so this is mostly
      // the unlabelled and test images.
      phase = 'predict';
      const predicted = await predictImages(store, this.engine(), { id: runId, classNames: job.classNames }, {
        signal: ctx.signal,
        onProgress: (done, total) => onEvent({ type: 'progress', done, total }),
        onLog: logLine,
      });
      if (predicted.failed.length) logLine(`${predicted.failed.length} image(s) could not be read for prediction, e.g. ${predicted.failed[0]}`);
      const summary: TrainRunResult = { runId, ...result, predictions: predicted.predicted, log };
      runs.finishRun(store.db, runId, 'succeeded', { result: summary });
      return summary;
    } catch (err) {
      const e = StudioError.from(err);
      if (runs.getRun(store.db, runId).state !== 'running') throw e;
      runs.finishRun(store.db, runId, ctx.signal.aborted || e.code === 'cancelled' ? 'cancelled' : 'failed', { result: { log }, error: e.message });
      throw e;
    }
  }
}
