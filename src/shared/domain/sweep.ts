/**
 * Sweeps: a grid of training configurations (every combination of the values given per field),
 * optionally each trained K times on the folds of the labelled images (k-fold cross-validation),
 * executed on this machine or on a Slurm cluster; and the leaderboard of their runs.
 */
import { z } from 'zod';
import { filePath } from './images';
import { scenarioSchema, type RunState, type TrainConfig } from './training';

const layer = z.string().trim().min(1).max(500);
const values = <T extends z.ZodType>(item: T, max = 20) => z.array(item).min(1).max(max);

/** The grid: one list of values per field; fields left out take the scenario's default. */
export const sweepGridSchema = z
  .object({
    scenario: values(scenarioSchema, 4),
    model: values(z.string().trim().min(1).max(500)),
    /** Layers whose output feeds the head (every scenario); default: the model's feature layer. */
    cutLayer: values(layer).optional(),
    /** Last frozen layers: scenario 2's combinations only (the others freeze nothing or everything). */
    freezeTo: values(layer).optional(),
    lr: values(z.number().positive().max(10)).optional(),
    /** Units of the head's hidden layer; 0: no hidden layer (a linear head). */
    headSize: values(z.number().int().min(0).max(4096)).optional(),
    augment: values(z.boolean(), 2).optional(),
    seed: values(z.number().int().min(0).max(2 ** 31 - 1), 100).optional(),
    epochs: values(z.number().int().min(1).max(1000)).optional(),
    patience: values(z.number().int().min(0).max(1000)).optional(),
    batchSize: values(z.number().int().min(1).max(1024)).optional(),
  })
  .strict();
export type SweepGrid = z.infer<typeof sweepGridSchema>;
export type SweepField = keyof SweepGrid;

/** What runs a sweep's tasks: the studio's own job queue, or a Slurm job array. */
export const SWEEP_EXECUTORS = ['local', 'slurm'] as const;
export type SweepExecutorKind = (typeof SWEEP_EXECUTORS)[number];

/** Slurm's words, passed to sbatch as given: only characters its options take (no shell, no spaces). */
const slurmWord = z.string().trim().min(1).max(200).regex(/^[\w.,:=/+-]+$/, 'letters, digits and . , : = / + - only');
export const slurmOptionsSchema = z
  .object({
    partition: slurmWord.optional(),
    /** e.g. gpu:1 */
    gres: slurmWord.optional(),
    /** Each task's time limit, as sbatch --time takes it: MM, HH:MM:SS, D-HH:MM... */
    time: z.string().trim().regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, 'minutes, HH:MM:SS or D-HH:MM:SS').optional(),
    /** A folder every node sees (the run bundles go there). */
    workdir: filePath.min(1).optional(),
    /** The login node, for a studio outside the cluster: the Slurm commands run there over ssh and workdir is its folder (the SSH engine's address form). */
    login: z.string().trim().max(500).startsWith('ssh://', 'the login node as ssh://[user@]host[:port][/path to transfer-studio]').optional(),
  })
  .strict();
export type SlurmOptions = z.infer<typeof slurmOptionsSchema>;

/** Largest number of runs (configurations x folds) one sweep may make. */
export const MAX_SWEEP_RUNS = 500;

export const sweepRequestSchema = z
  .object({
    grid: sweepGridSchema,
    /** k-fold cross-validation: each configuration trained `folds` times, each fold the validation set once. */
    folds: z.number().int().min(2).max(20).optional(),
    /** Seed of the fold dealing (the images' folds, not the training). */
    foldSeed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
    on: z.enum(SWEEP_EXECUTORS).default('local'),
    slurm: slurmOptionsSchema.optional(),
  })
  .strict()
  .refine((v) => v.on === 'slurm' || v.slurm === undefined, { message: 'Slurm options go with on: slurm', path: ['slurm'] });
export type SweepRequest = z.output<typeof sweepRequestSchema>;
export type SweepRequestInput = z.input<typeof sweepRequestSchema>;

/** One run a sweep will make. */
export interface PlannedSweepRun {
  /** Position in the sweep, 0-based. */
  index: number;
  /** The configuration it trains (its row in the leaderboard), 0-based. */
  configIndex: number;
  config: TrainConfig;
  /** The fold it validates on (k-fold), else null. */
  fold: number | null;
  /** The fields that vary across the sweep, in words ("scenario 1, lr 0.001, seed 2"). */
  label: string;
  /** Rough seconds this run takes (at most: early stopping may end it sooner). */
  estimateSeconds: number;
}

export interface SweepPlan {
  runs: PlannedSweepRun[];
  configurations: number;
  folds: number | null;
  /** Labelled images the runs train and validate on. */
  images: number;
  /** The whole sweep's rough time, one run at a time, and where the speed figure came from. */
  estimate: { seconds: number; source: string };
  /**
   * k-fold only: how near-duplicates are kept inside one fold, in words; `audited` false when no
   * audit has looked for them, so copies may straddle folds and flatter the cross-validation score.
   */
  grouping: { audited: boolean; text: string } | null;
}

export type SweepState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface SweepInfo {
  id: number;
  grid: SweepGrid;
  folds: number | null;
  foldSeed: number;
  on: SweepExecutorKind;
  slurm: SlurmOptions | null;
  state: SweepState;
  createdAt: string;
  finishedAt: string | null;
  /** Runs by state (the cross-validation entries not counted). */
  counts: Record<RunState, number>;
}

export interface MeanSd {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  sd: number;
  n: number;
}

export interface LeaderboardRun {
  id: number;
  fold: number | null;
  state: RunState;
  valAcc: number | null;
  valLoss: number | null;
  /** Wall seconds from start to end (null while it runs). */
  seconds: number | null;
  error: string | null;
}

/** A configuration of the sweep: its run, or its K fold runs with mean ± sd. */
export interface LeaderboardRow {
  configIndex: number;
  label: string;
  config: TrainConfig;
  runs: LeaderboardRun[];
  /** Best-epoch validation accuracy and loss over the runs that succeeded. */
  valAcc: MeanSd | null;
  valLoss: MeanSd | null;
  /** Sum of its runs' wall seconds. */
  seconds: number | null;
  state: RunState;
  /** k-fold: the run that holds the out-of-fold predictions of every labelled image (Evaluate opens it). */
  cvRunId: number | null;
  /** k-fold: accuracy of the out-of-fold predictions over every labelled image. */
  oofAcc: number | null;
}

export interface Leaderboard {
  sweep: SweepInfo;
  /** Majority-class share of the validation images (accuracy of always guessing the commonest class). */
  baseline: number | null;
  rows: LeaderboardRow[];
}

/** The result of a sweep job. */
export interface SweepSummary {
  sweepId: number;
  state: SweepState;
  runs: { id: number; state: RunState; error: string | null }[];
}

export type LeaderboardSort = 'acc' | 'loss' | 'time';

/** Rows best first: highest mean validation accuracy, lowest mean loss, or shortest time; rows without the figure last. */
export function sortLeaderboard(rows: readonly LeaderboardRow[], by: LeaderboardSort): LeaderboardRow[] {
  const key = (r: LeaderboardRow): number =>
    by === 'acc' ? -(r.valAcc?.mean ?? -1) : by === 'loss' ? (r.valLoss?.mean ?? Number.POSITIVE_INFINITY) : (r.seconds ?? Number.POSITIVE_INFINITY);
  return [...rows].sort((a, b) => key(a) - key(b) || a.configIndex - b.configIndex);
}
