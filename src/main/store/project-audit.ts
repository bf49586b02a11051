/**
 * A project's database as untrusted input (a project folder a colleague shares, one downloaded):
 * before anything of it is used, its schema must be exactly the one the migrations make for its
 * version (an unknown trigger would run on the next write, a view could stand in for a table), and
 * the stored paths and hashes that become file names must be what the studio writes (hex hashes;
 * relative paths that stay inside their source's root; roots that are absolute folders).
 * Nothing here writes; the findings name what is wrong, for the refusal and `project check`.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations';

type DB = Database.Database;

interface SchemaEntry {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/**
 * Made by SQLite itself, data and never code: statistics for the planner (ANALYZE, PRAGMA
 * optimize) and the counters of AUTOINCREMENT tables (projects made by older versions have one).
 */
const SQLITE_INTERNAL = /^sqlite_(stat\d|sequence)$/;

/** Electron needs a binary built for its own ABI; the shell passes its path here. */
export const nativeBinding = process.env.TRANSFER_STUDIO_SQLITE_BINDING || undefined;

const expectedByVersion = new Map<number, Map<string, SchemaEntry>>();

/** The schema objects every migration up to `version` makes, by name (replayed once on an empty database). */
function expectedSchema(version: number): Map<string, SchemaEntry> {
  let schema = expectedByVersion.get(version);
  if (!schema) {
    const mem = new Database(':memory:', nativeBinding ? { nativeBinding } : {});
    try {
      for (const m of MIGRATIONS) if (m.version <= version) mem.exec(m.sql);
      schema = new Map(readSchema(mem).map((e) => [e.name, e]));
    } finally {
      mem.close();
    }
    expectedByVersion.set(version, schema);
  }
  return schema;
}

/** The schema's objects, less SQLite's own tables (whether those exist depends on the data, not on us). */
function readSchema(db: DB): SchemaEntry[] {
  const all = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name').all() as SchemaEntry[];
  return all.filter((e) => !(e.type === 'table' && SQLITE_INTERNAL.test(e.name)));
}

const describe = (e: SchemaEntry): string => `${e.type} "${e.name}"${e.type === 'trigger' || e.type === 'index' ? ` on ${e.tbl_name}` : ''}`;

/** Objects of the file's schema that are not the migrations' (unknown, changed) or are missing. */
function schemaFindings(db: DB, version: number): string[] {
  const expected = expectedSchema(version);
  const found: string[] = [];
  const seen = new Set<string>();
  for (const e of readSchema(db)) {
    seen.add(e.name);
    const want = expected.get(e.name);
    if (!want) found.push(`unknown ${describe(e)}`);
    else if (want.type !== e.type || want.tbl_name !== e.tbl_name || want.sql !== e.sql) found.push(`${describe(e)} differs from the one Transfer Studio makes`);
  }
  for (const e of expected.values()) if (!seen.has(e.name)) found.push(`${describe(e)} is missing`);
  return found;
}

/** SQL: a hash that is not 64 lower-case hexadecimal digits (ltrim: one pass, where a GLOB with '*' and a class is slow). */
const BAD_HASH = "(typeof(hash) != 'text' OR length(hash) != 64 OR ltrim(hash, '0123456789abcdef') != '')";

/**
 * SQL: a relative path (with '/' separators) that is empty, absolute, holds an empty, '.' or '..'
 * part, a NUL, or (read on Windows) a drive or a backslash. GLOBs, so one scan stays cheap.
 */
const BAD_REL = `(typeof(rel_path) != 'text' OR rel_path IN ('', '.', '..') OR rel_path GLOB '/*' OR rel_path GLOB '*/'
  OR rel_path GLOB '*//*' OR rel_path GLOB './*' OR rel_path GLOB '../*' OR rel_path GLOB '*/.' OR rel_path GLOB '*/..'
  OR rel_path GLOB '*/./*' OR rel_path GLOB '*/../*' OR rel_path GLOB '[A-Za-z]:*' OR instr(rel_path, char(0)) > 0
  OR (? AND instr(rel_path, '\\') > 0))`;

/**
 * A source root as imports store it: absolute and resolved (no '..', no trailing separator), and a
 * folder if it exists (a missing one is a moved dataset, relocated later; a file or FIFO is not).
 */
function isFolderPath(root: unknown): boolean {
  if (typeof root !== 'string' || root.includes('\0') || !path.isAbsolute(root) || path.resolve(root) !== root) return false;
  try {
    return fs.statSync(root).isDirectory();
  } catch {
    return true;
  }
}

/** Findings are listed up to this many per kind (their count is exact). */
const LIST_LIMIT = 5;

function rowFindings(db: DB, tables: Set<string>): string[] {
  const found: string[] = [];
  const listed = (what: string, rows: string[], total: number): void => {
    if (total === 0) return;
    found.push(`${total} ${what}: ${rows.join(', ')}${total > rows.length ? ', ...' : ''}`);
  };
  const count = (sql: string, ...params: unknown[]): number => (db.prepare(sql).pluck().get(...params) as number) ?? 0;

  // One scan of the images for both checks (opening a project runs it).
  const bad = db
    .prepare(`SELECT id, quote(hash) AS h, quote(rel_path) AS p, ${BAD_HASH} AS badHash, ${BAD_REL} AS badRel FROM images WHERE ${BAD_HASH} OR ${BAD_REL} ORDER BY id`)
    .all(process.platform === 'win32' ? 1 : 0, process.platform === 'win32' ? 1 : 0) as { id: number; h: string; p: string; badHash: number; badRel: number }[];
  const hashes = bad.filter((r) => r.badHash);
  listed('image hash(es) that are not 64 hexadecimal digits', hashes.slice(0, LIST_LIMIT).map((r) => `image ${r.id} (${r.h})`), hashes.length);
  const rels = bad.filter((r) => r.badRel);
  listed('image path(s) that leave their source folder', rels.slice(0, LIST_LIMIT).map((r) => `image ${r.id} (${r.p})`), rels.length);

  const roots = (db.prepare('SELECT id, root FROM sources ORDER BY id').all() as { id: number; root: unknown }[]).filter((s) => !isFolderPath(s.root));
  listed('source root(s) that are not absolute paths of folders', roots.slice(0, LIST_LIMIT).map((s) => `source ${s.id} (${JSON.stringify(s.root)})`), roots.length);

  if (tables.has('fingerprints')) {
    const n = count(`SELECT COUNT(*) FROM fingerprints WHERE ${BAD_HASH}`);
    listed('fingerprint hash(es) that are not 64 hexadecimal digits', n ? ['fingerprints'] : [], n);
  }
  return found;
}

/**
 * Everything in an open project database that Transfer Studio would not have written, as findings
 * ('unknown trigger "x" on images', '2 image path(s) that leave their source folder: ...'); empty when
 * it is all the studio's. `version` is the file's schema version (user_version).
 */
export function auditDatabase(db: DB, version: number): string[] {
  const schema = schemaFindings(db, version);
  // Rows are only read through a schema known to be ours (no view standing in for a table).
  if (schema.length > 0) return schema;
  return rowFindings(db, new Set(expectedSchema(version).keys()));
}

/**
 * How a connection to a file we do not trust is set up before it reads anything: no function of
 * the file's schema may have side effects (trusted_schema off) and SQL may not corrupt the file
 * (SQLite's defensive mode, which better-sqlite3 turns off only in its unsafe mode).
 */
export function distrust(db: DB): void {
  db.unsafeMode(false);
  db.pragma('trusted_schema = OFF');
}
