/** Images: import, gallery, labels, splits. */
import { z } from 'zod';
import type { Split } from './project';

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
  /** Said about the import as a whole: class names created that a spreadsheet would read as formulas. */
  warnings?: string[];
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
