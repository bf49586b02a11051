/**
 * Removing images from the project with an undo (a leak's "keep one"). The image rows and every
 * row that references them (predictions, confirmation, audit scores, cluster memberships and pairs,
 * map points, label-next scores) are kept as JSON in `removals`, then deleted; undo inserts them
 * back with their own ids. The files on disk are never touched.
 */
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';

/** Tables whose rows point at an image, and the columns that do. */
const DEPENDENTS: readonly { table: string; columns: readonly string[] }[] = [
  { table: 'predictions', columns: ['image_id'] },
  { table: 'label_confirmations', columns: ['image_id'] },
  { table: 'audit_scores', columns: ['image_id'] },
  { table: 'duplicate_members', columns: ['image_id'] },
  { table: 'duplicate_pairs', columns: ['a', 'b'] },
  { table: 'map_points', columns: ['image_id'] },
  { table: 'label_next_scores', columns: ['image_id'] },
];

type Row = Record<string, unknown>;
interface Payload {
  images: Row[];
  dependents: { table: string; rows: Row[] }[];
}

/** Blobs as { $blob: base64 } so a row survives JSON. */
const encode = (row: Row): Row => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? { $blob: v.toString('base64') } : v]));
const decode = (row: Row): Row =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v !== null && typeof v === 'object' && '$blob' in v ? Buffer.from(String((v as { $blob: string }).$blob), 'base64') : v]));

function insertRow(db: DB, table: string, row: Row): void {
  const cols = Object.keys(row);
  db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
}

/** Removes images (and what references them) in one transaction; returns the removal's id for undo. */
export function removeImages(db: DB, ids: readonly number[], reason: string): { removed: number; removalId: number } {
  const json = JSON.stringify(ids);
  return db.transaction(() => {
    const images = (db.prepare('SELECT * FROM images WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id').all(json) as Row[]).map(encode);
    const dependents = DEPENDENTS.map(({ table, columns }) => ({
      table,
      rows: (db.prepare(`SELECT * FROM ${table} WHERE ${columns.map((c) => `${c} IN (SELECT value FROM json_each(?))`).join(' OR ')}`).all(...columns.map(() => json)) as Row[]).map(encode),
    }));
    const payload: Payload = { images, dependents };
    const removalId = Number(
      db.prepare('INSERT INTO removals (reason, payload, created_at) VALUES (?, ?, ?)').run(reason, JSON.stringify(payload), new Date().toISOString()).lastInsertRowid,
    );
    const removed = db.prepare('DELETE FROM images WHERE id IN (SELECT value FROM json_each(?))').run(json).changes;
    return { removed, removalId };
  })();
}

const isConstraint = (e: unknown): boolean => typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');

/**
 * Puts a removal's images back with their ids, labels (unless the class was deleted since) and
 * splits, then the rows that referenced them (those whose other end is gone, say a deleted run's
 * predictions, stay out). An image whose id or content is in the project again is skipped.
 */
export function undoRemoval(db: DB, removalId: number): { restored: number; skipped: { imageId: number; reason: string }[] } {
  const r = db.prepare('SELECT payload, undone_at AS undoneAt FROM removals WHERE id = ?').get(removalId) as { payload: string; undoneAt: string | null } | undefined;
  if (!r) throw new StudioError('not_found', `There is no removal ${removalId} to undo.`, 'removalId');
  if (r.undoneAt !== null) throw new StudioError('conflict', `Removal ${removalId} was already undone.`, 'removalId');
  const payload = JSON.parse(r.payload) as Payload;
  return db.transaction(() => {
    const skipped: { imageId: number; reason: string }[] = [];
    let restored = 0;
    const taken = db.prepare('SELECT 1 FROM images WHERE id = ?').pluck();
    const sameContent = db.prepare('SELECT id FROM images WHERE hash = ?').pluck();
    const source = db.prepare('SELECT 1 FROM sources WHERE id = ?').pluck();
    const klass = db.prepare('SELECT 1 FROM classes WHERE id = ?').pluck();
    for (const raw of payload.images) {
      const row = decode(raw);
      const id = Number(row.id);
      const twin = sameContent.get(row.hash) as number | undefined;
      if (taken.get(id)) skipped.push({ imageId: id, reason: `image id ${id} belongs to another image now` });
      else if (twin !== undefined) skipped.push({ imageId: id, reason: `the same image is in the project again (image ${twin})` });
      else if (!source.get(row.source_id)) skipped.push({ imageId: id, reason: 'its import source is gone' });
      else {
        if (row.class_id !== null && !klass.get(row.class_id)) row.class_id = null;
        insertRow(db, 'images', row);
        restored++;
      }
    }
    for (const { table, rows } of payload.dependents) {
      for (const raw of rows) {
        try {
          insertRow(db, table, decode(raw));
        } catch (e) {
          // What it pointed at is gone (a skipped image, a deleted run or class, a newer audit): it stays out.
          if (!isConstraint(e)) throw e;
        }
      }
    }
    db.prepare('UPDATE removals SET undone_at = ? WHERE id = ?').run(new Date().toISOString(), removalId);
    return { restored, skipped };
  })();
}
