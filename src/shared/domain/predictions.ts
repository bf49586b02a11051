/** A run's predictions: evaluation views and label suggestions. */
import { z } from 'zod';
import { splitSchema, type Split } from './project';

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
