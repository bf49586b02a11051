/**
 * The message protocol between the host (EngineClient, main process) and the engine process
 * (engine-process.ts, which owns TensorFlow.js). Plain JSON-serialisable data only; no imports
 * with runtime code, so both sides can import it.
 *
 * host -> engine: { kind: 'call', id, method, params }   start a call
 *                 { kind: 'cancel', id }                   cancel call `id` (its AbortSignal fires)
 * engine -> host: { kind: 'ready', pid }                   once, when the process listens
 *                 { kind: 'event', id, event }             0..n per call (EngineEvent)
 *                 { kind: 'result', id, result }           exactly one of result / error per call
 *                 { kind: 'error', id, error }
 * The engine runs calls one at a time, in arrival order (one TensorFlow.js, two cores).
 */
import type { BackendInfo, ConfusionMatrix, EpochMetrics, Scenario, SimilarityEstimateInfo, TrainConfig } from '../../shared/domain';
import type { ModelInspection } from '../models/types';

export interface Scenario1Item {
  imageId: number;
  path: string;
  /** Content hash of the image file (the feature-cache key). */
  hash: string;
  /** Index into classNames. */
  label: number;
  split: 'train' | 'val';
}

export interface Scenario1Job {
  projectDir: string;
  /** Where the trained model and run.json are written (created if missing). */
  runDir: string;
  /** Project cache root; features go to <cacheDir>/features/<key>/. */
  cacheDir: string;
  modelDir: string;
  modelId: string;
  classNames: string[];
  items: Scenario1Item[];
  config: TrainConfig;
  /** Scenarios 2-4: continue the run in runDir from its last checkpoint (after a cancel or a crash). */
  resume?: boolean;
  /** Benchmarks and tests only: a smaller input size (speed), a memory budget (batch reduction). */
  tuning?: TrainTuning;
}

export interface TrainTuning {
  /** Train (and save) at this input size instead of the model's own (scenarios 2-4). */
  inputSize?: number;
  /** Bytes a training step may use; default from the backend (memory-budget.ts). */
  memoryBudgetBytes?: number;
}

/** Every scenario's job has the same shape; config.scenario says which one runs. */
export type TrainJob = Scenario1Job;

export type EngineEvent =
  | { type: 'phase'; phase: 'extract' | 'train' }
  | { type: 'progress'; done: number; total: number; epoch?: number; epochs?: number; batch?: number; batches?: number; imagesPerSec?: number }
  | { type: 'epoch'; metrics: EpochMetrics; confusion: ConfusionMatrix }
  | { type: 'log'; message: string };

// A type alias (not an interface) so it is assignable to records with an index signature.
export type Scenario1Result = {
  /** 'cancelled' when the AbortSignal fired: what was finished is kept (cache, best head so far). */
  state: 'succeeded' | 'cancelled';
  backend: BackendInfo;
  epochsRun: number;
  bestEpoch: number | null;
  /** Majority-class share of the validation set (accuracy of always guessing the commonest class). */
  baseline: number | null;
  cache: { hits: number; misses: number };
  extractMs: number;
  trainMs: number;
  /** Absolute paths of the files written to runDir. */
  modelFiles: string[];
  metrics: EpochMetrics[];
  /** Validation confusion matrix of the best epoch. */
  confusion: ConfusionMatrix | null;
  cutLayer: string;
  featureDim: number;
  frozenKind: string;
};

/** The result of any scenario: scenario 1's fields, plus the plan and the batch actually used for 2-4. */
export type TrainResult = Scenario1Result & {
  scenario?: Scenario;
  /** Last frozen layer (scenario 2), null when everything trains. */
  freezeTo?: string | null;
  frozenParams?: number;
  trainableParams?: number;
  /** The batch size the run ended with (lower than asked when it did not fit in memory). */
  batchSize?: number;
  /** The memory estimate of one image in a training step (what the batch size was fitted with). */
  stepBytesPerImage?: number;
  /** Log lines of every automatic batch reduction. */
  batchReductions?: string[];
  /** Training images per second over all epochs. */
  imagesPerSec?: number;
  /** Validation loss before the first epoch (untrained head), null without validation images or when resumed. */
  initialValLoss?: number | null;
  /** 'cached' when epochs ran from the activation cache, 'full' when the frozen part ran every epoch. */
  frozenPart?: 'cached' | 'full' | 'none';
};

/** The studio's estimate of how similar a dataset is to the pretrained network's data (the contract's type). */
export type SimilarityEstimate = SimilarityEstimateInfo;

export interface SimilarityItem {
  path: string;
  hash: string;
  label: number;
}

export interface ClassifyResult {
  path: string;
  top: { index: number; label: string; probability: number }[];
}

export interface PredictItem {
  imageId?: number;
  path: string;
  /** When given (with the run's cache), cached features are reused. */
  hash?: string;
}

export interface PredictResult {
  classNames: string[];
  items: { imageId?: number; path: string; probabilities: number[] }[];
}

export interface EngineMethods {
  backend: { params: Record<string, never>; result: BackendInfo };
  inspectModel: { params: { modelDir: string }; result: ModelInspection };
  classify: { params: { modelDir: string; imagePaths: string[]; topK?: number; labelsPath?: string }; result: ClassifyResult[] };
  trainScenario1: { params: { job: Scenario1Job }; result: Scenario1Result };
  /** Any scenario (dispatches on job.config.scenario). */
  train: { params: { job: TrainJob }; result: TrainResult };
  /** Similarity of labelled images to the pretrained data (a sample per class; features cached as scenario 1's). */
  estimateSimilarity: { params: { modelDir: string; modelId: string; classNames: string[]; items: SimilarityItem[]; cacheDir?: string }; result: SimilarityEstimate };
  predict: { params: { runDir: string; items: PredictItem[]; cacheDir?: string }; result: PredictResult };
  /** Memory of the engine process (peak RSS from the OS, current RSS, TensorFlow.js tensors/bytes). */
  stats: { params: Record<string, never>; result: EngineStats };
  /** Test hook: the engine exits with this code (simulates a crash). */
  crash: { params: { code: number }; result: never };
}

export interface EngineStats {
  pid: number;
  maxRssBytes: number;
  rssBytes: number;
  tensors: number;
  tensorBytes: number;
}

export type EngineMethod = keyof EngineMethods;

export interface EngineErrorData {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type HostToEngine =
  | { [M in EngineMethod]: { kind: 'call'; id: number; method: M; params: EngineMethods[M]['params'] } }[EngineMethod]
  | { kind: 'cancel'; id: number };

export type EngineToHost =
  | { kind: 'ready'; pid: number }
  | { kind: 'event'; id: number; event: EngineEvent }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: EngineErrorData };
