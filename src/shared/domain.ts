/**
 * Domain types shared by main, preload, renderer and the engine process.
 * Pure data: no imports from any process. Zod schemas live beside the types
 * that arrive from outside (requests, files), so one definition serves both.
 */
import { z } from 'zod';

export const SPLITS = ['train', 'val', 'test'] as const;
export const splitSchema = z.enum(SPLITS);
export type Split = z.infer<typeof splitSchema>;

export interface ClassInfo {
  id: number;
  name: string;
  color: string;
  position: number;
}

export interface ClassCount extends ClassInfo {
  train: number;
  val: number;
  test: number;
  total: number;
}

export interface ProjectCounts {
  total: number;
  unlabelled: number;
  bySplit: Record<Split, number>;
  byClass: ClassCount[];
}

export interface ProjectInfo {
  dir: string;
  name: string;
  schemaVersion: number;
  createdAt: string;
  counts: ProjectCounts;
  runs: number;
}

export interface RecentProject {
  dir: string;
  name: string;
  openedAt: string;
  /** The folder no longer holds a project (moved or deleted). */
  missing?: boolean;
}

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobProgress {
  done: number;
  total: number;
  message?: string;
}

/** Which TensorFlow.js backend the engine runs, shown in the UI and stored with every run. */
export interface BackendInfo {
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  simd: boolean;
  threads: number;
  /** What runs frozen forward passes (features, activation caches, prediction); absent in old runs. */
  inference?: InferenceInfo;
  /** The server the engine ran on (an engine over ssh); absent: this machine. */
  server?: EngineServerInfo;
}

/** A server engine: the address the studio reached it by, and what it said of itself. */
export interface EngineServerInfo {
  address: string;
  hostname: string;
  version: string;
}

/** ONNX Runtime with its execution provider, or TensorFlow.js (the backend above) and why. */
export interface InferenceInfo {
  runtime: 'onnxruntime' | 'tfjs';
  provider?: 'cpu' | 'cuda' | 'dml' | 'coreml';
  threads?: number;
  version?: string;
  /** Why onnxruntime is not used (runtime 'tfjs'). */
  reason?: string;
  /** Providers tried before the one that runs, and why they did not start. */
  note?: string;
}

const PROVIDER_NAMES: Record<NonNullable<InferenceInfo['provider']>, string> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML' };

/** What ran the frozen forward passes, in words (the UI and the CLI). */
export function inferenceLabel(info: InferenceInfo | undefined): string {
  if (!info) return 'TensorFlow.js';
  if (info.runtime === 'onnxruntime') {
    const threads = info.threads ? `, ${info.threads} thread${info.threads === 1 ? '' : 's'}` : '';
    return `ONNX Runtime${info.version ? ` ${info.version}` : ''} (${PROVIDER_NAMES[info.provider ?? 'cpu']}${threads})`;
  }
  return `TensorFlow.js${info.reason ? ` (${info.reason})` : ''}`;
}

export const scenarioSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
export type Scenario = z.infer<typeof scenarioSchema>;

export const headSchema = z.object({
  hidden: z.array(z.number().int().min(1).max(4096)).max(4).default([128]),
  dropout: z.number().min(0).max(0.9).default(0.2),
  activation: z.enum(['relu', 'elu', 'tanh', 'sigmoid']).default('relu'),
});
export type HeadConfig = z.infer<typeof headSchema>;

export const augmentSchema = z.object({
  flip: z.boolean().default(true),
  crop: z.boolean().default(true),
  rotate: z.boolean().default(false),
  brightness: z.boolean().default(true),
  contrast: z.boolean().default(false),
});
export type AugmentConfig = z.infer<typeof augmentSchema>;

/**
 * What each scenario trains with unless told otherwise. The contract fills these in (so a run
 * started by the CLI, the API or the wizard gets the same settings) and the wizard starts from them.
 * Scenario 2 trains from the activation cache, which augmentation would bypass, so it is off there.
 */
