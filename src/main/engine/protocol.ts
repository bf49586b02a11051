/**
 * The message protocol between the host (EngineClient, main process) and the engine process
 * (engine/engine-process.ts, which owns TensorFlow.js). Plain JSON-serialisable data only; no
 * imports with runtime code, so both sides can import it.
 *
 * host -> engine: { kind: 'call', id, method, params }   start a call
 *                 { kind: 'cancel', id }                   cancel call `id` (its AbortSignal fires)
 * engine -> host: { kind: 'ready', pid }                   once, when the process listens
 *                 { kind: 'event', id, event }             0..n per call (EngineEvent)
 *                 { kind: 'result', id, result }           exactly one of result / error per call
 *                 { kind: 'error', id, error }
 * The engine runs calls one at a time, in arrival order (one TensorFlow.js, two cores).
 *
 * Every method is one entry of `engineMethods` (its params and result types, and how a cancel
 * ends it) and one handler in the engine process; the client's generic `call` needs nothing more.
 * What the engine needs of the host's machine before its first call (EngineStart) comes with its
 * start, in its environment.
 */
import type { BackendInfo, ConfusionMatrix, EpochMetrics, ModelInspection, SimilarityEstimateInfo, TrainConfig, TrainResult } from '../../shared/domain';
import type { ModelErrorCode } from '../../shared/model-errors';

/**
 * What the host gives the engine process when it starts it. It travels as environment variables,
 * which a forked child and an Electron utility process both take; the engine reads no setting of
 * the host's own.
 */
export interface EngineStart {
  /** The machine's cache of the ONNX models emitted for frozen parts; absent: each job emits them in memory. */
  onnxCacheDir?: string;
}

const START_ENV: Record<keyof EngineStart, string> = { onnxCacheDir: 'TRANSFER_STUDIO_ONNX_CACHE' };

/** The environment variables that carry `start` to the engine process. */
export function engineStartEnv(start: EngineStart): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(START_ENV) as (keyof EngineStart)[]) if (start[key] !== undefined) env[START_ENV[key]] = start[key];
  return env;
}

/** What the engine process was started with (its side of engineStartEnv). */
export function engineStartOf(env: Record<string, string | undefined>): EngineStart {
  const dir = env[START_ENV.onnxCacheDir];
  return dir ? { onnxCacheDir: dir } : {};
}

/**
 * An image file the engine reads: `path`, and the folder it was named from (its source's root),
 * which the resolved file must stay inside (src/shared/node/user-file.ts).
 */
export interface ImageRef {
  path: string;
  root?: string;
}

/** One labelled image of a training job. */
export interface TrainItem extends ImageRef {
  imageId: number;
  /** Content hash of the image file (the feature-cache key). */
  hash: string;
  /** Index into classNames. */
  label: number;
  split: 'train' | 'val';
}

