/**
 * Typed queries on images for the gallery, labelling and splits. Every listing is served by an
 * index at 100,000 rows (see migration 2); sets of ids travel to SQLite as one JSON array.
 */
import path from 'node:path';
import type { ImageDetails, ImageFilter, ImageRow, ImageSort, LabelGroup, Split, SplitGroup, SplitSummary } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { seededRandom } from '../../shared/random';
import { ensureClasses, findClassByName, getClass } from './classes';
import { imageFilePath } from './image-files';
import { saveFingerprints } from './fingerprints';
import type { DB } from './open-database';

export const MAX_PAGE = 500;

type Param = string | number;

function whereClause(f: ImageFilter = {}): { sql: string; params: Param[] } {
  const parts: string[] = [];
  const params: Param[] = [];
  if (f.classId === 'unlabelled') parts.push('class_id IS NULL');
  else if (f.classId !== undefined) {
    parts.push('class_id = ?');
    params.push(f.classId);
  }
  if (f.split !== undefined) {
    parts.push('split = ?');
    params.push(f.split);
  }
  if (f.sourceId !== undefined) {
    parts.push('source_id = ?');
    params.push(f.sourceId);
  }
  if (f.name !== undefined && f.name.trim() !== '') {
    parts.push("file_name LIKE ? ESCAPE '\\'");
    params.push(`%${f.name.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

function orderClause(sort: ImageSort = { by: 'imported', desc: false }): string {
  const dir = sort.desc ? 'DESC' : 'ASC';
  switch (sort.by) {
    case 'name':
      return `ORDER BY file_name ${dir}, id ${dir}`;
    case 'class':
      // Classes in id (creation) order, unlabelled first; import order within a class.
      return `ORDER BY class_id ${dir}, id ${dir}`;
    default:
      return `ORDER BY id ${dir}`;
  }
}

const ROW_COLUMNS = 'id, file_name AS fileName, class_id AS classId, split, width, height';

export function listImages(db: DB, q: { filter?: ImageFilter; sort?: ImageSort; offset?: number; limit?: number }): { rows: ImageRow[]; total: number } {
  const { sql, params } = whereClause(q.filter);
  const limit = Math.min(Math.max(q.limit ?? 100, 0), MAX_PAGE);
  const offset = Math.max(q.offset ?? 0, 0);
  const rows = db.prepare(`SELECT ${ROW_COLUMNS} FROM images ${sql} ${orderClause(q.sort)} LIMIT ? OFFSET ?`).all(...params, limit, offset) as ImageRow[];
  return { rows, total: countImages(db, q.filter) };
}

export function countImages(db: DB, filter?: ImageFilter): number {
  const { sql, params } = whereClause(filter);
  return (db.prepare(`SELECT COUNT(*) AS n FROM images ${sql}`).get(...params) as { n: number }).n;
}

/** The plan SQLite picks for a listing (benchmarks and tests check that it uses an index). */
export function explainListImages(db: DB, filter?: ImageFilter, sort?: ImageSort): string[] {
  const { sql, params } = whereClause(filter);
  return (db.prepare(`EXPLAIN QUERY PLAN SELECT ${ROW_COLUMNS} FROM images ${sql} ${orderClause(sort)} LIMIT 100 OFFSET 0`).all(...params) as { detail: string }[]).map(
    (r) => r.detail,
  );
}

/** Every id matching the filter, in import order (select-all). */
export function imageIds(db: DB, filter?: ImageFilter): number[] {
  const { sql, params } = whereClause(filter);
  return db.prepare(`SELECT id FROM images ${sql} ORDER BY id`).pluck().all(...params) as number[];
}

export function imageDetails(db: DB, id: number): Omit<ImageDetails, 'exists'> {
  const row = db
    .prepare(
      `SELECT i.id, i.file_name AS fileName, i.class_id AS classId, i.split, i.width, i.height, c.name AS className,
              i.rel_path AS relPath, i.source_id AS sourceId, s.root AS root, i.hash, i.bytes, i.format, i.imported_at AS importedAt
       FROM images i JOIN sources s ON s.id = i.source_id LEFT JOIN classes c ON c.id = i.class_id WHERE i.id = ?`,
    )
    .get(id) as (Omit<ImageDetails, 'exists' | 'path'> & { root: string }) | undefined;
  if (!row) throw new StudioError('not_found', `There is no image with id ${id}.`, 'id');
  const { root, ...rest } = row;
  return { ...rest, path: imageFilePath(root, row.relPath) };
}

/** An image an import read, to be stored. */
export interface NewImage {
  /** Relative to the source's root, '/' separators. */
  relPath: string;
  hash: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  split: Split;
  /** Class name; a class that does not exist yet is created. */
  label: string | null;
  /** Its perceptual fingerprint (stored by content hash). */
  fingerprint?: { phash: string; width: number; height: number; pixels: Uint8Array } | undefined;
}

/**
 * Adds images of source `sourceId` in one transaction, creating the classes their labels name.
 * An image whose content the project already holds (another import added it meanwhile) is not
 * added and comes back in `notAdded`.
 */
export function addImages(db: DB, sourceId: number, images: readonly NewImage[]): { added: number; notAdded: NewImage[]; classesCreated: string[] } {
  const insert = db.prepare(
    `INSERT INTO images (source_id, rel_path, file_name, hash, bytes, width, height, format, split, class_id, imported_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING`,
  );
  return db.transaction(() => {
    const names = [...new Set(images.map((r) => r.label).filter((l): l is string => l !== null))];
    const classesCreated = names.filter((n) => !findClassByName(db, n));
    const ids = ensureClasses(db, names);
    const now = new Date().toISOString();
    let added = 0;
    const notAdded: NewImage[] = [];
    for (const img of images) {
      const info = insert.run(
        sourceId,
        img.relPath,
        path.basename(img.relPath),
        img.hash,
        img.bytes,
        img.width,
        img.height,
        img.format,
        img.split,
        img.label === null ? null : ids.get(img.label)!,
        now,
      );
      if (info.changes === 1) added++;
      else notAdded.push(img);
    }
    saveFingerprints(db, images.flatMap((img) => (img.fingerprint ? [{ hash: img.hash, ...img.fingerprint }] : [])));
    return { added, notAdded, classesCreated };
  })();
}

function groupsOf(db: DB, column: 'class_id', idsJson: string): LabelGroup[] {
  const rows = db
    .prepare(`SELECT ${column} AS classId, json_group_array(id) AS ids FROM images WHERE id IN (SELECT value FROM json_each(?)) GROUP BY ${column}`)
    .all(idsJson) as { classId: number | null; ids: string }[];
  return rows.map((r) => ({ classId: r.classId, ids: JSON.parse(r.ids) as number[] }));
}

/** Labels `ids` with `classId` (null = unlabelled); returns the labels they had, for undo. */
export function setLabels(db: DB, ids: readonly number[], classId: number | null): { previous: LabelGroup[]; changed: number } {
  if (classId !== null) getClass(db, classId);
  const json = JSON.stringify(ids);
  return db.transaction(() => {
    const previous = groupsOf(db, 'class_id', json);
    const changed = db.prepare('UPDATE images SET class_id = ? WHERE id IN (SELECT value FROM json_each(?)) AND class_id IS NOT ?').run(classId, json, classId).changes;
    return { previous, changed };
  })();
}

/** Puts labels back as `setLabels` reported them (undo); returns the labels it replaced (redo). */
export function restoreLabels(db: DB, groups: readonly LabelGroup[]): { previous: LabelGroup[]; changed: number } {
  for (const g of groups) if (g.classId !== null) getClass(db, g.classId);
  return db.transaction(() => {
    const previous = groupsOf(db, 'class_id', JSON.stringify(groups.flatMap((g) => g.ids)));
    let changed = 0;
    const upd = db.prepare('UPDATE images SET class_id = ? WHERE id IN (SELECT value FROM json_each(?)) AND class_id IS NOT ?');
    for (const g of groups) changed += upd.run(g.classId, JSON.stringify(g.ids), g.classId).changes;
    return { previous, changed };
  })();
}

function splitGroupsOf(db: DB, idsJson: string): SplitGroup[] {
  const rows = db
    .prepare('SELECT split, json_group_array(id) AS ids FROM images WHERE id IN (SELECT value FROM json_each(?)) GROUP BY split')
    .all(idsJson) as { split: Split; ids: string }[];
  return rows.map((r) => ({ split: r.split, ids: JSON.parse(r.ids) as number[] }));
}

/** Moves `ids` to `split`; returns the splits they were in, for undo. */
export function setSplit(db: DB, ids: readonly number[], split: Split): { changed: number; previous: SplitGroup[] } {
  const json = JSON.stringify(ids);
  return db.transaction(() => {
    const previous = splitGroupsOf(db, json);
    const changed = db.prepare('UPDATE images SET split = ? WHERE id IN (SELECT value FROM json_each(?)) AND split <> ?').run(split, json, split).changes;
    return { changed, previous };
  })();
}

/** Puts splits back as `setSplit` reported them (undo); returns the splits it replaced (redo). */
export function restoreSplits(db: DB, groups: readonly SplitGroup[]): { changed: number; previous: SplitGroup[] } {
  return db.transaction(() => {
    const previous = splitGroupsOf(db, JSON.stringify(groups.flatMap((g) => g.ids)));
    let changed = 0;
    const upd = db.prepare('UPDATE images SET split = ? WHERE id IN (SELECT value FROM json_each(?)) AND split <> ?');
    for (const g of groups) changed += upd.run(g.split, JSON.stringify(g.ids), g.split).changes;
    return { changed, previous };
  })();
}

/** Moves every image of the `from` classes into `into` and deletes the `from` classes. */
export function mergeClasses(db: DB, from: readonly number[], into: number): { moved: number } {
  getClass(db, into);
  const sources = [...new Set(from)].filter((id) => id !== into);
  if (sources.length === 0) throw new StudioError('bad_input', 'Choose at least one class other than the one merged into.', 'from');
  for (const id of sources) getClass(db, id);
  return db.transaction(() => {
    let moved = 0;
    for (const id of sources) {
      moved += db.prepare('UPDATE images SET class_id = ? WHERE class_id = ?').run(into, id).changes;
      db.prepare('DELETE FROM classes WHERE id = ?').run(id);
    }
    return { moved };
  })();
}

/** FNV-1a of a class name (case-folded): the per-class stream does not depend on ids. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of name.toLowerCase()) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193);
  return h >>> 0;
}

/**
 * Splits the labelled, non-test images into train and val class by class: each class gets
 * round(n * valFraction) val images (at least 1 when it has 2 or more and valFraction > 0,
 * always at least 1 train image). Images are ordered by content hash and shuffled with the
 * seed, so the same images and seed give the same split whatever the import order.
 * Unlabelled and test images are not touched.
 */
export function stratifiedSplit(db: DB, valFraction: number, seed: number): SplitSummary {
  if (!(valFraction >= 0 && valFraction < 1)) throw new StudioError('bad_input', 'The validation fraction must be at least 0 and below 1.', 'val');
  const classes = db.prepare('SELECT id, name FROM classes ORDER BY position, id').all() as { id: number; name: string }[];
  const ids = db.prepare("SELECT id FROM images WHERE class_id = ? AND split <> 'test' ORDER BY hash").pluck();
  const update = db.prepare('UPDATE images SET split = ? WHERE id IN (SELECT value FROM json_each(?))');
  return db.transaction(() => {
    const perClass: SplitSummary['perClass'] = [];
    for (const c of classes) {
      const list = ids.all(c.id) as number[];
      if (list.length === 0) continue;
      const rnd = seededRandom((seed ^ nameHash(c.name)) >>> 0);
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
      let nVal = Math.round(list.length * valFraction);
      if (valFraction > 0 && list.length >= 2) nVal = Math.max(1, nVal);
      nVal = Math.min(nVal, list.length - 1);
      nVal = Math.max(0, nVal);
      update.run('val', JSON.stringify(list.slice(0, nVal)));
      update.run('train', JSON.stringify(list.slice(nVal)));
      perClass.push({ classId: c.id, name: c.name, train: list.length - nVal, val: nVal });
    }
    return { train: perClass.reduce((s, c) => s + c.train, 0), val: perClass.reduce((s, c) => s + c.val, 0), perClass };
  })();
}