export const SCENARIO_DEFAULTS: Record<Scenario, { lr: number; lrPretrained?: number; epochs: number; patience: number; augment: boolean; head: { hidden: number[]; dropout: number } }> = {
  1: { lr: 0.001, epochs: 10, patience: 3, augment: false, head: { hidden: [128], dropout: 0.2 } },
  2: { lr: 0.001, lrPretrained: 0.0001, epochs: 15, patience: 4, augment: false, head: { hidden: [128], dropout: 0.3 } },
  3: { lr: 0.001, epochs: 30, patience: 6, augment: true, head: { hidden: [256], dropout: 0.3 } },
  4: { lr: 0.0005, lrPretrained: 0.00001, epochs: 15, patience: 4, augment: true, head: { hidden: [128], dropout: 0.2 } },
};

export const trainConfigSchema = z
  .object({
    scenario: scenarioSchema,
    /** Model id in the catalog or of an imported model. */
    model: z.string().min(1).max(500),
    /** Layer whose output feeds the head (scenario 1); default: the model's feature layer. */
    cutLayer: z.string().min(1).max(500).optional(),
    /** Last frozen layer (scenario 2). */
    freezeTo: z.string().min(1).max(500).optional(),
    /** Default: the scenario's (SCENARIO_DEFAULTS), as lr, lrPretrained, epochs, patience and augment. */
    head: headSchema.optional(),
    optimizer: z.enum(['adam', 'sgd']).default('adam'),
    lr: z.number().positive().max(10).optional(),
    /** Learning rate for pretrained layers (scenarios 2 and 4); without a scenario default, lr / 10. */
    lrPretrained: z.number().positive().max(10).optional(),
    batchSize: z.number().int().min(1).max(1024).default(32),
    epochs: z.number().int().min(1).max(1000).optional(),
    /** Epochs without validation-loss improvement before stopping; 0 = off. */
    patience: z.number().int().min(0).max(1000).optional(),
    classWeights: z.boolean().default(false),
    /** null = no augmentation. */
    augment: augmentSchema.nullable().optional(),
    /** Trainable BatchNorm layers run in inference mode unless this is set. */
    trainBatchNorm: z.boolean().default(false),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  })
  .transform((c) => {
    const d = SCENARIO_DEFAULTS[c.scenario];
    const lrPretrained = c.lrPretrained ?? d.lrPretrained;
    return {
      ...c,
      head: c.head ?? headSchema.parse(d.head),
      lr: c.lr ?? d.lr,
      ...(lrPretrained === undefined ? {} : { lrPretrained }),
      epochs: c.epochs ?? d.epochs,
      patience: c.patience ?? d.patience,
      augment: c.augment !== undefined ? c.augment : d.augment ? augmentSchema.parse({}) : null,
    };
  });
export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAcc: number;
  valLoss: number | null;
  valAcc: number | null;
  durationMs: number;
}

/** rows = true class, columns = predicted class, both in classNames order. */
export interface ConfusionMatrix {
  epoch: number;
  classNames: string[];
  matrix: number[][];
}

export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunSummary {
  id: number;
  scenario: Scenario;
  model: string;
  state: RunState;
  config: TrainConfig;
  backend: BackendInfo | null;
  classNames: string[];
  baseline: number | null;
  bestEpoch: number | null;
  bestValAcc: number | null;
  bestValLoss: number | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  jobId: string | null;
  /**
   * Once the run ended: a TrainRunResult when it succeeded (durations, cache hits, parameter counts,
   * log...), the engine's result and the log when cancelled, the log alone when it failed.
   */
  result: Record<string, unknown> | null;
}

export interface RunDetail extends RunSummary {
  metrics: EpochMetrics[];
  confusion: ConfusionMatrix | null;
}

