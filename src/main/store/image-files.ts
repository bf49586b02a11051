/**
 * Images resolved to the files behind them. An image row keeps its path relative to its source's
 * root ('/' separators, see media/import.ts), so a moved folder is fixed in one row; every query
 * here joins the source and resolves the path the same way (`imageFilePath`).
 */
import path from 'node:path';
import type { Split } from '../../shared/domain';
import type { DB } from './open-database';

/** An image with its source, its current label and the absolute path of its file. */
export interface ImageFile {
  id: number;
  /** Absolute path of the file: the source root joined with `relPath`. */
  path: string;
  sourceId: number;
  root: string;
  /** Relative to `root`, '/' separators. */
  relPath: string;
  fileName: string;
  hash: string;
  split: Split;
  classId: number | null;
  className: string | null;
}

/**
 * The file of an image: its source root joined with its relative path. rel_path has been stored
 * with '/' separators since the first import; a backslash is part of a file name on POSIX (and
 * cannot be in one on Windows), so it is not treated as a separator.
 */
export function imageFilePath(root: string, relPath: string): string {
  return path.join(root, ...relPath.split('/'));
}

const COLUMNS = `i.id, i.source_id AS sourceId, s.root, i.rel_path AS relPath, i.file_name AS fileName, i.hash, i.split,
  i.class_id AS classId, c.name AS className`;
const FROM = 'FROM images i JOIN sources s ON s.id = i.source_id LEFT JOIN classes c ON c.id = i.class_id';

type Row = Omit<ImageFile, 'path'>;
const withPath = <R extends Row>(r: R): R & { path: string } => ({ ...r, path: imageFilePath(r.root, r.relPath) });

function select(db: DB, where: string, order: string, params: unknown[] = [], extra = ''): ImageFile[] {
  return (db.prepare(`SELECT ${COLUMNS}${extra} ${FROM} ${where} ${order}`).all(...params) as Row[]).map(withPath);
}

const splitsIn = (splits: readonly Split[]): string => `i.split IN (${splits.map(() => '?').join(',')})`;

/** The file of image `id`, or null for an unknown id. */
export function imageFile(db: DB, id: number): ImageFile | null {
  return select(db, 'WHERE i.id = ?', '', [id])[0] ?? null;
}

/** Every image (or those of `splits`), in import order. */
export function imageFiles(db: DB, splits?: readonly Split[]): ImageFile[] {
  return splits ? select(db, `WHERE ${splitsIn(splits)}`, 'ORDER BY i.id', [...splits]) : select(db, '', 'ORDER BY i.id');
}

/** The training set: labelled train and validation images, in import order. */
export function trainingImages(db: DB): (ImageFile & { classId: number; split: 'train' | 'val' })[] {
  return select(db, "WHERE i.class_id IS NOT NULL AND i.split IN ('train', 'val')", 'ORDER BY i.id') as (ImageFile & { classId: number; split: 'train' | 'val' })[];
}

/** Labelled images (of `splits`, else all), class by class in the classes' order, import order within a class. */
export function labelledImageFiles(db: DB, splits?: readonly Split[]): (ImageFile & { className: string })[] {
  const where = `WHERE i.class_id IS NOT NULL${splits ? ` AND ${splitsIn(splits)}` : ''}`;
  return select(db, where, 'ORDER BY c.position, c.id, i.id', splits ? [...splits] : []) as (ImageFile & { className: string })[];
}

/** A test image with the kind and description of its source (exports order rows by source). */
export type TestImageFile = ImageFile & { sourceKind: string; sourceDescription: string };

/** The test images, source by source in import order. */
export function testImageFiles(db: DB): TestImageFile[] {
  return select(db, "WHERE i.split = 'test'", 'ORDER BY i.source_id, i.id', [], ', s.kind AS sourceKind, s.description AS sourceDescription') as TestImageFile[];
}

/** A lookup of the image holding some content (one statement, for lookups file by file). */
export function imageByHash(db: DB): (hash: string) => ImageFile | undefined {
  const stmt = db.prepare(`SELECT ${COLUMNS} ${FROM} WHERE i.hash = ?`);
  return (hash) => {
    const row = stmt.get(hash) as Row | undefined;
    return row && withPath(row);
  };
}
