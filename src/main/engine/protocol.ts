/**
 * The message protocol between the host (EngineClient, main process) and the engine process
 * (engine/engine-process.ts, which owns TensorFlow.js). Plain JSON-serialisable data only; no
 * imports with runtime code, so both sides can import it.
 *
 * host -> engine: { kind: 'call', id, method, params }   start a call
 *                 { kind: 'cancel', id }                   cancel call `id` (its AbortSignal fires)
 * engine -> host: { kind: 'ready', pid, version, machine } once, when the process listens
 *                 { kind: 'event', id, event }             0..n per call (EngineEvent)
 *                 { kind: 'result', id, result }           exactly one of result / error per call
 *                 { kind: 'error', id, error }
 * The engine runs calls one at a time, in arrival order (one TensorFlow.js, two cores); a method
 * marked `beside` is answered at once, also while another call runs.
 *
 * Every method is one entry of `engineMethods` (its params and result types, and how a cancel
 * ends it) and one handler in the engine process; the client's generic `call` needs nothing more.
 * What the engine needs of the host's machine before its first call (EngineStart) comes with its
 * start, in its environment.
 *
 * An engine on another machine (`transfer-studio engine --stdio` over ssh) reads no path of the
 * host's: every path a call carries is one of `mapParamPaths`'s fields, which the host rewrites to a
 * reference inside the server engine's cache (see RemoteRef) after sending what it lacks with the
 * cache methods, and which the server engine resolves inside its cache folder or refuses.
 */
import type { BackendInfo, ConfusionMatrix, EpochMetrics, ModelInspection, SimilarityEstimateInfo, TrainConfig, TrainResult } from '../../shared/domain';
import type { ModelErrorCode } from '../../shared/model-errors';
import type { TrainPlan } from '../../shared/train-plan';
import type { TtaView } from '../../shared/tta';

/** What of a training config shapes its plan. */
export type TrainPlanRequest = Pick<TrainConfig, 'scenario' | 'cutLayer' | 'freezeTo'>;

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
  /** The checked plan of `config` on this model (planTraining): the engine follows it, it does not plan again. */
  plan: TrainPlan;
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
  /** 'upload': the host sends the images and the model a server engine lacks (before the run starts). */
  | { type: 'phase'; phase: 'upload' | 'extract' | 'train' }
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
  /** The test-time views averaged (['identity']: the image alone). */
  views: TtaView[];
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

/** A method's entry: its params and result types (phantoms), how it behaves on cancel, and whether it waits its turn. */
export interface MethodDef<P, R> {
  /**
   * A cancel ends the call with a result saying so (a training run keeps what it finished and
   * resolves with state 'cancelled'), not with a CANCELLED error; also when cancelled before it started.
   */
  cancelResolves?: true;
  /**
   * Answered at once, beside a call that is running, instead of after it: for work that changes
   * nothing a running call uses (a training's plan read from a model while another run trains;
   * images sent while the run that reads them extracts).
   */
  beside?: true;
  /** Never set; carry the types for inference. */
  readonly params?: P;
  readonly result?: R;
}
const method = <P, R>(def: Omit<MethodDef<P, R>, 'params' | 'result'> = {}): MethodDef<P, R> => def;
type NoParams = Record<string, never>;

