import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { version as packageVersion } from '../../../package.json';
import { SCHEMA_VERSION } from '../../../src/main/store/migrations';

const ROOT = path.resolve(__dirname, '../../..');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-cli-home-'));

const BUILT_CLI = path.join(ROOT, 'out/main/cli.js');

/** The CLI from the TypeScript source through tsx, as a development checkout runs it. */
function cli(...args: string[]): { code: number; out: string; err: string; json: Record<string, unknown> | undefined } {
  return run(['--import', 'tsx', path.join(ROOT, 'src/main/cli/index.ts')], args);
}

function run(entry: string[], args: string[]): { code: number; out: string; err: string; json: Record<string, unknown> | undefined } {
  const r = spawnSync(process.execPath, [...entry, ...args], {
    env: { ...process.env, TRANSFER_STUDIO_HOME: home },
    encoding: 'utf8',
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr, json };
}

function appVersionOf(dir: string): string {
  const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT app_version FROM project').pluck().get() as string;
  } finally {
    db.close();
  }
}

describe('transfer-studio CLI', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ts-cli-')), 'proj');

  it('creates a project and reports it as JSON', () => {
    const r = cli('project', 'create', dir, '--name', 'Digits', '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, project: { name: 'Digits', dir, schemaVersion: SCHEMA_VERSION } });
    expect(fs.existsSync(path.join(dir, 'project.sqlite'))).toBe(true);
    expect(appVersionOf(dir)).toBe(packageVersion);
  });

  it.skipIf(!fs.existsSync(BUILT_CLI))('records the app version from package.json in the built app too', () => {
    const built = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ts-cli-')), 'proj');
    expect(run([BUILT_CLI], ['project', 'create', built, '--json']).code).toBe(0);
    expect(appVersionOf(built)).toBe(packageVersion);
  });

  it('shows project info as text and as JSON', () => {
    const text = cli('project', 'info', dir);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/Digits/);
    const json = cli('project', 'info', dir, '--json');
    expect(json.json).toMatchObject({ ok: true, project: { counts: { total: 0, bySplit: { train: 0, val: 0, test: 0 } } } });
  });

  it('exits 2 with the reason on bad input', () => {
    const notProject = cli('project', 'info', os.tmpdir(), '--json');
    expect(notProject.code).toBe(2);
    expect(notProject.json).toMatchObject({ ok: false, error: { code: 'not_a_project' } });
    expect(notProject.err).toMatch(/not a Transfer Studio project/);
    expect(cli('project', 'create', dir).code).toBe(2); // already a project
    expect(cli('project', 'info', dir, '--colour').code).toBe(2);
    expect(cli('project', 'info').err).toMatch(/missing DIR/);
    expect(cli('frobnicate').code).toBe(2);
  });

  it('documents every command in --help', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['project create', 'project info', 'serve']) expect(r.out).toContain(c);
    expect(cli('project', 'create', '--help').out).toMatch(/Usage: transfer-studio project create DIR/);
  });

  it('runs a job with --json (the integrity check)', () => {
    const r = cli('project', 'check', dir, '--json');
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, check: { integrity: 'ok', images: 0 } });
  });
});
