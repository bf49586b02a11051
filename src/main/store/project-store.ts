/** The open project: its folder and database, and the typed queries on project-level rows. */
import fs from 'node:fs';
import path from 'node:path';
import type { ProjectCounts, ProjectInfo, Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { type DB, openDatabase } from './open-database';
import { SCHEMA_VERSION } from './migrations';
import { auditDatabase } from './project-audit';
import { listClasses } from './classes';
import { version } from '../../../package.json';

/** The app's version, from package.json (the build inlines the string; tsx and the tests read the file). */
export const APP_VERSION: string = version;

/** Where trained runs keep their files, inside the project folder. */
const RUNS_FOLDER = 'runs';

export class ProjectStore {
  private constructor(
    readonly dir: string,
    readonly db: DB,
  ) {}

  /** Creates a project in `dir` (made if missing). An existing non-empty folder is fine, an existing project is not. */
  static create(dir: string, name?: string): ProjectStore {
    const abs = path.resolve(dir);
    if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory())
      throw new StudioError('bad_input', `${abs} is a file, not a folder.`, 'dir');
    try {
      fs.mkdirSync(abs, { recursive: true });
    } catch (err) {
      throw new StudioError('read_only', `Cannot create the folder ${abs}: ${(err as Error).message}`, 'dir');
    }
    const db = openDatabase(abs, { create: true });
    db.prepare('INSERT INTO project (id, name, created_at, app_version) VALUES (1, ?, ?, ?)').run(
      name ?? path.basename(abs),
      new Date().toISOString(),
      APP_VERSION,
    );
    return new ProjectStore(abs, db);
  }

  static open(dir: string): ProjectStore {
    const abs = path.resolve(dir);
    const db = openDatabase(abs, { create: false });
    const store = new ProjectStore(abs, db);
    // Work that was running when the app last stopped can never finish: say so.
    db.prepare(
      `UPDATE jobs SET state = 'failed', error_code = 'internal', error_message = 'Interrupted: the studio stopped while this job ran.', finished_at = ?
       WHERE state IN ('queued', 'running')`,
    ).run(new Date().toISOString());
    db.prepare(`UPDATE runs SET state = 'failed', error = 'Interrupted: the studio stopped during training.', finished_at = ? WHERE state = 'running'`).run(
      new Date().toISOString(),
    );
    db.prepare(`UPDATE sweeps SET state = 'failed', finished_at = ? WHERE state = 'running'`).run(new Date().toISOString());
    return store;
  }

  /** A folder inside the project for files the store references (thumbnails, caches, runs). */
  folder(...parts: string[]): string {
    const p = path.join(this.dir, ...parts);
    fs.mkdirSync(p, { recursive: true });
    return p;
  }

  /** Run `id`'s folder (model, checkpoint, run.json); made first with `create`. */
  runDir(id: number, opts: { create?: boolean } = {}): string {
    return opts.create ? this.folder(RUNS_FOLDER, String(id)) : path.join(this.dir, RUNS_FOLDER, String(id));
  }

  /**
   * SQLite's own check of the database file and the studio's (project-audit.ts: the schema is the
   * migrations', paths and hashes are what imports store): 'ok', or everything that is wrong.
   */
  integrityCheck(): string {
    const sqlite = String(this.db.pragma('integrity_check', { simple: true }));
    const findings = [...(sqlite === 'ok' ? [] : [sqlite]), ...auditDatabase(this.db, SCHEMA_VERSION)];
    return findings.length === 0 ? 'ok' : findings.join('; ');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get name(): string {
    return (this.db.prepare('SELECT name FROM project WHERE id = 1').get() as { name: string }).name;
  }

  rename(name: string): void {
    this.db.prepare('UPDATE project SET name = ? WHERE id = 1').run(name);
  }

  counts(): ProjectCounts {
    const bySplit: Record<Split, number> = { train: 0, val: 0, test: 0 };
    for (const r of this.db.prepare('SELECT split, COUNT(*) AS n FROM images GROUP BY split').all() as { split: Split; n: number }[])
      bySplit[r.split] = r.n;
    const perClass = new Map<number, Record<Split, number>>();
    for (const r of this.db
      .prepare('SELECT class_id AS classId, split, COUNT(*) AS n FROM images WHERE class_id IS NOT NULL GROUP BY class_id, split')
      .all() as { classId: number; split: Split; n: number }[]) {
      const c = perClass.get(r.classId) ?? { train: 0, val: 0, test: 0 };
      c[r.split] = r.n;
      perClass.set(r.classId, c);
    }
    const byClass = listClasses(this.db).map((c) => {
      const n = perClass.get(c.id) ?? { train: 0, val: 0, test: 0 };
      return { ...c, ...n, total: n.train + n.val + n.test };
    });
    const total = bySplit.train + bySplit.val + bySplit.test;
    const labelled = byClass.reduce((s, c) => s + c.total, 0);
    return { total, unlabelled: total - labelled, bySplit, byClass };
  }

  info(): ProjectInfo {
    const row = this.db.prepare('SELECT name, created_at AS createdAt FROM project WHERE id = 1').get() as { name: string; createdAt: string };
    const runs = (this.db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
    return { dir: this.dir, name: row.name, createdAt: row.createdAt, schemaVersion: SCHEMA_VERSION, counts: this.counts(), runs };
  }
}