// A type alias (not an interface) so it is assignable to records with an index signature.
/** What the engine reports when a training run (any scenario) ends. */
export type TrainResult = {
  /** 'cancelled' when the run was cancelled: what was finished is kept (cache, best model so far). */
  state: 'succeeded' | 'cancelled';
  backend: BackendInfo;
  epochsRun: number;
  bestEpoch: number | null;
  /** Majority-class share of the validation set (accuracy of always guessing the commonest class). */
  baseline: number | null;
  cache: { hits: number; misses: number };
  extractMs: number;
  trainMs: number;
  /** Absolute paths of the files written to the run folder. */
  modelFiles: string[];
  metrics: EpochMetrics[];
  /** Validation confusion matrix of the best epoch. */
  confusion: ConfusionMatrix | null;
  cutLayer: string;
  featureDim: number;
  frozenKind: string;
  /** Scenario 1: what ran the head's training steps (ONNX Runtime or TensorFlow.js). */
  headKind?: string;
  /** Scenarios 2-4: the plan and the batch actually used. */
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
  /** Training images per second over all epochs (with each epoch's validation and checkpoint). */
  imagesPerSec?: number;
  /** Training images per second in the training steps alone (batches read and stepped), as PyTorch loops are usually timed. */
  stepImagesPerSec?: number;
  /** Validation loss before the first epoch (untrained head), null without validation images or when resumed. */
  initialValLoss?: number | null;
  /** 'cached' when epochs ran from the activation cache, 'full' when the frozen part ran every epoch. */
  frozenPart?: 'cached' | 'full' | 'none';
};

/** A succeeded run's result (stored with the run, and the result of its job): the engine's, the predictions made at its end, and its log. */
export type TrainRunResult = TrainResult & {
  runId: number;
  /** Images predicted with the new model at the end of the run. */
  predictions: number;
  /** The run's log lines (engine backend and fallbacks included), as the run.log events sent them. */
  log: string[];
};

// ---- images: import, gallery, labels, splits ----------------------------------------------