/** A training run for the engine; config.scenario says which scenario runs. */
export interface TrainJob {
  projectDir: string;
  /** Where the trained model and run.json are written (created if missing). */
  runDir: string;
  /** Project cache root; features go to <cacheDir>/features/<key>/. */
  cacheDir: string;
  modelDir: string;
  modelId: string;
  classNames: string[];
  items: TrainItem[];
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

export type EngineEvent =
  /** First event of every training run: what it runs on (log lines saying how it was chosen follow). */
  | { type: 'backend'; backend: BackendInfo }
  | { type: 'phase'; phase: 'extract' | 'train' }
  | { type: 'progress'; done: number; total: number; epoch?: number; epochs?: number; batch?: number; batches?: number; imagesPerSec?: number }
  | { type: 'epoch'; metrics: EpochMetrics; confusion: ConfusionMatrix }
  | { type: 'log'; message: string }
  /** The audit's engine methods: which part runs now (progress events that follow count within it). */
  | { type: 'stage'; stage: AuditStage };

export type AuditStage = 'extract' | 'folds' | 'neighbours' | 'pca' | 'layout' | 'train' | 'predict';

/**
 * The images whose pooled features an audit method reads (the scenario-1 feature cache of the
 * model at the cut layer; missing ones are extracted and cached first).
 */
export interface FeatureSource {
  modelDir: string;
  modelId: string;
  /** Default: the model's feature layer. */
  cutLayer?: string;
  /** Project cache root (as a training job's). */
  cacheDir: string;
  /** By content hash (the cache key) and path. */
  items: (ImageRef & { hash: string })[];
}

/** What every audit method says about its features: their size, the cut used, and the items that could not be read. */
export interface FeatureFacts {
  dim: number;
  cutLayer: string;
  /** Indices into the source's items whose image could not be decoded (left out of the result). */
  failed: number[];
  extractMs: number;
}

/** The studio's estimate of how similar a dataset is to the pretrained network's data (the contract's type). */
export type SimilarityEstimate = SimilarityEstimateInfo;

export interface SimilarityItem extends ImageRef {
  hash: string;
  label: number;
}

export interface ClassifyResult {
  path: string;
  top: { index: number; label: string; probability: number }[];
}

export interface PredictItem extends ImageRef {
  imageId?: number;
  /** When given (with the run's cache), cached features are reused. */
  hash?: string;
}

export interface PredictResult {
  classNames: string[];
  items: { imageId?: number; path: string; probabilities: number[] }[];
}

/** An image to explain; its content hash keys the run's Grad-CAM cache. */
export interface ExplainItem {
  path: string;
  hash: string;
}

export interface GradCamResult {
  classNames: string[];
  /** The layer whose feature map is explained, and its grid (rows, columns). */
  layer: string;
  height: number;
  width: number;
  /**
   * Per item: the run's class probabilities, the class explained and its map (height x width cells,
   * row-major, >= 0, over the centre square the network saw). A failed item has no probabilities,
   * classIndex -1 and an empty map.
   */
  items: { path: string; probabilities: number[]; classIndex: number; map: Float32Array }[];
}

export interface EngineStats {
  pid: number;
  maxRssBytes: number;
  rssBytes: number;
  tensors: number;
  tensorBytes: number;
}

/** A method's entry: its params and result types (phantoms) and how it behaves on cancel. */
export interface MethodDef<P, R> {
  /**
   * A cancel ends the call with a result saying so (a training run keeps what it finished and
   * resolves with state 'cancelled'), not with a CANCELLED error; also when cancelled before it started.
   */
  cancelResolves?: true;
  /** Never set; carry the types for inference. */
  readonly params?: P;
  readonly result?: R;
}
const method = <P, R>(def: Omit<MethodDef<P, R>, 'params' | 'result'> = {}): MethodDef<P, R> => def;
type NoParams = Record<string, never>;

export const engineMethods = {
  backend: method<NoParams, BackendInfo>(),
  inspectModel: method<{ modelDir: string }, ModelInspection>(),
  /** ImageNet classification with a full model (the photo test), or a run's exported classifier. */
  classify: method<{ modelDir: string; imagePaths: string[]; topK?: number; labelsPath?: string }, ClassifyResult[]>(),
  /** Any scenario (the engine dispatches on job.config.scenario). */
  train: method<{ job: TrainJob }, TrainResult>({ cancelResolves: true }),
  /** Similarity of labelled images to the pretrained data (a sample per class; features cached as scenario 1's). */
  estimateSimilarity: method<{ modelDir: string; modelId: string; classNames: string[]; items: SimilarityItem[]; cacheDir?: string }, SimilarityEstimate>(),
  predict: method<{ runDir: string; items: PredictItem[]; cacheDir?: string }, PredictResult>(),
  /** Grad-CAM maps of a run for images: the predicted class's, or `classIndex`'s (cached in the run's folder). */
  gradCam: method<{ runDir: string; items: ExplainItem[]; classIndex?: number }, GradCamResult>(),
  /** A run's whole classifier written as one ONNX file `out` (model export). */
  exportOnnx: method<{ runDir: string; out: string }, { bytes: number; nodes: number; inputSize: number; classes: number }>(),
  /**
   * Out-of-sample class probabilities of labelled images (K-fold head training on their features):
   * row-major [items, numClasses], NaN rows for failed items; `fold` is the fold that scored each.
   */
  outOfSample: method<
    { source: FeatureSource; labels: Int32Array; numClasses: number; config: TrainConfig; folds: number },
    FeatureFacts & { probabilities: Float32Array; fold: Int32Array }
  >(),
  /** Each image's nearest neighbours by cosine similarity of its features (pairs of item indices, a < b). */
  featureNeighbours: method<{ source: FeatureSource; k?: number; minCosine?: number }, FeatureFacts & { pairs: { a: number; b: number; cosine: number }[] }>(),
  /** PCA then seeded UMAP of the features: [x, y] per item (NaN for failed items). */
  embeddingMap: method<{ source: FeatureSource; seed: number }, FeatureFacts & { coordinates: Float32Array; pcaComponents: number; pcaExplained: number }>(),
  /**
   * Label next's quick retrain: a fresh head on the first `labels.length` items (labelled) predicts
   * the others; their probabilities (row-major, NaN rows for failed items) and density in their pool.
   */
  labelNext: method<
    { source: FeatureSource; labels: Int32Array; numClasses: number; config: TrainConfig },
    FeatureFacts & { probabilities: Float32Array; density: Float32Array; trainMs: number }
  >(),
  /** Memory of the engine process (peak RSS from the OS, current RSS, TensorFlow.js tensors/bytes) and its pid. */
  stats: method<NoParams, EngineStats>(),
};

export type EngineMethods = typeof engineMethods;
export type EngineMethod = keyof EngineMethods;
export type EngineParams<M extends EngineMethod> = NonNullable<EngineMethods[M]['params']>;
export type EngineResult<M extends EngineMethod> = NonNullable<EngineMethods[M]['result']>;

export function isEngineMethod(name: unknown): name is EngineMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(engineMethods, name);
}

