/**
 * Where images come from. Images keep a path relative to their source's root, so a moved
 * folder is fixed by updating one row, after checking a sample of its files at the new place.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SourceKind, SourceStatus } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';

interface SourceRow {
  id: number;
  kind: SourceKind;
  root: string;
  description: string;
  imported_at: string;
}

export function addSource(db: DB, kind: SourceKind, root: string, description = ''): number {
  const info = db
    .prepare('INSERT INTO sources (kind, root, description, imported_at) VALUES (?, ?, ?, ?)')
    .run(kind, root, description, new Date().toISOString());
  return Number(info.lastInsertRowid);
}

/** The source already imported from `root` as `kind` (importing the same place again reuses it). */
export function findSource(db: DB, kind: SourceKind, root: string): number | undefined {
  return (db.prepare('SELECT id FROM sources WHERE kind = ? AND root = ?').get(kind, root) as { id: number } | undefined)?.id;
}

export function getSource(db: DB, id: number): SourceRow {
  const row = db.prepare('SELECT id, kind, root, description, imported_at FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
  if (!row) throw new StudioError('not_found', `There is no image source with id ${id}.`, 'id');
  return row;
}

/** Removes a source that ended up with no images (an import that added nothing). */
export function dropSourceIfEmpty(db: DB, id: number): boolean {
  const used = db.prepare('SELECT 1 FROM images WHERE source_id = ? LIMIT 1').get(id);
  if (used) return false;
  db.prepare('DELETE FROM sources WHERE id = ?').run(id);
  return true;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function sourcesStatus(db: DB): SourceStatus[] {
  const rows = db
    .prepare(
      `SELECT s.id, s.kind, s.root, s.description, s.imported_at, (SELECT COUNT(*) FROM images i WHERE i.source_id = s.id) AS images
       FROM sources s ORDER BY s.id`,
    )
    .all() as (SourceRow & { images: number })[];
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    root: r.root,
    description: r.description,
    importedAt: r.imported_at,
    images: r.images,
    exists: isDir(r.root),
  }));
}

/** Up to `n` images of a source spread evenly over it (deterministic). */
export function sampleSourceImages(db: DB, sourceId: number, n: number): { id: number; rel: string; hash: string }[] {
  const total = (db.prepare('SELECT COUNT(*) AS n FROM images WHERE source_id = ?').get(sourceId) as { n: number }).n;
  if (total === 0) return [];
  const step = Math.max(1, Math.floor(total / n));
  return db
    .prepare(
      `SELECT id, rel, hash FROM (
         SELECT id, rel_path AS rel, hash, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM images WHERE source_id = ?
       ) WHERE k % ? = 0 LIMIT ?`,
    )
    .all(sourceId, step, n) as { id: number; rel: string; hash: string }[];
}

export function setSourceRoot(db: DB, id: number, root: string): void {
  getSource(db, id);
  db.prepare('UPDATE sources SET root = ? WHERE id = ?').run(path.resolve(root), id);
}
