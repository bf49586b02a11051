/**
 * The StudioApi contract: every request (name -> zod input schema -> output type) and every
 * event stream. Both transports (Electron IPC and WebSocket) and the CLI speak exactly this;
 * adding a request means one entry here and one method on the Studio.
 */
import { z } from 'zod';
import type { StudioErrorShape } from './errors';
import type { ClassInfo, ImportReport, JobProgress, JobState, ProjectInfo, RecentProject, TrainRunResult } from './domain';
import { ensembleRunsSchema, filePath, oneRunSource, oneRunSourceMessage, predictionQuerySchema, type EnsembleSummary, type PredictionRow } from './domain';
import { MODEL_ID_RULE, modelIdProblem } from './domain';
import {
  CLUSTER_FILTERS,
  DEFAULT_AUDIT_FOLDS,
  UNCERTAINTY_KINDS,
  labelIssueQuerySchema,
  type AuditSummary,
  type DuplicateClusterInfo,
  type EmbeddingMapPage,
  type LabelIssueRow,
  type LabelNextInfo,
  type LabelNextRow,
  type MapSummary,
  type SplitGroup,
} from './domain';
import { PREPROCESSING_MODES, similarityAnswerSchema, type AdviceInfo, type PreprocessingMode } from './domain';
import { engineAddressSchema, type EngineSetting, type EngineTestInfo } from './domain';
import { sweepRequestSchema, type Leaderboard, type SweepInfo, type SweepPlan, type SweepSummary } from './domain';
import { trainConfigSchema, type InstalledModelInfo, type ModelInspection, type BackendInfo, type ConfusionMatrix, type EpochMetrics, type RunDetail, type RunProgress, type RunSummary } from './domain';
import {
  type ImageDetails,
  type ImageRow,
  type LabelGroup,
  type SourceStatus,
  type SplitSummary,
  imageFilterSchema,
  imageSortSchema,
  importRequestSchema,
  splitSchema,
} from './domain';

/** A request definition: the input schema, and the output type carried as a phantom. */
export interface RequestDef<I extends z.ZodType, O> {
  input: I;
  /** Never set; carries the output type for inference. */
  readonly output?: O;
}
const req =
  <O>() =>
  <I extends z.ZodType>(input: I): RequestDef<I, O> => ({ input });

/** The largest message a transport carries: browser mode's WebSocket frame limit. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Image ids in one request. The largest valid bulk request (ids up to 2^53, 17 bytes each in
 * JSON) stays under MAX_MESSAGE_BYTES; the renderer sends longer lists in parts (api/bulk.ts).
 */
export const MAX_IDS = 100_000;
/** Label groups in one restoreLabels request (an undo holds one group per class). */
export const MAX_LABEL_GROUPS = 10_000;

const none = z.object({}).strict();
const dir = filePath.min(1, 'a folder path is required');
const className = z.string().trim().min(1, 'a class name is required').max(100);
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb');
const id = z.number().int().positive();
const ids = z.array(id).max(MAX_IDS, `at most ${MAX_IDS} ids in one request`);
/** A model, job or layer name. */
const key = z.string().min(1).max(500);
/** Points of the embedding map in one page (the largest fits MAX_MESSAGE_BYTES as base64). */
export const MAX_MAP_POINTS = 100_000;
/** Which features an audit, map or label-next ranking uses: a run's (default: the latest succeeded) or a model's own. */
const featureSource = z.object({ runId: id.optional(), model: key.trim().optional() });
export type FeatureSourceChoice = z.input<typeof featureSource>;
const oneSource = (v: { runId?: number | undefined; model?: string | undefined }): boolean => v.runId === undefined || v.model === undefined;
const sourceMessage = { message: 'give runId or model, not both', path: ['model'] };

export interface AppInfo {
  version: string;
  mode: 'electron' | 'browser' | 'cli' | 'test';
  schemaVersion: number;
  project: ProjectInfo | null;
}

export interface CheckResult {
  integrity: string;
  images: number;
  missingFiles: number;
}

/**
 * What an export writes: the test set's submission CSV or probabilities, the labelled dataset as a
 * class-per-folder tree or a CSV, a run's trained model as a TensorFlow.js folder or an ONNX file
 * (in a folder with its labels and preprocessing), or every result of the latest audit as a CSV
 * (image, given, suggested, score, reason).
 */