export const engineMethods = {
  backend: method<NoParams, BackendInfo>(),
  inspectModel: method<{ modelDir: string }, ModelInspection>(),
  /** The checked train plan of a config on a model (the default cut layer when it names none); a refusal names the config field. */
  planTraining: method<{ modelDir: string; config: TrainPlanRequest }, TrainPlan>({ beside: true }),
  /** ImageNet classification with a full model (the photo test), or a run's exported classifier. */
  classify: method<{ modelDir: string; imagePaths: string[]; topK?: number; labelsPath?: string }, ClassifyResult[]>(),
  /** Any scenario (the engine dispatches on job.config.scenario). */
  train: method<{ job: TrainJob }, TrainResult>({ cancelResolves: true }),
  /** Similarity of labelled images to the pretrained data (a sample per class; features cached as scenario 1's). */
  estimateSimilarity: method<{ modelDir: string; modelId: string; classNames: string[]; items: SimilarityItem[]; cacheDir?: string }, SimilarityEstimate>(),
  /** `views`: test-time augmentation, each image's probabilities averaged over them (default: the image alone). */
  predict: method<{ runDir: string; items: PredictItem[]; cacheDir?: string; views?: TtaView[] }, PredictResult>(),
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
  /**
   * Each image's nearest neighbours by cosine similarity of its features (pairs of item indices,
   * a < b); `content`: of its content features (its content box's, as it is plus mirrored: engine/content-crop.ts).
   */
  featureNeighbours: method<{ source: FeatureSource; k?: number; minCosine?: number; content?: boolean }, FeatureFacts & { pairs: { a: number; b: number; cosine: number }[] }>(),
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

  // ---- a server engine's cache (stdio engines only; refs as RemoteRef) ----
  /**
   * Which of these blobs / model folders the cache lacks (the ones it has count as just used).
   * `expect`: the host sends the missing blobs while the next call runs; reading one waits for it.
   */
  cacheMissing: method<{ refs: string[]; expect?: true }, { missing: string[] }>(),
  /**
   * Content-addressed files (images, label files), each checked against its sha256 before it is
   * kept; `skipped`: expected blobs that will not come (unreadable here, or a cancel).
   */
  cachePutBlobs: method<{ blobs: { hash: string; bytes: Uint8Array }[]; skipped?: string[] }, { stored: number; rejected: string[] }>({ beside: true }),
  /** Part of a file of a model or run folder being sent: staged until cacheCommit. */
  cachePutFile: method<{ ref: string; file: string; offset: number; bytes: Uint8Array }, { bytes: number }>(),
  /** A model folder's staged files become models/<hash> (checked against the hash); a run folder's join it (files it has are kept). */
  cacheCommit: method<{ ref: string }, { files: number }>(),
  /** The files under a ref (empty when it is absent): what a run folder holds, to fetch it home. */
  cacheList: method<{ ref: string }, { files: { path: string; size: number }[] }>(),
  cacheRead: method<{ ref: string; file: string; offset: number; length: number }, { bytes: Uint8Array }>(),
};

/**
 * The folders of a server engine's cache that a call's paths are rewritten to (relative to the
 * cache folder): blobs/<sha256> (an image or other file), models/<folder hash>, and per project
 * (a key the host derives from its project) projects/<key>, projects/<key>/cache,
 * projects/<key>/runs/<run folder name> and projects/<key>/out/<name> (a file a call writes).
 */
export const REMOTE_AREAS = ['blobs', 'models', 'projects'] as const;

/** What a path of a call's params names: how the host makes it a reference. */
export type PathRole = 'image' | 'file' | 'model' | 'run' | 'cache' | 'project' | 'output' | 'root';

/**
 * Every path in a call's params, through `f` (with its role, and its content hash where the call
 * carries one): a copy of the params with the paths `f` returns. Written once for both sides: the
 * host collects and rewrites, a server engine resolves and refuses. Methods without paths pass as they are.
 */
