/**
 * Opening a project database safely: every way a file can be wrong (not a project, corrupt,
 * locked, read-only, from a newer app) becomes a specific StudioError, and nothing is written
 * to a database we refuse.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StudioError } from '../../shared/errors';
import { diskFullError } from '../../shared/node/disk-full';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations';
import { auditDatabase, distrust, nativeBinding } from './project-audit';

export const DB_FILE = 'project.sqlite';
export type DB = Database.Database;


function sqliteCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
}

/** Maps a SQLite failure on `file` to the message a user can act on. */
export function mapSqliteError(err: unknown, file: string): StudioError {
  const code = sqliteCode(err);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new StudioError('corrupt_database', `${file} is damaged or is not a SQLite database; it was left untouched.`);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return new StudioError('locked', `${file} is locked by another program (another studio window?). Close it and try again.`);
  if (code === 'SQLITE_FULL') return diskFullError(err, path.dirname(file))!;
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM')
    return new StudioError('read_only', `${file} cannot be written (read-only file or folder, or no permission).`);
  return StudioError.from(err);
}

function canWrite(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens (and migrates) the project database in `dir`. With `create`, makes a new one; the
 * folder must then be empty of any existing project.
 */
export function openDatabase(dir: string, opts: { create: boolean }): DB {
  const file = path.join(dir, DB_FILE);
  const exists = fs.existsSync(file);
  if (opts.create && exists) throw new StudioError('conflict', `${dir} already holds a project; open it instead.`, 'dir');
  if (!opts.create && !exists) {
    const why = fs.existsSync(dir) ? `has no ${DB_FILE}` : 'does not exist';
    throw new StudioError('not_a_project', `${dir} is not a Transfer Studio project: the folder ${why}.`, 'dir');
  }
  if (!opts.create && (!canWrite(file) || !canWrite(dir)))
    throw new StudioError('read_only', `${file} cannot be written (read-only file or folder, or no permission); it was not opened.`);

  let db: DB | undefined;
  try {
    db = new Database(file, { fileMustExist: !opts.create, timeout: 2000, ...(nativeBinding ? { nativeBinding } : {}) });
    distrust(db);
    // Read the version before anything writes: a newer or foreign file must stay byte-identical.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new StudioError(
        'newer_schema',
        `${dir} was saved by a newer Transfer Studio (schema ${version}; this version understands up to ${SCHEMA_VERSION}). Update the app to open it.`,
      );
    if (!opts.create && version === 0)
      throw new StudioError('not_a_project', `${file} is a SQLite database but not a Transfer Studio project.`, 'dir');
    if (!opts.create) refuseUntrusted(db, version, file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    migrate(db, version);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof StudioError) throw err;
    throw mapSqliteError(err, file);
  }
}

/** Findings listed in a refusal (their count is given). */
const REFUSAL_LIST = 20;

/** Refuses a database holding what the studio never writes (project-audit.ts), before anything of it runs or is written. */
function refuseUntrusted(db: DB, version: number, file: string): void {
  const findings = auditDatabase(db, version);
  if (findings.length === 0) return;
  const more = findings.length > REFUSAL_LIST ? `; and ${findings.length - REFUSAL_LIST} more` : '';
  throw new StudioError(
    'corrupt_database',
    `${file} holds what Transfer Studio does not write, so it was not opened and nothing in it was run or changed: ${findings.slice(0, REFUSAL_LIST).join('; ')}${more}.`,
  );
}

function migrate(db: DB, from: number): void {
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