export interface CallOptions {
  signal?: AbortSignal;
  /** The call's events (progress, log lines...). */
  onEvent?: (event: EngineEvent) => void;
}

/** The engine as its users see it: one generic call (EngineClient; HostEngine adds the contract's errors). */
export interface Engine {
  call<M extends EngineMethod>(method: M, params: EngineParams<M>, options?: CallOptions): Promise<EngineResult<M>>;
}

/** Codes of the engine's own job errors (EngineJobError). */
export type EngineJobErrorCode =
  | 'BAD_JOB'
  | 'RUN_NOT_FOUND'
  | 'NOT_A_CUT_POINT'
  | 'UNKNOWN_LAYER'
  | 'UNSUPPORTED_TOPOLOGY'
  | 'BACKEND_CANNOT_TRAIN'
  | 'OUT_OF_MEMORY'
  | 'CANCELLED'
  | 'UNKNOWN_METHOD'
  /** Anything else that failed in the engine (its message says what). */
  | 'ENGINE_ERROR';

/** Codes the client gives a call when the process itself fails. */
export type EngineProcessErrorCode = 'ENGINE_CRASHED' | 'ENGINE_STOPPED' | 'ENGINE_START_FAILED';

/** Every code an engine call can fail with: the model library's (model folders, read in the engine), the engine's, the process's. */
export type EngineErrorCode = ModelErrorCode | EngineJobErrorCode | EngineProcessErrorCode;

export interface EngineErrorData {
  code: Exclude<EngineErrorCode, EngineProcessErrorCode>;
  message: string;
  details?: Record<string, unknown>;
}

export type HostToEngine =
  | { [M in EngineMethod]: { kind: 'call'; id: number; method: M; params: EngineParams<M> } }[EngineMethod]
  | { kind: 'cancel'; id: number };

export type EngineToHost =
  | { kind: 'ready'; pid: number }
  | { kind: 'event'; id: number; event: EngineEvent }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: EngineErrorData };