export const SOURCE_KINDS = ['folder', 'csv', 'files', 'zip'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** An import source and whether its folder is still where it was. */
export interface SourceStatus {
  id: number;
  kind: SourceKind;
  root: string;
  description: string;
  importedAt: string;
  images: number;
  exists: boolean;
}

export const IMPORT_KINDS = ['auto', 'folder', 'csv', 'files', 'zip'] as const;
/** A path longer than this is no path any file system here accepts. */
export const MAX_PATH_CHARS = 4096;
/** A path from a request: bounded, and without NUL (which no file system takes; Node throws on it). */
export const filePath = z.string().trim().max(MAX_PATH_CHARS).refine((p) => !p.includes('\0'), 'a path cannot contain a NUL character');
export const importRequestSchema = z
  .object({
    /** A folder, a .zip, a .csv or an image file; or a list of loose image files (imported unlabelled). */
    source: z.union([
      filePath.min(1, 'a folder, file or zip is required'),
      z.array(filePath.min(1)).min(1, 'at least one file is required').max(100_000),
    ]),
    /**
     * auto: a list or an image file -> files, .zip -> zip, .csv -> csv, a folder -> folder.
     * folder: subfolder names are classes, top-level files unlabelled; files: everything unlabelled.
     */
    kind: z.enum(IMPORT_KINDS).default('auto'),
    /** CSV of filename,label[,split] (for csv, or a CSV inside a zip: relative to its root). */
    csv: filePath.min(1).optional(),
    /** Folder the CSV's file names are relative to (default: the CSV's folder, or the zip's root). */
    images: filePath.min(1).optional(),
    /** Split for imported images (a CSV split column overrides it); 'test' imports unlabelled. */
    split: z.enum(['train', 'val', 'test']).default('train'),
  })
  .strict();
export type ImportRequest = z.output<typeof importRequestSchema>;
export type ImportRequestInput = z.input<typeof importRequestSchema>;

export interface ImportFailure {
  /** Path as given (relative to the source root where there is one). */
  file: string;
  /** CSV record number (1-based, the header counts) for CSV imports. */
  row?: number;
  reason: string;
}

export interface ImportDuplicate {
  file: string;
  /** The image already in the project (or earlier in this import) with the same content. */
  existing: string;
  existingId: number;
}

export interface ImportReport {
  sourceId: number | null;
  /** Where the images are referenced from (for a zip: the extraction folder in the project). */
  root: string;
  added: number;
  duplicateCount: number;
  /** The first duplicates (at most 1000); `duplicateCount` has them all. */
  duplicates: ImportDuplicate[];
  failureCount: number;
  /** The first failures (at most 1000); `failureCount` has them all. */
  failures: ImportFailure[];
  classesCreated: string[];
  cancelled: boolean;
  durationMs: number;
}

export const imageFilterSchema = z
  .object({
    classId: z.union([z.number().int().positive(), z.literal('unlabelled')]).optional(),
    split: z.enum(['train', 'val', 'test']).optional(),
    /** Case-insensitive substring of the file name. */
    name: z.string().max(500).optional(),
    sourceId: z.number().int().positive().optional(),
  })
  .strict();
export type ImageFilter = z.output<typeof imageFilterSchema>;

export const IMAGE_SORTS = ['imported', 'name', 'class'] as const;
export const imageSortSchema = z.object({ by: z.enum(IMAGE_SORTS).default('imported'), desc: z.boolean().default(false) }).strict();
export type ImageSort = z.output<typeof imageSortSchema>;

/** One gallery cell. The thumbnail is served at /files/thumb/<id>, the original at /files/image/<id>. */
export interface ImageRow {
  id: number;
  fileName: string;
  classId: number | null;
  split: Split;
  width: number;
  height: number;
}

export interface ImageDetails extends ImageRow {
  className: string | null;
  relPath: string;
  sourceId: number;
  /** Absolute path of the original (source root + relative path). */
  path: string;
  exists: boolean;
  hash: string;
  bytes: number;
  format: string;
  importedAt: string;
}

/** Labels as they were, for undo: the ids that had each class (null = unlabelled). */
export interface LabelGroup {
  classId: number | null;
  ids: number[];
}

export interface SplitSummary {
  train: number;
  val: number;
  perClass: { classId: number; name: string; train: number; val: number }[];
}

export interface RunProgress {
  runId: number;
  jobId: string;
  /** 'upload': images and the model go to a server engine first (ssh). */
  phase: 'queued' | 'upload' | 'extract' | 'train' | 'predict';
  done: number;
  total: number;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  imagesPerSec?: number;
  /** Smoothed training loss of recent batches. */
  loss?: number;
  etaSeconds?: number;
}

// ---- predictions of a run: evaluation views and label suggestions -------------------------

export const PREDICTION_SORTS = ['imported', 'loss', 'confidence-asc', 'confidence-desc'] as const;
export const predictionQuerySchema = z
  .object({
    runId: z.number().int().positive(),
    /** Index into the run's class names: images whose current label is that class. */
    trueIndex: z.number().int().min(0).optional(),
    /** Index into the run's class names: images the run predicted as that class. */
    predictedIndex: z.number().int().min(0).optional(),
    /** Labelled images whose prediction differs from their label. */
    wrongOnly: z.boolean().default(false),
    /** Images without a label (label suggestions). */
    unlabelledOnly: z.boolean().default(false),
    split: splitSchema.optional(),
    /** Only predictions at least this confident (accept-all preview). */
    minConfidence: z.number().min(0).max(1).optional(),
    /** loss: highest loss first (labelled images only have one); confidence-asc: most uncertain first. */
    sort: z.enum(PREDICTION_SORTS).default('imported'),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(500).default(100),
  })
  .strict();
export type PredictionQuery = z.output<typeof predictionQuerySchema>;

/** One image with a run's prediction on it, for the evaluation grids. */
export interface PredictionRow {
  imageId: number;
  fileName: string;
  split: Split;
  /** The image's current label (it may have been fixed since the run). */
  classId: number | null;
  className: string | null;
  /** Index into the run's class names, and that name. */
  predicted: number;
  predictedName: string;
  confidence: number;
  /** -log p(label) at prediction time, for labelled images. */
  loss: number | null;
  /** The three most likely classes. */
  top: { name: string; p: number }[];
}

/**
 * How an image becomes the network's input, per model family (Keras' preprocess_input modes):
 * 'tf' RGB scaled to [-1, 1]; 'caffe' BGR with the ImageNet channel means subtracted (VGG16,
 * ResNet50); 'raw' RGB 0..255, for networks that rescale and normalize inside (EfficientNet).
 */
export const PREPROCESSING_MODES = ['tf', 'caffe', 'raw'] as const;
export type PreprocessingMode = (typeof PREPROCESSING_MODES)[number];

export interface InstalledModelInfo {
  id: string;
  name: string;
  source: 'import' | 'catalog';
  origin: string;
  weightBytes: number;
  layers: number;
  installedAt: string;
  /** What is on disk: a TensorFlow.js folder, or a Keras file (weights-only .h5, Keras 2 .h5, Keras 3 .keras). */
  format?: 'tfjs' | 'keras-weights' | 'keras-h5' | 'keras-v3';
  /** The catalog architecture a Keras weights file was matched to (e.g. resnet50), where there is one. */
  architecture?: string;
  preprocessing?: PreprocessingMode;
  inputSize?: number;
  params?: number;
}

/** One layer of a model, as the engine inspects it (plain data: the engine, its protocol, the host and the UI share it). */
export interface LayerInfo {
  index: number;
  name: string;
  className: string;
  /** Without the batch dimension, e.g. [7, 7, 256]. */
  outputShape: number[];
  params: number;
  /**
   * A block boundary where the network can sensibly be cut (features taken, or frozen up to): a
   * block end whose output every path from the input to the model's output crosses.
   */
  cutPoint: boolean;
  /** The layers whose outputs feed this one (empty for an input). Absent: the previous layer (a chain). */
  inbound?: string[];
  /** Which block a cut point ends, in words (e.g. "stage conv3, block 4 (end of the stage)"). */
  block?: string;
}

export interface ModelInspection {
  dir: string;
  name: string;
  format: 'layers-model';
  inputShape: number[];
  outputShape: number[];
  params: number;
  weightBytes: number;
  layers: LayerInfo[];
  /** The layer whose output feeds a new head by default (global pooling when there is one). */
  defaultCutLayer: string;
}

// ---- the advisor: scenario, k and the similarity estimate --------------------------------

/** The studio's estimate of how similar the labelled images are to the pretrained network's data. */
export interface SimilarityEstimateInfo {
  level: 'high' | 'low';
  /** 0..1 from the evidence; 'high' from 0.6. */
  score: number;
  /** Images looked at (a per-class sample). */
  sampled: number;
  /** Mean top-1 probability of the pretrained classifier on the sample (null: the model has no classifier output). */
  meanTop1: number | null;
  /** Share of images whose top-1 pretrained label is the commonest one of their class. */
  consistency: number | null;
  /** Held-out accuracy of a nearest-centroid probe on the pretrained features, on raw pixels, and chance. */
  probeAccuracy: number;
  pixelProbeAccuracy: number;
  chance: number;
  /** The evidence in plain words. */
  evidence: string[];
}

/**
 * The user's judgement of how alike their images are to the pretrained data: 'medium' is photos of
 * an unusual subject (counted as similar); 'unknown' lets the studio's estimate decide.
 */
export const similarityAnswerSchema = z.enum(['high', 'medium', 'low', 'unknown']);
export type SimilarityAnswer = z.infer<typeof similarityAnswerSchema>;

/** One place to cut or freeze a model, with the parameters it leaves frozen and trainable (before the new head). */
export interface PlanChoice {
  layer: string;
  frozenParams: number;
  trainableParams: number;
}

/** A model's choices as the plan builder counts them, so clients show them without counting. */
export interface ModelPlans {
  /** The model's feature layer: what feeds the new head unless scenario 1 picks another. */
  cutLayer: string;
  /** Scenario 1: the layers the head can be fed from (the network up to it stays frozen). */
  features: PlanChoice[];
  /** Scenario 2: the block ends the network can be frozen up to, in order (k = position + 1). */
  freeze: PlanChoice[];
  /** Scenarios 3 and 4: the network's parameters up to the feature layer, all of which train. */
  wholeParams: number;
}

export interface AdviceInfo {
  scenario: Scenario;
  size: 'small' | 'large';
  /** The similarity the advice used, and where it came from (the user's answer wins over the estimate). */
  similarity: SimilarityAnswer;
  similaritySource: 'answer' | 'estimate' | 'none';
  estimate: SimilarityEstimateInfo | null;
  /** Why there is no estimate (no model installed, too few labelled images, ...). */
  estimateNote: string | null;
  /** Labelled images (train + val) of the smallest class that has any. */
  smallestClass: number;
  /** Images in the smallest class from which the dataset counts as large. */
  largeFrom: number;
  model: string | null;
  /** Scenario 2's default freeze boundary (last frozen layer), k = blocks frozen of `blocks`. */
  freezeTo: string | null;
  k: number | null;
  blocks: number | null;
  frozenParams: number | null;
  trainableParams: number | null;
  /** The model's choices with their parameter counts (null when its layers could not be read). */
  plans: ModelPlans | null;
  /** The main reason, then the supporting ones. */
  reason: string;
  reasons: string[];
}

// ---- the data audit: label issues, near-duplicates and leaks, the embedding map, label next ----

/** Folds of the audit's out-of-sample head probabilities, by default. */
export const DEFAULT_AUDIT_FOLDS = 5;

/**
 * Which features an audit, a map or a label-next ranking was computed on: the pretrained model's
 * pooled features at the cut layer (the run's, when it came from a run), from the feature cache.
 */
export interface FeatureSourceInfo {
  /** The run whose model, cut layer and head settings were used; null when none was (the model's defaults). */
  runId: number | null;
  model: string;
  cutLayer: string;
  featureDim: number;
}

/** Confident learning's estimate for one given class: the share of its images whose true label is another. */
export interface NoiseRateInfo {
  /** Null when the class was deleted since the audit. */
  classId: number | null;
  className: string;
  /** Images given this label that the audit scored. */
  images: number;
  /** 0..1; null when the audit could not estimate it (no image confidently of any class). */
  rate: number | null;
}

/** The latest audit: what it looked at, what it found, and how much of it is still open now. */
export interface AuditSummary {
  id: number;
  createdAt: string;
  source: FeatureSourceInfo;
  folds: number;
  /** The classes of the audit's probabilities, in order. */
  classNames: string[];
  /** Labelled images scored out of sample. */
  scored: number;
  /** Images every part of the audit looked at (all splits, labelled or not; near-duplicates). */
  images: number;
  /** Images that could not be read (count, and the first paths). */
  skippedCount: number;
  skipped: string[];
  /** Images confident learning flagged when the audit ran (confirmed labels are never flagged). */
  flagged: number;
  /** Flagged images still open now: label unchanged since the audit and not confirmed. */
  openIssues: number;
  noiseRates: NoiseRateInfo[];
  /** Near-duplicate clusters with 2+ images still in the project; of them, across splits now and with disagreeing labels now. */
  clusters: number;
  leaks: number;
  conflicts: number;
  /** Images in those clusters. */
  duplicateImages: number;
  /** Images imported after the audit ran: not looked at. */
  imagesSince: number;
  /** Fingerprints (pHash + grey thumbnail) the audit had to compute (images imported before fingerprints existed). */
  fingerprintsComputed: number;
  durations: { fingerprintsMs: number; foldsMs: number; neighboursMs: number; duplicatesMs: number; totalMs: number };
}

export const ISSUE_STATUSES = ['open', 'fixed', 'confirmed', 'all'] as const;
export type IssueStatus = Exclude<(typeof ISSUE_STATUSES)[number], 'all'>;

/** One image confident learning flagged: its label when audited, the suggested one, the score. */
export interface LabelIssueRow {
  imageId: number;
  fileName: string;
  split: Split;
  /** The label when audited (null id: the class was deleted since). */
  givenClassId: number | null;
  given: string;
  /** The most probable other class, out of sample. */
  suggestedClassId: number | null;
  suggested: string;
  /** The image's label now. */
  classId: number | null;
  /** Normalized margin p(given) - p(suggested), in [-1, 1]: lower = likelier wrong. Rows are ranked by it. */
  score: number;
  /** Out-of-sample p(given). */
  selfConfidence: number;
  /** open: unchanged and unconfirmed; fixed: relabelled since; confirmed: the user said the label is right. */
  status: IssueStatus;
  /** The three most probable classes out of sample. */
  top: { name: string; p: number }[];
}

export const labelIssueQuerySchema = z
  .object({
    status: z.enum(ISSUE_STATUSES).default('open'),
    /** Issues whose given (audited) label is this class. */
    givenClassId: z.number().int().positive().optional(),
    suggestedClassId: z.number().int().positive().optional(),
    split: splitSchema.optional(),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(500).default(100),
  })
  .strict();
export type LabelIssueQuery = z.output<typeof labelIssueQuerySchema>;

export interface DuplicateMemberInfo {
  imageId: number;
  fileName: string;
  split: Split;
  classId: number | null;
  className: string | null;
}

/** Two images found to be near-duplicates, with the distances that say how alike they are. */
export interface DuplicatePairInfo {
  a: number;
  b: number;
  /** Hamming distance of their perceptual hashes (bits of 64). */
  hamming: number;
  /** Cosine similarity of their features, when the pair came from the feature neighbours. */
  cosine: number | null;
  /** Best normalised cross-correlation of their grey thumbnails (-1..1)... */
  pixel: number;
  /** ...found at a shift of more than one pixel. */
  shifted: boolean;
}

/** A near-duplicate cluster, with leak and conflict judged on the images' splits and labels now. */
export interface DuplicateClusterInfo {
  id: number;
  /** Members still in the project (removed ones are left out). */
  size: number;
  members: DuplicateMemberInfo[];
  pairs: DuplicatePairInfo[];
  splits: Split[];
  /** Members in more than one split. */
  leak: boolean;
  /** Labelled members disagree. */
  conflict: boolean;
}

export const CLUSTER_FILTERS = ['all', 'leaks', 'conflicts'] as const;

/** Labels as they were (undo of a split change): the ids that were in each split. */
export interface SplitGroup {
  split: Split;
  ids: number[];
}

/** The result of an embedding map job. */
export interface MapSummary {
  mapId: number;
  source: FeatureSourceInfo;
  points: number;
  skippedCount: number;
  pcaComponents: number;
  pcaExplained: number;
  durationMs: number;
}

/**
 * One page of the latest embedding map, as base64 little-endian typed arrays of `count` entries
 * (2.1 bytes x 4/3 per point: 100,000 points are about 2.8 MB, within a transport's message).
 * Labels and predictions are indices into `classes`; splits, labels and predictions are as they are now.
 */
export interface EmbeddingMapPage {
  mapId: number;
  createdAt: string;
  source: FeatureSourceInfo;
  total: number;
  offset: number;
  count: number;
  /** The palette: the project's classes. */
  classes: { id: number; name: string; color: string }[];
  /** The run whose stored predictions fill `predicted` (the latest succeeded run), if any. */
  runId: number | null;
  /** Bounds of every point of the map (not only this page). */
  bounds: { minX: number; maxX: number; minY: number; maxY: number };
  /** Int32 image ids. */
  ids: string;
  /** Float32 x, y pairs. */
  xy: string;
  /** Int16 index into classes, -1 unlabelled. */
  labels: string;
  /** Int16 index into classes, -1 no prediction. */
  predicted: string;
  /** Uint8: 0 train, 1 val, 2 test. */
  splits: string;
  /** Float32 label-quality score of the latest audit (lower = likelier mislabelled), NaN where not audited. */
  scores: string;
}

export const UNCERTAINTY_KINDS = ['margin', 'entropy'] as const;
export type UncertaintyKind = (typeof UNCERTAINTY_KINDS)[number];

/** A label-next ranking (the result of its quick retrain job, and the header of the queue). */
export interface LabelNextInfo {
  id: number;
  createdAt: string;
  source: FeatureSourceInfo;
  classNames: string[];
  /** Labelled images the head trained on. */
  trainedOn: number;
  /** Unlabelled images it ranked. */
  ranked: number;
  skippedCount: number;
  durations: { extractMs: number; trainMs: number; totalMs: number };
}

/** An unlabelled image in the label-next queue. */
export interface LabelNextRow {
  imageId: number;
  fileName: string;
  split: Split;
  /** uncertainty x density (or uncertainty alone without representativeness); the queue's order. */
  score: number;
  /** 0..1, 1 = undecided (margin: 1 - (p1 - p2); entropy: normalised). */
  uncertainty: number;
  /** 0..1: mean cosine similarity to the unlabelled pool (typical images high, outliers low). */
  density: number;
  predictedClassId: number | null;
  predicted: string;
  confidence: number;
}
