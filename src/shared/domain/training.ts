/** Training: the run configuration, what ran it, its metrics, its result and its progress. */
import { z } from 'zod';

/** Which TensorFlow.js backend the engine runs, shown in the UI and stored with every run. */
export interface BackendInfo {
  name: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  simd: boolean;
  threads: number;
  /** What runs frozen forward passes (features, activation caches, prediction); absent in old runs. */
  inference?: InferenceInfo;
  /**
   * Scenarios 2-4: what ran the training steps (ONNX Runtime with its provider, or TensorFlow.js on
   * the backend above and why); absent in older runs, which trained on TensorFlow.js.
   */
  training?: InferenceInfo;
  /** The server the engine ran on (an engine over ssh); absent: this machine. */
  server?: EngineServerInfo;
}

/** Where the engine runs: '' for this machine, else ssh://[user@]host[:port][/path to transfer-studio]. */
export const engineAddressSchema = z
  .string()
  .trim()
  .max(500)
  .refine((v) => v === '' || v.startsWith('ssh://'), 'this machine (empty) or a server as ssh://[user@]host[:port][/path]');

export interface EngineSetting {
  engine: string;
  /** Set by TRANSFER_STUDIO_ENGINE or --engine for this session: the saved setting is not used. */
  fixed: boolean;
}

/** What an engine reported when the studio started it to test the connection ("Test connection"). */
export interface EngineTestInfo {
  version: string;
  hostname: string;
  backend: BackendInfo;
  /** The accelerator it found (a CUDA / DirectML / CoreML provider, TensorFlow's GPU build), or null: CPU only. */
  gpu: string | null;
  freeMemoryBytes: number;
  totalMemoryBytes: number;
  /** Free disk of a server engine's cache folder. */
  freeDiskBytes?: number;
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
export type RunKind = 'train' | 'cv';

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
  /** The sweep it belongs to, and its fold in a k-fold sweep (0-based). */
  sweepId: number | null;
  fold: number | null;
  /**
   * 'train': a trained model. 'cv': no model of its own, the out-of-fold predictions of a k-fold
   * configuration (each labelled image predicted by the fold run that did not train on it).
   */
  kind: RunKind;
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
