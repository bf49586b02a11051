/** A run's predictions (or an ensemble's, several runs' averaged): evaluation views and label suggestions. */
import { z } from 'zod';
import { splitSchema, type Split } from './project';
import type { ConfusionMatrix } from './training';

/** Most runs one ensemble averages. */
export const MAX_ENSEMBLE = 50;

/**
 * An ensemble: runs whose class probabilities are averaged image by image (classes matched by
 * name; every member must have the same classes). Two runs at least, each once.
 */
export const ensembleRunsSchema = z
  .array(z.number().int().positive())
  .min(2, 'an ensemble takes two runs or more')
  .max(MAX_ENSEMBLE)
  .refine((runs) => new Set(runs).size === runs.length, { message: 'a run is listed twice' });

/** Whose predictions a view shows: one run, or an ensemble (two runs or more, averaged). */
export type PredictionSource = { runId: number } | { runs: number[] };

/** Where predictions come from: one run (`runId`) or an ensemble (`runs`), never both. */
export const oneRunSource = (v: { runId?: number | undefined; runs?: number[] | undefined }): boolean => v.runId === undefined || v.runs === undefined;
export const oneRunSourceMessage = { message: 'give runId or runs (an ensemble), not both', path: ['runs'] };

export const PREDICTION_SORTS = ['imported', 'loss', 'confidence-asc', 'confidence-desc'] as const;
export const predictionQuerySchema = z
  .object({
    /** The run whose predictions are listed; or `runs`: an ensemble's, its members' probabilities averaged. */
    runId: z.number().int().positive().optional(),
    runs: ensembleRunsSchema.optional(),
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
  .strict()
  .refine(oneRunSource, oneRunSourceMessage)
  .refine((v) => v.runId !== undefined || v.runs !== undefined, { message: 'give runId or runs', path: ['runId'] });
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

/** One run's or the ensemble's score on the images an ensemble is compared on. */
export interface EnsembleScore {
  accuracy: number;
  /** Mean cross-entropy: -log p(label). */
  loss: number;
}

/**
 * By how much an ensemble beats its best member, on the validation images every member
 * predicted (their stored predictions: TTA ones where the members were predicted with TTA).
 */
export interface EnsembleSummary {
  runs: number[];
  /** In the first member's order (the others are matched by name). */
  classNames: string[];
  /**
   * The images compared on: the validation split; 'none' when a member is a fold model of a k-fold
   * sweep (it trained on the other folds, validation images included, so no labelled image is
   * unseen by every member: the gain cannot be measured; `folds` says what estimates one member).
   */
  on: 'validation' | 'none';
  images: number;
  /** Each member's score (empty when no validation image was predicted by every member). */
  members: (EnsembleScore & { runId: number })[];
  /** The member with the best accuracy (then the lowest loss); null without images. */
  best: (EnsembleScore & { runId: number }) | null;
  ensemble: EnsembleScore | null;
  /** Ensemble minus best member: accuracy points gained, and loss reduced (positive: the ensemble is better). */
  gain: { accuracy: number; loss: number } | null;
  /** The ensemble's confusion matrix on those images (epoch 0: not a training epoch). */
  confusion: ConfusionMatrix | null;
  /** The test-time views of the predictions compared; null: members or images differ. */
  views: string[] | null;
  /**
   * When members are fold models of a k-fold sweep: the sweep, K, and the configuration's
   * out-of-fold run and accuracy (each labelled image predicted by the fold model that did not
   * train on it: the estimate of one fold model's accuracy; null until every fold succeeded).
   */
  folds: { sweepId: number; k: number | null; cvRunId: number | null; outOfFoldAccuracy: number | null } | null;
}
