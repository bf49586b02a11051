import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { version as packageVersion } from '../../../package.json';
import { SCHEMA_VERSION } from '../../../src/main/store/migrations';
import { ROOT } from '../../fixtures/assets';
import { cli, removeTempDirs, tempDir, type CliResult } from '../helpers';

const home = tempDir('ts-cli-home-');
/** The CLI from the TypeScript source through tsx, as a development checkout runs it. */
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
afterAll(removeTempDirs);

const BUILT_CLI = path.join(ROOT, 'out/main/cli.js');

function appVersionOf(dir: string): string {
  const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT app_version FROM project').pluck().get() as string;
  } finally {
    db.close();
  }
}

describe('transfer-studio CLI', () => {
  const dir = path.join(tempDir('ts-cli-'), 'proj');

  it('creates a project and reports it as JSON', async () => {
    const r = await run('project', 'create', dir, '--name', 'Digits', '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, project: { name: 'Digits', dir, schemaVersion: SCHEMA_VERSION } });
    expect(fs.existsSync(path.join(dir, 'project.sqlite'))).toBe(true);
    expect(appVersionOf(dir)).toBe(packageVersion);
  });

  it.skipIf(!fs.existsSync(BUILT_CLI))('records the app version from package.json in the built app too', async () => {
    const built = path.join(tempDir('ts-cli-'), 'proj');
    expect((await cli(home, ['project', 'create', built, '--json'], { built: true })).code).toBe(0);
    expect(appVersionOf(built)).toBe(packageVersion);
  });

  it('shows project info as text and as JSON', async () => {
    const text = await run('project', 'info', dir);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/Digits/);
    const json = await run('project', 'info', dir, '--json');
    expect(json.json).toMatchObject({ ok: true, project: { counts: { total: 0, bySplit: { train: 0, val: 0, test: 0 } } } });
  });

  it('exits 2 with the reason on bad input', async () => {
    const notProject = await run('project', 'info', os.tmpdir(), '--json');
    expect(notProject.code).toBe(2);
    expect(notProject.json).toMatchObject({ ok: false, error: { code: 'not_a_project' } });
    expect(notProject.err).toMatch(/not a Transfer Studio project/);
    expect((await run('project', 'create', dir)).code).toBe(2); // already a project
    expect((await run('project', 'info', dir, '--colour')).code).toBe(2);
    expect((await run('project', 'info')).err).toMatch(/missing DIR/);
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('documents every command in --help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const c of ['project create', 'project info', 'serve']) expect(r.out).toContain(c);
    expect((await run('project', 'create', '--help')).out).toMatch(/Usage: transfer-studio project create DIR/);
  });

  it('runs a job with --json (the integrity check)', async () => {
    const r = await run('project', 'check', dir, '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, check: { integrity: 'ok', images: 0 } });
  });
});
