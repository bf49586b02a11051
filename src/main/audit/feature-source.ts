/**
 * Which features the audit, the map and label next use, and with what head: a run's model, cut
 * layer and head settings (the run asked for, else the latest succeeded one), or, before any run,
 * a model's own feature layer with the default head. The features are the pretrained network's
 * pooled output at the cut (the scenario-1 feature cache), whatever scenario the run trained.
 */
import { trainConfigSchema, type TrainConfig } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { ModelLibrary } from '../models/library';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import type { FeatureSource } from '../training/protocol';

export interface ResolvedSource {
  runId: number | null;
  modelId: string;
  modelDir: string;
  cutLayer: string | undefined;
  /** The head's settings (the run's, or the defaults). */
  config: TrainConfig;
}

export function resolveSource(store: ProjectStore, models: ModelLibrary, input: { runId?: number | undefined; model?: string | undefined }): ResolvedSource {
  const run = input.runId !== undefined ? runs.getRun(store.db, input.runId) : input.model === undefined ? runs.latestSucceededRun(store.db) : undefined;
  if (run) {
    const cut = run.result?.cutLayer;
    return {
      runId: run.id,
      modelId: run.model,
      modelDir: models.require(run.model),
      cutLayer: typeof cut === 'string' ? cut : run.config.cutLayer,
      config: run.config,
    };
  }
  const modelId = input.model ?? models.list()[0]?.id;
  if (modelId === undefined) throw new StudioError('bad_input', 'No model is installed to compute features with: import or download one first.', 'model');
  return { runId: null, modelId, modelDir: models.require(modelId), cutLayer: undefined, config: trainConfigSchema.parse({ scenario: 1, model: modelId }) };
}

export function featureSource(store: ProjectStore, source: ResolvedSource, items: { hash: string; path: string }[]): FeatureSource {
  return {
    modelDir: source.modelDir,
    modelId: source.modelId,
    ...(source.cutLayer !== undefined ? { cutLayer: source.cutLayer } : {}),
    cacheDir: store.folder('cache'),
    items: items.map((i) => ({ hash: i.hash, path: i.path })),
  };
}

/**
 * The head settings for a retrain on cached features: the run's, with scenario 1's plain head
 * training (no augmentation), at least `minBatch` images per step (a step's fixed cost, not its
 * size, bounds the head's speed: measured 1,300 img/s at batch 64 and 5,400 at 256 on this
 * machine's wasm backend), and at most `maxEpochs` epochs.
 */
export function retrainConfig(config: TrainConfig, opts: { minBatch: number; maxEpochs: number; patience?: number }): TrainConfig {
  return {
    ...config,
    scenario: 1,
    augment: null,
    batchSize: Math.max(config.batchSize, opts.minBatch),
    epochs: Math.min(config.epochs, opts.maxEpochs),
    ...(opts.patience !== undefined ? { patience: opts.patience } : {}),
  };
}
