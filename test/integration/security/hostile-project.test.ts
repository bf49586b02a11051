/**
 * A project folder from someone else, its project.sqlite edited by hand (issue 25, finding 3): a
 * trigger that deletes images on the next import, a view and a table of its own, an image hash
 * holding "../" (which became a thumbnail path), a relative path leaving its source, a source root
 * of "/" with a path to another file. Through the real CLI and server: a database holding what the
 * studio never writes is refused with every finding named, nothing in it runs, its file is not
 * changed; a file that is not the imported content is never copied or served.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { cli, type CliResult } from '../../fixtures/cli';
import { removeTempDirs, tempDir } from './helpers';

const home = tempDir('ts-hostile-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
afterAll(removeTempDirs);

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A project of two imported images, then edited by `edit` as an attacker would, with the database closed. */
async function hostileProject(edit: (db: Database.Database, work: string) => void | Promise<void>): Promise<{ project: string; work: string; file: string }> {
  const work = tempDir('ts-hostile-');
  await writeImage(path.join(work, 'data', 'cat', 'a.png'), { seed: 1 });
  await writeImage(path.join(work, 'data', 'dog', 'b.png'), { seed: 2 });
  const project = path.join(work, 'project');
  for (const args of [['project', 'create', project], ['import', project, path.join(work, 'data')]]) {
    const r = await run(...args, '--json');
    expect(r.code, r.err).toBe(0);
  }
  const file = path.join(project, 'project.sqlite');
  const db = new Database(file);
  try {
    await edit(db, work);
  } finally {
    db.close();
  }
  return { project, work, file };
}

/** Runs `args`, expecting the project to be refused (exit 2) with a message matching every pattern, and its file unchanged. */
async function refused(file: string, args: string[], ...patterns: RegExp[]): Promise<string> {
  const before = sha256(file);
  const r = await run(...args, '--json');
  expect(r.code, r.out + r.err).toBe(2);
  const message = (r.json as { error: { code: string; message: string } }).error.message;
  expect((r.json as { error: { code: string } }).error.code).toBe('corrupt_database');
  for (const p of patterns) expect(message).toMatch(p);
  expect(message).toMatch(/not opened and nothing in it was run or changed/);
  expect(sha256(file)).toBe(before);
  return message;
}

const imageCount = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number;
  } finally {
    db.close();
  }
};

describe('a hostile project', () => {
  it('with a trigger of its own: never opened, so the trigger never runs; project check and info name it', async () => {
    const { project, work, file } = await hostileProject((db) => void db.exec('CREATE TRIGGER wipe AFTER INSERT ON images BEGIN DELETE FROM images; END'));
    await writeImage(path.join(work, 'more', 'cat', 'c.png'), { seed: 3 });
    await refused(file, ['import', project, path.join(work, 'more')], /unknown trigger "wipe" on images/);
    expect(imageCount(file)).toBe(2);
    await refused(file, ['project', 'check', project], /unknown trigger "wipe" on images/);
    await refused(file, ['project', 'info', project], /unknown trigger "wipe" on images/);
  });

  it('with a view, a table and a changed table: each is named', async () => {
    const { project, file } = await hostileProject((db) => {
      db.exec('CREATE VIEW everything AS SELECT * FROM images');
      db.exec('CREATE TABLE notes (x)');
      db.exec('CREATE INDEX images_hash_rel ON images(hash, rel_path)');
    });
    await refused(file, ['project', 'check', project], /unknown view "everything"/, /unknown table "notes"/, /unknown index "images_hash_rel" on images/);
  });

  it('with a hash holding "../" and a path leaving its source: refused, and serve does not start on it', async () => {
    const { project, work, file } = await hostileProject((db) => {
      db.prepare("UPDATE images SET hash = '../../../../outside' WHERE id = 1").run();
      db.prepare("UPDATE images SET rel_path = '../../secret.png' WHERE id = 2").run();
    });
    // What the hash would have served as a thumbnail: <thumbs>/../../../../outside.webp
    await writeImage(path.join(work, 'outside.webp'), { seed: 9 });
    await refused(file, ['project', 'check', project], /image 1 \('\.\.\/\.\.\/\.\.\/\.\.\/outside'\)/, /image 2 \('\.\.\/\.\.\/secret\.png'\)/);
    // serve opens the project before it listens: it ends with the refusal instead of serving.
    await refused(file, ['serve', project], /image 1 \('\.\.\/\.\.\/\.\.\/\.\.\/outside'\)/);
  });

  it('with a source root of "/" and a path to another file: export dataset copies nothing that is not the imported content', async () => {
    let secret = '';
    const { project } = await hostileProject(async (db, work) => {
      secret = await writeImage(path.join(work, 'private', 'secret.png'), { seed: 7 });
      db.prepare("UPDATE sources SET root = '/'").run();
      db.prepare('UPDATE images SET rel_path = ? WHERE id = 1').run(path.relative('/', secret));
      db.prepare('UPDATE images SET rel_path = ? WHERE id = 2').run(path.relative('/', path.join(work, 'data', 'dog', 'b.png')));
    });
    expect((await run('project', 'check', project, '--json')).code).toBe(0);
    const out = path.join(tempDir(), 'dataset');
    const r = await run('export', project, 'dataset', '--out', out, '--json');
    expect(r.code, r.err).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { message: `${secret} is not the file that was imported (its content changed); re-import it or relocate its source.` } });
    expect(fs.existsSync(out)).toBe(false);
  });
});
