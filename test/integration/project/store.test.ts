import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../../src/main/store/project-store';
import { SCHEMA_VERSION } from '../../../src/main/store/migrations';
import { StudioError } from '../../../src/shared/errors';
import * as classes from '../../../src/main/store/classes';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) {
    fs.chmodSync(d, 0o755);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return (err as StudioError).code;
  }
  throw new Error('expected an error');
}

const sha = (f: string): string => fs.readFileSync(f).toString('base64');

describe('ProjectStore', () => {
  it('creates a WAL database with foreign keys and the current schema, and reopens it', () => {
    const dir = path.join(tmp(), 'leaves');
    const s = ProjectStore.create(dir, 'Leaves');
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    classes.addClass(s.db, 'oak');
    classes.addClass(s.db, 'maple', '#ff0000');
    s.close();
    const again = ProjectStore.open(dir);
    expect(again.info()).toMatchObject({ name: 'Leaves', schemaVersion: SCHEMA_VERSION });
    expect(classes.listClasses(again.db).map((c) => [c.name, c.color])).toEqual([
      ['oak', '#1c7ed6'],
      ['maple', '#ff0000'],
    ]);
    again.close();
  });

  it('refuses a second project in the same folder and duplicate class names', () => {
    const dir = tmp();
    const s = ProjectStore.create(dir);
    expect(codeOf(() => ProjectStore.create(dir))).toBe('conflict');
    classes.addClass(s.db, 'Oak');
    expect(codeOf(() => classes.addClass(s.db, 'oak'))).toBe('conflict');
    s.close();
  });

  it('says a folder without a project is not a project', () => {
    expect(codeOf(() => ProjectStore.open(tmp()))).toBe('not_a_project');
    expect(codeOf(() => ProjectStore.open(path.join(tmp(), 'missing')))).toBe('not_a_project');
  });

  it('refuses a corrupt file and leaves it byte-identical', () => {
    const dir = tmp();
    const file = path.join(dir, 'project.sqlite');
    fs.writeFileSync(file, Buffer.alloc(8192, 7));
    const before = sha(file);
    expect(codeOf(() => ProjectStore.open(dir))).toBe('corrupt_database');
    expect(sha(file)).toBe(before);
  });

  it('refuses a SQLite file that is not ours', () => {
    const dir = tmp();
    const foreign = new Database(path.join(dir, 'project.sqlite'));
    foreign.exec('CREATE TABLE t (x)');
    foreign.close();
    const before = sha(path.join(dir, 'project.sqlite'));
    expect(codeOf(() => ProjectStore.open(dir))).toBe('not_a_project');
    expect(sha(path.join(dir, 'project.sqlite'))).toBe(before);
  });

  it('migration 7 drops the thumbnails reduced from larger images (blurred at 2 px) and keeps the small ones', () => {
    const dir = tmp();
    ProjectStore.create(dir).close();
    const db = new Database(path.join(dir, 'project.sqlite'));
    const insert = db.prepare('INSERT INTO fingerprints (hash, phash, width, height, pixels) VALUES (?, ?, ?, ?, ?)');
    insert.run('a'.repeat(64), '0'.repeat(16), 32, 24, Buffer.alloc(32 * 24));
    insert.run('b'.repeat(64), '0'.repeat(16), 28, 28, Buffer.alloc(28 * 28));
    db.pragma('user_version = 6');
    db.close();
    const s = ProjectStore.open(dir);
    expect(s.db.prepare('SELECT hash FROM fingerprints').pluck().all()).toEqual(['b'.repeat(64)]);
    s.close();
  });

  it('refuses a project from a newer schema with a clear message and writes nothing', () => {
    const dir = tmp();
    ProjectStore.create(dir).close();
    const db = new Database(path.join(dir, 'project.sqlite'));
    db.pragma('journal_mode = DELETE');
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    const before = sha(path.join(dir, 'project.sqlite'));
    try {
      ProjectStore.open(dir);
      expect.unreachable();
    } catch (err) {
      expect((err as StudioError).code).toBe('newer_schema');
      expect((err as StudioError).message).toMatch(/newer Transfer Studio/);
    }
    expect(sha(path.join(dir, 'project.sqlite'))).toBe(before);
  });

  it('refuses a read-only project without touching it', () => {
    const dir = tmp();
    ProjectStore.create(dir).close();
    const file = path.join(dir, 'project.sqlite');
    const before = sha(file);
    // Root ignores permission bits, so as root (CI) the file is made immutable instead.
    const root = process.getuid?.() === 0;
    if (root) execFileSync('chattr', ['+i', file]);
    else fs.chmodSync(file, 0o444);
    try {
      expect(codeOf(() => ProjectStore.open(dir))).toBe('read_only');
      expect(sha(file)).toBe(before);
    } finally {
      if (root) execFileSync('chattr', ['-i', file]);
    }
  });

  it('reports a database locked by another writer', () => {
    const dir = tmp();
    const s = ProjectStore.create(dir);
    s.close();
    // Another program holds an exclusive lock: opening must fail clearly, not hang or corrupt.
    const other = new Database(path.join(dir, 'project.sqlite'));
    other.pragma('locking_mode = EXCLUSIVE');
    other.exec('BEGIN EXCLUSIVE');
    expect(codeOf(() => ProjectStore.open(dir))).toBe('locked');
    other.exec('ROLLBACK');
    other.close();
  });

  it('marks work that was running at a crash as failed on reopen', () => {
    const dir = tmp();
    const s = ProjectStore.create(dir);
    s.db.prepare(`INSERT INTO jobs (id, kind, state, created_at) VALUES ('j1', 'import', 'running', 'now')`).run();
    s.close();
    const again = ProjectStore.open(dir);
    expect(again.db.prepare(`SELECT state, error_message FROM jobs WHERE id = 'j1'`).get()).toMatchObject({ state: 'failed' });
    again.close();
  });

  it('deleting a class unlabels its images instead of deleting them', () => {
    const s = ProjectStore.create(tmp());
    const c = classes.addClass(s.db, 'oak');
    s.db.prepare(`INSERT INTO sources (kind, root, imported_at) VALUES ('folder', '/x', 'now')`).run();
    s.db
      .prepare(
        `INSERT INTO images (source_id, rel_path, file_name, hash, bytes, width, height, format, split, class_id, imported_at)
         VALUES (1, 'a.png', 'a.png', 'h1', 1, 1, 1, 'png', 'train', ?, 'now')`,
      )
      .run(c.id);
    expect(s.counts()).toMatchObject({ total: 1, unlabelled: 0 });
    classes.deleteClass(s.db, c.id);
    expect(s.counts()).toMatchObject({ total: 1, unlabelled: 1, byClass: [] });
    s.close();
  });
});