export const EXPORT_KINDS = ['submission', 'probabilities', 'dataset', 'dataset-csv', 'model', 'onnx', 'audit'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
const columnName = z.string().trim().min(1, 'a column name is required').max(200);
export const exportRequestSchema = z
  .object({
    kind: z.enum(EXPORT_KINDS),
    /** The CSV file, or for `dataset`, `model` and `onnx` a new or empty folder. */
    out: filePath.min(1, 'an output path is required'),
    /** The run whose predictions (submission, probabilities) or model to use; default: the latest succeeded run. */
    runId: id.optional(),
    /** submission, probabilities: an ensemble instead, its members' probabilities averaged. */
    runs: ensembleRunsSchema.optional(),
    /** Column names of the test-set CSVs (default: the template's header, else filename and label). */
    idColumn: columnName.optional(),
    labelColumn: columnName.optional(),
    /** Write test file names without their extension (competitions that list bare ids). */
    stripExtension: z.boolean().default(false),
    /** A CSV (the competition's sample submission or test list) whose ids, order and header the output follows. */
    template: filePath.min(1).optional(),
    /** Replace an existing CSV (a dataset folder must always be new or empty). */
    overwrite: z.boolean().default(false),
  })
  .strict()
  .refine(oneRunSource, oneRunSourceMessage)
  .refine((v) => v.runs === undefined || v.kind === 'submission' || v.kind === 'probabilities', { message: 'an ensemble (runs) exports a submission or probabilities only', path: ['runs'] });
export type ExportRequest = z.output<typeof exportRequestSchema>;

export interface ExportResult {
  kind: ExportKind;
  /** What was written: the CSV file, or the dataset folder. */
  files: string[];
  /** CSV data rows, or files copied into the dataset folder. */
  rows: number;
  /** The run; for an ensemble, null (see runs). */
  runId: number | null;
  /** submission, probabilities of an ensemble: its members. */
  runs?: number[];
  /** submission, probabilities: the test-time views the predictions averaged (['identity']: none); null: they differ between images or members. */
  views?: string[] | null;
  columns?: string[];
  /** submission: rows whose label came from the user's label rather than the prediction. */
  fromLabels?: number;
  /** dataset: classes whose folder name differs from the class name (characters a folder cannot hold). */
  folders?: { className: string; folder: string }[];
  /** dataset: files written under another name because the name was taken in their class folder. */
  renamed?: number;
  /** dataset, dataset-csv: images left out because they have no label. */
  skippedUnlabelled?: number;
  /** dataset-csv: the folder the filename column is relative to (import it with --images this folder). */
  imagesFolder?: string;
  /** model: the class names in the order of the model's outputs (as in its labels.json). */
  labels?: string[];
  /** submission: what the user should know about the file (labels a spreadsheet would read as formulas). */
  warnings?: string[];
}

/** A model of the catalog that can be downloaded (publisher, licence, input, size), and whether it is installed. */
export interface CatalogModelInfo {
  id: string;
  name: string;
  publisher: string;
  licence: string;
  url: string;
  inputSize: number;
  /** Pixel values are mapped from [0, 255] to this range. */
  scaling: [number, number];
  featureDim: number;
  params: number | null;
  sizeBytes: number | null;
  /** The download is checked against a known sha256 of model.json (always checked structurally). */
  verifiedDigest: boolean;
  installed: boolean;
  /** The network family (mobilenet_v1, vgg16, resnet50, mobilenet_v2, efficientnetb0) and its input preprocessing. */
  family: string;
  preprocessing: PreprocessingMode;
  /** False: sizeBytes is an estimate (parameters x 4 bytes, or the publisher's rounded figure). */
  sizeExact: boolean;
  /** ImageNet top-1 accuracy as the publisher reports it (0..1), where published. */
  top1: number | null;
  /** The hash the publisher pins for the file (Keras' get_file file_hash), where there is one. */
  hash: { algorithm: 'md5' | 'sha256'; value: string; pinnedIn: string } | null;
  /** Whether the file includes the ImageNet classifier (Keras' include_top). */
  includeTop: boolean;
}

/** The result of a downloadModel job. */
export interface DownloadResult {
  model: InstalledModelInfo;
  /** Already installed and valid: nothing was downloaded. */
  cached: boolean;
}

/** The result of a predictImages job (and of the prediction that ends every training run). */
export interface PredictSummary {
  /** The run; for an ensemble its first member (runs lists them all). */
  runId: number;
  /** An ensemble's members, each predicted in turn (their predictions are stored, the ensemble's are their mean). */
  runs?: number[];
  /** Images predicted (by every member, for an ensemble). */
  predicted: number;
  /** The test-time views averaged (['identity']: the image alone). */
  views: string[];
  /** An ensemble: how it compares with its best member on the validation images. */
  ensemble?: EnsembleSummary;
  /** Images whose file could not be read or decoded (their path); they keep no prediction. */
  failed: string[];
}

/** Grad-CAM for images of the project (a split) or files, written to a new or empty folder `out`. */
export const explainRequestSchema = z
  .object({
    /** Default: the latest succeeded run. */
    runId: id.optional(),
    split: splitSchema.optional(),
    imagePaths: z.array(filePath.min(1)).min(1).max(MAX_IDS).optional(),
    /** The class explained; default: each image's predicted class. */
    className: className.optional(),
    out: dir,
  })
  .strict()
  .refine((v) => (v.split === undefined) !== (v.imagePaths === undefined), { message: 'give either a split or image paths', path: ['split'] });

/** The result of an explain job: an overlay PNG per image and peaks.csv in `out`. */
export interface ExplainSummary {
  runId: number;
  out: string;
  /** `out`/peaks.csv: path,class,peak_x,peak_y (the map's maximum as fractions of width and height, top-left origin). */
  peaksCsv: string;
  /** Overlays written (one per image explained). */
  written: number;
  /** Images that could not be read or decoded (their path); they have no overlay and no row. */
  failed: string[];
  /** The layer whose feature map was explained. */
  layer: string;
  /** The class explained for every image, or null: each image's predicted class. */
  className: string | null;
}

/** A class-activation map of one image (Evaluate's heatmap), over the centre square the network saw. */
export interface HeatmapInfo {
  runId: number;
  imageId: number;
  classNames: string[];
  probabilities: number[];
  predictedIndex: number;
  /** The class the map explains. */
  classIndex: number;
  layer: string;
  /** Cells >= 0, row-major (shared/heatmap.ts draws and places them). */
  map: { width: number; height: number; values: number[] };
}

/** What a job of each kind ends with: JobInfo<K>['result'] once it succeeded (an import also when cancelled). */
export interface JobResults {
  import: ImportReport;
  export: ExportResult;
  train: TrainRunResult;
  predict: PredictSummary;
  /** Grad-CAM overlays and peaks of images (explainImages). */
  explain: ExplainSummary;
  download: DownloadResult;
  check: CheckResult;
  /** The data audit: out-of-sample probabilities, confident learning, near-duplicates (startAudit). */
  audit: AuditSummary;
  /** The embedding map of every image's features (startEmbeddingMap). */
  map: MapSummary;
  /** Label next's quick head retrain and ranking of the unlabelled images (startLabelNext). */
  'label-next': LabelNextInfo;
  /** A sweep's runs, executed here or on Slurm (startSweep, resumeSweep). */
  sweep: SweepSummary;
}
export type JobKind = keyof JobResults;

/** A job: JobInfo<'export'> is an export job, whose result is an ExportResult; plain JobInfo is a job of any kind. */
export interface JobInfo<K extends JobKind = JobKind> {
  id: string;
  kind: K;
  state: JobState;
  progress: JobProgress;
  result?: JobResults[K];
  error?: { code: string; message: string };
  createdAt: string;
  finishedAt?: string;
}

/** Whether a job (e.g. from an event, which carries jobs of every kind) is of this kind, so its result has that kind's type. */
export function isJobOf<K extends JobKind>(job: JobInfo, kind: K): job is JobInfo<K> {
  return job.kind === kind;
}

export const requests = {
  appInfo: req<AppInfo>()(none),
  createProject: req<ProjectInfo>()(z.object({ dir, name: z.string().trim().min(1).max(200).optional() }).strict()),
  openProject: req<ProjectInfo>()(z.object({ dir }).strict()),
  closeProject: req<null>()(none),
  projectInfo: req<ProjectInfo>()(none),
  recentProjects: req<RecentProject[]>()(none),
  forgetRecent: req<RecentProject[]>()(z.object({ dir }).strict()),
  renameProject: req<ProjectInfo>()(z.object({ name: z.string().trim().min(1).max(200) }).strict()),

  listClasses: req<ClassInfo[]>()(none),
  addClass: req<ClassInfo>()(z.object({ name: className, color: color.optional() }).strict()),
  /** Adds the classes a Teachable Machine model's export was trained on (its labels) that the project lacks; returns every class of those labels. */
  addClassesFromModel: req<ClassInfo[]>()(z.object({ model: key }).strict()),
  updateClass: req<ClassInfo>()(z.object({ id, name: className.optional(), color: color.optional() }).strict()),
  deleteClass: req<null>()(z.object({ id }).strict()),

  listJobs: req<JobInfo[]>()(none),
  cancelJob: req<JobInfo>()(z.object({ id: key }).strict()),
  /** Starts the project integrity check job and returns it at once. */
  checkProject: req<JobInfo<'check'>>()(none),
  /** Starts an export job and returns it at once; the job's result is an ExportResult. */
  exportData: req<JobInfo<'export'>>()(exportRequestSchema),

  /** Queues a training run; it starts when the runs before it have ended. */
  startTraining: req<{ job: JobInfo<'train'>; runId: number }>()(z.object({ config: trainConfigSchema }).strict()),
  /**
   * Continues a cancelled or failed run (scenarios 2-4) from its last checkpoint, optionally with
   * another number of epochs; queued like a new run.
   */
  resumeRun: req<{ job: JobInfo<'train'>; runId: number }>()(z.object({ id, epochs: z.number().int().min(1).max(1000).optional() }).strict()),
  listRuns: req<RunSummary[]>()(none),
  /** Cancels one run: training now, or waiting in a sweep (it will not start). */
  cancelRun: req<null>()(z.object({ id }).strict()),

  /** The runs a sweep would make (every combination checked by the engine; a refused value names its field) and their rough time. */
  planSweep: req<SweepPlan>()(sweepRequestSchema),
  /** Records a sweep and its runs and starts the sweep job (the runs train one at a time here, or as a Slurm job array). */
  startSweep: req<{ job: JobInfo<'sweep'>; sweepId: number; plan: SweepPlan }>()(sweepRequestSchema),
  /** Runs again every run of a sweep that did not succeed. */
  resumeSweep: req<{ job: JobInfo<'sweep'>; sweepId: number; runIds: number[] }>()(z.object({ id }).strict()),
  cancelSweep: req<null>()(z.object({ id }).strict()),
  listSweeps: req<SweepInfo[]>()(none),
  /** One row per configuration (mean ± sd over folds under k-fold) and the majority baseline. */
  sweepLeaderboard: req<Leaderboard>()(z.object({ id }).strict()),
  getRun: req<RunDetail>()(z.object({ id }).strict()),
  deleteRun: req<null>()(z.object({ id }).strict()),
  /**
   * Starts a job that predicts images of the given splits (default: the test split) with a
   * finished run's model (default: the latest succeeded run) and stores the predictions.
   */
  predictImages: req<JobInfo<'predict'>>()(
    z
      .object({
        runId: id.optional(),
        /** An ensemble: each member predicts the images (its predictions are stored); the ensemble's are their mean. */
        runs: ensembleRunsSchema.optional(),
        splits: z.array(splitSchema).min(1).max(3).default(['test']),
        /** Test-time augmentation: each image also on its views (src/shared/tta.ts), averaged. With an ensemble, the validation images too, so its comparison with its members is like for like. */
        tta: z.boolean().default(false),
      })
      .strict()
      .refine(oneRunSource, oneRunSourceMessage),
  ),
  /** An ensemble against its best member on the validation images: accuracies, losses, the gain and its confusion matrix. */
  ensembleSummary: req<EnsembleSummary>()(z.object({ runs: ensembleRunsSchema }).strict()),
  /** Starts a job that writes Grad-CAM overlays and peaks.csv of a split's images or of files into a new or empty folder. */
  explainImages: req<JobInfo<'explain'>>()(explainRequestSchema),
  /** The Grad-CAM heatmap of one image with a finished run (default: the latest succeeded): its predicted class's, or `className`'s. */
  imageHeatmap: req<HeatmapInfo>()(z.object({ runId: id.optional(), imageId: id, className: className.optional() }).strict()),
  /**
   * The advisor, which the wizard and the CLI both ask: scenario, k (scenario 2's freeze boundary),
   * the model's plan choices and why, from the project's labelled images, the model (default: the
   * first installed) and the user's similarity answer (else the engine's estimate with its evidence).
   */
  advise: req<AdviceInfo>()(z.object({ model: key.trim().optional(), similarity: similarityAnswerSchema.default('unknown') }).strict()),
  /** The engine's backend (starts the engine process if needed). */
  engineInfo: req<BackendInfo>()(none),
  /** Where the engine runs ("Train on: this machine / a server over SSH"), saved per machine. */
  engineSetting: req<EngineSetting>()(none),
  /** Saves where the engine runs; the next engine call starts it there (refused while a job runs). */
  setEngineSetting: req<EngineSetting>()(z.object({ engine: engineAddressSchema }).strict()),
  /** Starts the engine `engine` names (not kept) and says what it reported: version, runtime, provider, GPU, free memory. */
  testEngine: req<EngineTestInfo>()(z.object({ engine: engineAddressSchema }).strict()),

  /** Models installed on this machine (imported or downloaded), shared by all projects. */
  listModels: req<InstalledModelInfo[]>()(none),
  /**
   * Validates a model from disk and installs a copy: a TensorFlow.js LayersModel folder, or a Keras
   * file (.h5 saved with model.save, .keras, or a weights-only .h5 of a catalog architecture).
   * `preprocessing` overrides what the studio infers (the family's for a catalog architecture, else 'tf').
   */
  importModel: req<InstalledModelInfo>()(
    z
      .object({
        dir,
        id: z
          .string()
          .superRefine((v, ctx) => {
            const problem = modelIdProblem(v);
            if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a model id: ${problem} (${MODEL_ID_RULE})` });
          })
          .optional(),
        replace: z.boolean().default(false),
        preprocessing: z.enum(PREPROCESSING_MODES).optional(),
      })
      .strict(),
  ),
  /** Deletes an installed model (a built-in model cannot be deleted: it can be hidden). */
  removeModel: req<null>()(z.object({ id: key }).strict()),
  /** Hides a model from the model pickers and defaults (a built-in one included), or shows it again. */
  setModelHidden: req<InstalledModelInfo>()(z.object({ id: key, hidden: z.boolean() }).strict()),
  /** The pretrained models this studio can download. */
  listCatalog: req<CatalogModelInfo[]>()(none),
  /**
   * Starts a job that downloads a catalog model into this machine's models (verified; once per
   * machine: an installed copy is reused unless `force`); the job's result is a DownloadResult.
   */
  downloadModel: req<JobInfo<'download'>>()(z.object({ id: key, force: z.boolean().default(false) }).strict()),
  /** Every layer with type, output shape, parameters and whether it is a sensible cut point. */
  inspectModel: req<ModelInspection>()(z.object({ id: key }).strict()),
  /** One page of a run's predictions joined with the images (evaluation grids, label suggestions). */
  listPredictions: req<{ rows: PredictionRow[]; total: number; classNames: string[] }>()(predictionQuerySchema),
  /**
   * Labels images with a run's predictions: the listed images, or every unlabelled image predicted
   * with at least minConfidence. `previous` is what restoreLabels needs to undo it.
   */
  acceptSuggestions: req<{ previous: LabelGroup[]; changed: number; skipped: number }>()(
    z
      .object({ runId: id, minConfidence: z.number().min(0).max(1).optional(), imageIds: ids.min(1).optional() })
      .strict()
      .refine((v) => v.minConfidence !== undefined || v.imageIds !== undefined, { message: 'give imageIds or minConfidence', path: ['minConfidence'] }),
  ),

  /** Starts an import job and returns it at once; the job's result is an ImportReport. */
  importImages: req<JobInfo<'import'>>()(importRequestSchema),
  /** One page of the gallery (offset paging; the total is for the same filter). */
  listImages: req<{ rows: ImageRow[]; total: number }>()(
    z
      .object({
        filter: imageFilterSchema.default({}),
        sort: imageSortSchema.default({ by: 'imported', desc: false }),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(100),
      })
      .strict(),
  ),
  /** Every id in a filter, in import order (select-all). */
  imageIds: req<number[]>()(z.object({ filter: imageFilterSchema.default({}) }).strict()),
  imageDetails: req<ImageDetails>()(z.object({ id }).strict()),
  /** Labels images (classId null = unlabelled); `previous` is what restoreLabels needs to undo it. */
  setLabels: req<{ previous: LabelGroup[]; changed: number }>()(
    z.object({ ids, classId: id.nullable() }).strict(),
  ),
  /** Puts labels back (undo / redo); `previous` is what it replaced. */
  restoreLabels: req<{ previous: LabelGroup[]; changed: number }>()(
    z
      .object({ groups: z.array(z.object({ classId: id.nullable(), ids }).strict()).max(MAX_LABEL_GROUPS) })
      .strict()
      .refine((v) => v.groups.reduce((n, g) => n + g.ids.length, 0) <= MAX_IDS, { message: `at most ${MAX_IDS} ids in one request`, path: ['groups'] }),
  ),
  /** Moves images to a split; `previous` is what restoreSplits needs to undo it. */
  setSplit: req<{ changed: number; previous: SplitGroup[] }>()(z.object({ ids, split: splitSchema }).strict()),
  /** Moves the images of `from` into `into` and deletes the `from` classes. */
  mergeClasses: req<{ moved: number }>()(z.object({ from: z.union([id, z.array(id).min(1).max(10_000)]), into: id }).strict()),
  /** Stratified, seeded train/val split of the labelled non-test images. */
  autoSplit: req<SplitSummary>()(
    z.object({ val: z.number().min(0).lt(1).default(0.2), seed: z.number().int().min(0).max(2 ** 31 - 1).default(42) }).strict(),
  ),
  /** Import sources and whether their folders still exist (moved folders). */
  sourcesStatus: req<SourceStatus[]>()(none),
  /** Points a moved source at its new folder, after checking a sample of its files there. */
  relocateSource: req<SourceStatus>()(z.object({ id, root: dir }).strict()),
  /** Puts splits back (undo of setSplit or a leak's move); `previous` is what it replaced (redo). */
  restoreSplits: req<{ previous: SplitGroup[]; changed: number }>()(
    z
      .object({ groups: z.array(z.object({ split: splitSchema, ids }).strict()).max(3) })
      .strict()
      .refine((v) => v.groups.reduce((n, g) => n + g.ids.length, 0) <= MAX_IDS, { message: `at most ${MAX_IDS} ids in one request`, path: ['groups'] }),
  ),

  // ---- the data audit (docs: /work/tools/briefs/audit-contract.md until merged; README "Audit")

  /**
   * Starts the audit job: fingerprints an image lacks, K-fold out-of-sample head probabilities of
   * every labelled image, confident learning, near-duplicate clusters of every image, stored as the
   * project's latest audit (replacing the one before). Features: the run's model and cut layer (default:
   * the latest succeeded run), or `model` with its default cut layer when there is no run.
   */
  startAudit: req<JobInfo<'audit'>>()(featureSource.extend({ folds: z.number().int().min(2).max(20).default(DEFAULT_AUDIT_FOLDS) }).strict().refine(oneSource, sourceMessage)),
  /** The latest audit, with what is still open now (also the wizard's data step: leaks); null before the first. */
  auditSummary: req<AuditSummary | null>()(none),
  /** The latest audit's label issues, likeliest errors first (open ones by default). */
  listLabelIssues: req<{ rows: LabelIssueRow[]; total: number }>()(labelIssueQuerySchema),
  /** "This label is right": the audit never flags these images again while their label stays. `confirmed` is what unconfirm undoes. */
  confirmLabels: req<{ changed: number; confirmed: number[] }>()(z.object({ ids: ids.min(1) }).strict()),
  unconfirmLabels: req<{ changed: number; unconfirmed: number[] }>()(z.object({ ids: ids.min(1) }).strict()),
  /** The latest audit's near-duplicate clusters (largest first), or only those across splits or with disagreeing labels now. */
  listDuplicateClusters: req<{ rows: DuplicateClusterInfo[]; total: number }>()(
    z
      .object({
        only: z.enum(CLUSTER_FILTERS).default('all'),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(100).default(20),
      })
      .strict(),
  ),
  /**
   * A leak's "keep one": removes the cluster's other members from the project (their files stay on
   * disk; test images are never removed, so keep the test image of a cluster that has one).
   * undoRemoval with `removalId` puts them back, labels, splits, predictions and confirmations included.
   */
  keepOne: req<{ removed: number; removalId: number }>()(z.object({ clusterId: id, keepImageId: id }).strict()),
  undoRemoval: req<{ restored: number; skipped: { imageId: number; reason: string }[] }>()(z.object({ removalId: id }).strict()),
  /** A leak's "move all to one split": every member of the cluster into `split`; `previous` is what restoreSplits needs to undo it. */
  moveClusterToSplit: req<{ previous: SplitGroup[]; changed: number }>()(z.object({ clusterId: id, split: splitSchema }).strict()),

  /** Starts the embedding map job (PCA then seeded UMAP of every image's features, in the engine), stored as the latest map. */
  startEmbeddingMap: req<JobInfo<'map'>>()(featureSource.extend({ seed: z.number().int().min(0).max(2 ** 31 - 1).default(42) }).strict().refine(oneSource, sourceMessage)),
  /** A page of the latest map as base64 typed arrays (all 100,000 points fit one page); null before the first map. */
  embeddingMap: req<EmbeddingMapPage | null>()(
    z.object({ offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(MAX_MAP_POINTS).default(MAX_MAP_POINTS) }).strict(),
  ),

  /**
   * Starts label next's quick retrain: a fresh head on every labelled image's cached features
   * predicts the unlabelled images, which are ranked (seconds once their features are cached).
   */
  startLabelNext: req<JobInfo<'label-next'>>()(featureSource.strict().refine(oneSource, sourceMessage)),
  /** The unlabelled images most worth labelling, from the latest retrain; images labelled since drop out. */
  labelNextQueue: req<{ rows: LabelNextRow[]; total: number; ranking: LabelNextInfo | null }>()(
    z
      .object({
        uncertainty: z.enum(UNCERTAINTY_KINDS).default('margin'),
        /** Weigh uncertainty by how typical the image is of the unlabelled pool (outliers last). */
        representative: z.boolean().default(true),
        split: splitSchema.optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(100),
      })
      .strict(),
  ),
} as const;

export type Requests = typeof requests;
export type RequestName = keyof Requests;
/** What a caller sends (defaults may be omitted). */
export type RequestInput<K extends RequestName> = z.input<Requests[K]['input']>;
/** What the Studio receives after parsing. */
export type ParsedInput<K extends RequestName> = z.output<Requests[K]['input']>;
export type RequestOutput<K extends RequestName> = Requests[K] extends RequestDef<z.ZodType, infer O> ? O : never;

export type StoreTopic = 'project' | 'classes' | 'images' | 'runs' | 'jobs' | 'models' | 'audit';

export interface StudioEvents {
  'job.progress': JobInfo;
  'job.finished': JobInfo;
  'store.changed': { topics: StoreTopic[] };
  /** Live training: throttled batch progress, each finished epoch, and log lines of a run. */
  'run.progress': RunProgress;
  'run.epoch': { runId: number; metrics: EpochMetrics; confusion: ConfusionMatrix | null };
  'run.log': { runId: number; message: string };
}
export type EventName = keyof StudioEvents;
export const EVENT_NAMES: readonly EventName[] = ['job.progress', 'job.finished', 'store.changed', 'run.progress', 'run.epoch', 'run.log'];

/** The client-side face of the contract, the same over IPC and WebSocket. */
export interface StudioApi {
  call<K extends RequestName>(name: K, input: RequestInput<K>): Promise<RequestOutput<K>>;
  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void;
}

/** The outcome of one request as every transport carries it: never a thrown error. */
export type RequestResult = { ok: true; output: unknown } | { ok: false; error: StudioErrorShape };

/** Wire messages, shared by both transports. */
export interface WireRequest {
  id: number;
  name: string;
  input: unknown;
}
export type WireResponse =
  | { id: number; ok: true; output: unknown }
  | { id: number; ok: false; error: StudioErrorShape };
export interface WireEvent {
  event: EventName;
  payload: unknown;
}

export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requests, name);
}
