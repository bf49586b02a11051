/** Typed queries on classes. */
import type { ClassInfo } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { DB } from './open-database';

/** A palette that stays distinguishable in light and dark themes; cycles for many classes. */
const PALETTE = ['#1c7ed6', '#e8590c', '#2f9e44', '#c2255c', '#7048e8', '#0c8599', '#f08c00', '#5c940d', '#d6336c', '#364fc7'];

export function listClasses(db: DB): ClassInfo[] {
  return db.prepare('SELECT id, name, color, position FROM classes ORDER BY position, id').all() as ClassInfo[];
}

export function getClass(db: DB, id: number): ClassInfo {
  const row = db.prepare('SELECT id, name, color, position FROM classes WHERE id = ?').get(id) as ClassInfo | undefined;
  if (!row) throw new StudioError('not_found', `There is no class with id ${id}.`, 'id');
  return row;
}

export function findClassByName(db: DB, name: string): ClassInfo | undefined {
  return db.prepare('SELECT id, name, color, position FROM classes WHERE name = ? COLLATE NOCASE').get(name) as ClassInfo | undefined;
}

function assertFreeName(db: DB, name: string, exceptId?: number): void {
  const other = findClassByName(db, name);
  if (other && other.id !== exceptId) throw new StudioError('conflict', `A class named "${other.name}" already exists.`, 'name');
}

export function addClass(db: DB, name: string, color?: string): ClassInfo {
  assertFreeName(db, name);
  const { n } = db.prepare('SELECT COALESCE(MAX(position) + 1, 0) AS n FROM classes').get() as { n: number };
  const c = color ?? PALETTE[n % PALETTE.length]!;
  const info = db.prepare('INSERT INTO classes (name, color, position) VALUES (?, ?, ?)').run(name, c, n);
  return getClass(db, Number(info.lastInsertRowid));
}

/** Finds or creates classes by name in one transaction (imports name classes by folder or CSV label). */
export function ensureClasses(db: DB, names: Iterable<string>): Map<string, number> {
  const out = new Map<string, number>();
  db.transaction(() => {
    for (const name of names) {
      if (out.has(name)) continue;
      out.set(name, (findClassByName(db, name) ?? addClass(db, name)).id);
    }
  })();
  return out;
}

export function updateClass(db: DB, id: number, patch: { name?: string; color?: string }): ClassInfo {
  getClass(db, id);
  if (patch.name !== undefined) {
    assertFreeName(db, patch.name, id);
    db.prepare('UPDATE classes SET name = ? WHERE id = ?').run(patch.name, id);
  }
  if (patch.color !== undefined) db.prepare('UPDATE classes SET color = ? WHERE id = ?').run(patch.color, id);
  return getClass(db, id);
}

/** Deletes a class; its images become unlabelled (ON DELETE SET NULL). */
export function deleteClass(db: DB, id: number): void {
  getClass(db, id);
  db.prepare('DELETE FROM classes WHERE id = ?').run(id);
}