export function mapParamPaths<M extends EngineMethod>(method: M, params: EngineParams<M>, f: (p: string, role: PathRole, hash?: string) => string): EngineParams<M> {
  type Items<T extends ImageRef & { hash?: string }> = T[];
  // An image's root (the folder it must stay inside) is a path too: on a server, its blobs folder.
  const items = <T extends ImageRef & { hash?: string }>(list: Items<T>): Items<T> =>
    list.map((i) => ({ ...i, path: f(i.path, 'image', i.hash), ...(i.root === undefined ? {} : { root: f(i.root, 'root') }) }));
  const source = (s: FeatureSource): FeatureSource => ({ ...s, modelDir: f(s.modelDir, 'model'), cacheDir: f(s.cacheDir, 'cache'), items: items(s.items) });
  const p = params as EngineParams<EngineMethod>;
  const out = ((): unknown => {
    const m: EngineMethod = method;
    switch (m) {
      case 'inspectModel': {
        const q = p as EngineParams<'inspectModel'>;
        return { ...q, modelDir: f(q.modelDir, 'model') };
      }
      case 'planTraining': {
        const q = p as EngineParams<'planTraining'>;
        return { ...q, modelDir: f(q.modelDir, 'model') };
      }
      case 'classify': {
        const q = p as EngineParams<'classify'>;
        return { ...q, modelDir: f(q.modelDir, 'model'), imagePaths: q.imagePaths.map((i) => f(i, 'file')), ...(q.labelsPath === undefined ? {} : { labelsPath: f(q.labelsPath, 'file') }) };
      }
      case 'train': {
        const { job } = p as EngineParams<'train'>;
        return {
          job: { ...job, projectDir: f(job.projectDir, 'project'), runDir: f(job.runDir, 'run'), cacheDir: f(job.cacheDir, 'cache'), modelDir: f(job.modelDir, 'model'), items: items(job.items) },
        };
      }
      case 'estimateSimilarity': {
        const q = p as EngineParams<'estimateSimilarity'>;
        return { ...q, modelDir: f(q.modelDir, 'model'), items: items(q.items), ...(q.cacheDir === undefined ? {} : { cacheDir: f(q.cacheDir, 'cache') }) };
      }
      case 'predict': {
        const q = p as EngineParams<'predict'>;
        return { ...q, runDir: f(q.runDir, 'run'), items: items(q.items), ...(q.cacheDir === undefined ? {} : { cacheDir: f(q.cacheDir, 'cache') }) };
      }
      case 'gradCam': {
        const q = p as EngineParams<'gradCam'>;
        return { ...q, runDir: f(q.runDir, 'run'), items: items(q.items) };
      }
      case 'exportOnnx': {
        const q = p as EngineParams<'exportOnnx'>;
        return { ...q, runDir: f(q.runDir, 'run'), out: f(q.out, 'output') };
      }
      case 'outOfSample':
      case 'featureNeighbours':
      case 'embeddingMap':
      case 'labelNext': {
        const q = p as EngineParams<'outOfSample'>;
        return { ...q, source: source(q.source) };
      }
      // No paths (the cache methods carry references they check themselves).
      case 'backend':
      case 'stats':
      case 'cacheMissing':
      case 'cachePutBlobs':
      case 'cachePutFile':
      case 'cacheCommit':
      case 'cacheList':
      case 'cacheRead':
        return p;
      default:
        return ((never: never) => never)(m);
    }
  })();
  return out as EngineParams<M>;
}

/** Facts a server engine gives when it starts: what "Test connection" shows, before any model loads. */
export interface EngineMachine {
  hostname: string;
  platform: string;
  arch: string;
  cpus: number;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  /** Free bytes on the disk of its cache folder (stdio engines). */
  freeDiskBytes?: number;
}

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
  /** A server engine was asked for a path outside its cache folder (or a reference that does not exist). */
  | 'PATH_REFUSED'
  /** Anything else that failed in the engine (its message says what). */
  | 'ENGINE_ERROR';

/** Codes the client gives a call when the process itself fails. */
export type EngineProcessErrorCode = 'ENGINE_CRASHED' | 'ENGINE_STOPPED' | 'ENGINE_START_FAILED';

/** Every code an engine call can fail with: the model library's (model folders, read in the engine), the engine's, the process's. */
export type EngineErrorCode = ModelErrorCode | EngineJobErrorCode | EngineProcessErrorCode;

export interface EngineErrorData {
  code: Exclude<EngineErrorCode, EngineProcessErrorCode>;
  message: string;
  /** The field of the call's params at fault ('config.freezeTo'), when the engine can name one. */
  field?: string;
  details?: Record<string, unknown>;
}

export type HostToEngine =
  | { [M in EngineMethod]: { kind: 'call'; id: number; method: M; params: EngineParams<M> } }[EngineMethod]
  | { kind: 'cancel'; id: number };

export type EngineToHost =
  /** `version`: the studio version the engine belongs to (a host refuses another one's engine over ssh). */
  | { kind: 'ready'; pid: number; version?: string; machine?: EngineMachine }
  | { kind: 'event'; id: number; event: EngineEvent }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: EngineErrorData };
