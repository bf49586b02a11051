/** The data audit: label issues, near-duplicates and leaks, the embedding map, label next. */
import { z } from 'zod';
import { splitSchema, type Split } from './project';

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

/**
 * How the pixel check lined two near-duplicates up: as they are (within a pixel), shifted, rescaled
 * (one cropped, padded or resized against the other) or mirrored (and possibly rescaled).
 */
export const DUPLICATE_MATCHES = ['aligned', 'shifted', 'rescaled', 'mirrored'] as const;
export type DuplicateMatch = (typeof DUPLICATE_MATCHES)[number];

/**
 * The pixel correlation each match must reach to make a pair (audit/near-duplicates.ts decides
 * with them; the leak view measures a pair's margin from them). The looser the alignment, the
 * stricter the threshold: 'rescaled' and 'mirrored' from the benchmark's curve (bench/audit.ts), and
 * below near-duplicates.ts's TRANSFORMED_SURE only for a pair that stands out among its images'
 * other alignments. A pair that stands out far, its edges agreeing, is kept down to that module's
 * FLOOR: its margin is negative, and the leak view calls it doubtful.
 */
export const DUPLICATE_THRESHOLDS: Readonly<Record<DuplicateMatch, number>> = { aligned: 0.98, shifted: 0.99, rescaled: 0.985, mirrored: 0.985 };
/** A pair within this of its threshold is doubtful: the leak view says so. */
export const DOUBTFUL_MARGIN = 0.005;

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
  /** ...found at a shift of more than one pixel (any match but 'aligned'). */
  shifted: boolean;
  /** How the thumbnails were lined up for that correlation. */
  match: DuplicateMatch;
  /** The pixel correlation's margin over its match's threshold (DUPLICATE_THRESHOLDS): under DOUBTFUL_MARGIN, a doubtful pair to look at. */
  margin: number;
  /** Correlation of their edges once lined up: the second look a doubtful alignment gets (a pair under its pixel threshold is kept by it), null when not measured. */
  edges: number | null;
  /** The pixel correlation with both thumbnails smoothed (a copy's recompression and resampling noise gone): what a pair below the sure level must stand out by. Null when not measured. */
  smoothed: number | null;
  /**
   * The next best match: the best score either image has with a third image (not the other, nor its
   * sure copy), as the pair's standing is measured (smoothed where it was). A pair below the sure
   * level was kept by standing out from it (or from the next best in pixels), or by its edges; null
   * where neither image had another.
   */
  rival: number | null;
  /** Correlation of their foregrounds as lined up (the texture inside the silhouettes): a pair may be kept by it standing out. Null when not measured. */
  interior: number | null;
  /** The best interior correlation either image has with a third, as `rival` is for the pair's standing: what its interiors stood out from. Null where not measured or neither image had another. */
  interiorRival: number | null;
}

const MATCH_TEXT: Record<DuplicateMatch, string> = { aligned: '', shifted: ' (shifted)', rescaled: ' (rescaled: cropped, padded or resized)', mirrored: ' (mirrored)' };

/** How many times as far from identical the next best match is: ' (3.1× as far off)', nothing when the pair is identical. */
function standingOut(standing: number, rival: number): string {
  return standing < 1 ? ` (${((1 - rival) / (1 - standing)).toFixed(1)}× as far off)` : '';
}

/** One pair's distances in words, doubtful ones said so (the leak view, the audit export). */
export function describeDuplicatePair(p: DuplicatePairInfo): string {
  const parts = [`hash ${p.hamming} bit${p.hamming === 1 ? '' : 's'} apart`, `pixels ${p.pixel.toFixed(3)}${MATCH_TEXT[p.match]}`];
  parts.splice(1, 0, p.cosine !== null ? `features cosine ${p.cosine.toFixed(3)}` : 'features not among the nearest');
  if (p.smoothed !== null) parts.push(`smoothed ${p.smoothed.toFixed(3)}`);
  if (p.rival !== null) parts.push(`next best match ${p.rival.toFixed(3)}${p.smoothed !== null ? ' smoothed' : ''}${standingOut(p.smoothed ?? p.pixel, p.rival)}`);
  if (p.edges !== null) parts.push(`edges ${p.edges.toFixed(3)}`);
  if (p.interior !== null) parts.push(`interiors ${p.interior.toFixed(3)}${p.interiorRival !== null ? `, next best ${p.interiorRival.toFixed(3)}${standingOut(p.interior, p.interiorRival)}` : ''}`);
  if (p.margin < DOUBTFUL_MARGIN) parts.push(`doubtful: ${p.margin.toFixed(3)} over the threshold`);
  return parts.join(' · ');
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
