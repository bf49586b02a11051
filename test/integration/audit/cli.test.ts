/**
 * `transfer-studio audit` and `export audit` as a user runs them (issue 14): a child process, the
 * real engine and MobileNet, real digits with a mislabelled one and a copy in the test set. Stable
 * JSON, exit codes 0 / 2 / 1, Ctrl-C cancels and stores nothing; and a project made before the
 * audit existed (schema 3) is migrated and fingerprinted by its first audit.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alteredCopy } from '../../fixtures/altered-copies';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { SCHEMA_VERSION } from '../../../src/main/store/migrations';
import { cliRunner, interruptedCli, jobRunning, readCsvFile, removeTempDirs, tempDir } from '../helpers';

let home: string;
let root: string;
let dir: string;
const { run, ok } = cliRunner(() => home);

beforeAll(async () => {
  home = tempDir('ts-audit-cli-home-');
  root = tempDir('ts-audit-cli-');
  await writeDigits(path.join(root, 'train'), 25, 4);
  fs.renameSync(path.join(root, 'train/0/4.png'), path.join(root, 'train/3/flip.png'));
  fs.mkdirSync(path.join(root, 'test'));
  fs.writeFileSync(path.join(root, 'test/copy.jpg'), await alteredCopy(path.join(root, 'train/1/6.png'), 'jpeg'));
  dir = path.join(root, 'project');
  await ok('project', 'create', dir);
  await ok('import', dir, path.join(root, 'train'));
  await ok('import', dir, path.join(root, 'test'), '--split', 'test');
  await ok('split', dir, '--val', '0.2');
  await ok('models', 'import', MODEL_025);
}, 180_000);

afterAll(removeTempDirs);

describe('transfer-studio audit', () => {
  it('reports label issues, noise rates and leaks as one stable JSON object (exit 0)', async () => {
    const r = await ok('audit', dir, '--folds', '3', '--json');
    const audit = r.json?.audit as Record<string, unknown>;
    expect(Object.keys(audit).sort()).toEqual(
      ['classNames', 'clusters', 'conflicts', 'createdAt', 'durations', 'folds', 'id', 'images', 'labelIssues', 'leaks', 'noiseRates', 'scored', 'skipped', 'source'].sort(),
    );
    expect(audit).toMatchObject({ folds: 3, scored: 100, images: 101, classNames: ['0', '1', '2', '3'], skipped: { count: 0, paths: [] }, source: { model: 'mobilenet_v1_0.25_224', runId: null } });
    const issues = audit.labelIssues as { path: string; given: string; suggested: string; score: number; imageId: number; split: string }[];
    for (const i of issues) expect(Object.keys(i).sort()).toEqual(['given', 'imageId', 'path', 'score', 'selfConfidence', 'split', 'suggested']);
    expect(issues.find((i) => i.path === path.join(root, 'train/3/flip.png'))).toMatchObject({ given: '3', suggested: '0' });
    expect((audit.noiseRates as { className: string; rate: number | null }[]).map((n) => n.className)).toEqual(['0', '1', '2', '3']);
    const clusters = audit.clusters as { leak: boolean; splits: string[]; members: { path: string; split: string; label: string | null }[] }[];
    const leak = clusters.find((c) => c.members.some((m) => m.path === path.join(root, 'test/copy.jpg')));
    expect(leak).toMatchObject({ leak: true });
    expect(leak!.members.map((m) => m.path).sort()).toEqual([path.join(root, 'test/copy.jpg'), path.join(root, 'train/1/6.png')].sort());
    expect(audit.leaks).toBeGreaterThanOrEqual(1);
  });

  it('prints a summary without --json, and exports every result as CSV', async () => {
    const r = await ok('audit', dir, '--folds', '3');
    expect(r.out).toMatch(/Likely label errors: \d+/);
    expect(r.out).toMatch(/across splits \(leaks\): [1-9]/);
    const out = path.join(tempDir(), 'audit.csv');
    const e = await ok('export', dir, 'audit', '--out', out, '--json');
    expect(e.json).toMatchObject({ ok: true, export: { kind: 'audit', files: [out], columns: ['image', 'given', 'suggested', 'score', 'reason'] } });
    const rows = await readCsvFile(out);
    expect(rows.find((x) => x[0] === path.join(root, 'train/3/flip.png'))?.slice(1, 3)).toEqual(['3', '0']);
    expect(rows.find((x) => x[0] === path.join(root, 'test/copy.jpg'))?.[4]).toMatch(/^leak: /);
    const again = await run('export', dir, 'audit', '--out', out, '--json');
    expect(again.code).toBe(2);
    expect(again.json).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  it('exits 2 with the reason on bad input', async () => {
    const cases: [string[], RegExp][] = [
      [['audit', path.join(root, 'nowhere')], /not a Transfer Studio project/],
      [['audit', dir, '--folds', '1'], /--folds must be a whole number from 2 to 20/],
      [['audit', dir, '--folds', 'x'], /--folds/],
      [['audit', dir, '--run', '7'], /no run 7|run 7/i],
      [['audit', dir, '--run', '1', '--model', 'm'], /cannot be combined/],
      [['audit', dir, '--model', 'missing-model'], /not installed/],
      [['export', dir, 'audit', '--out', path.join(root, 'a.csv'), '--run', '1'], /--run does not apply/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args, '--json');
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect((r.json?.error as { message: string }).message).toMatch(message);
    }
  });

  it('Ctrl-C cancels the audit: exit 1, nothing stored, the job recorded as cancelled', async () => {
    const before = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
    const latest = (before.prepare('SELECT MAX(id) AS id FROM audits').get() as { id: number }).id;
    before.close();
    // Interrupt once the job is training its folds (its progress is saved as it goes).
    const r = await interruptedCli(home, ['audit', dir, '--folds', '5', '--json'], () => jobRunning(dir, 'audit', 'Out-of-sample'));
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    const after = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
    expect((after.prepare('SELECT MAX(id) AS id FROM audits').get() as { id: number }).id).toBe(latest);
    expect(after.prepare("SELECT state FROM jobs WHERE kind = 'audit' ORDER BY created_at DESC LIMIT 1").pluck().get()).toBe('cancelled');
    after.close();
  });
});

describe('a project made before the audit existed', () => {
  it('is migrated to the current schema and fingerprinted by its first audit', async () => {
    // The same project as schema 3 had it: the audit's tables dropped, the version set back.
    const old = path.join(tempDir(), 'old');
    fs.cpSync(dir, old, { recursive: true });
    const db = new Database(path.join(old, 'project.sqlite'));
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('project', 'classes', 'sources', 'images', 'runs', 'run_metrics', 'confusion_matrices', 'jobs', 'predictions') AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    expect(tables).toContain('fingerprints');
    db.pragma('foreign_keys = OFF');
    for (const t of tables) db.exec(`DROP TABLE ${t}`);
    // Version 7 added the predictions' test-time views: a version 3 project has no such column.
    db.exec('ALTER TABLE predictions DROP COLUMN views');
    db.pragma('user_version = 3');
    db.close();

    const r = await ok('audit', old, '--folds', '3', '--json');
    expect((r.json?.audit as { scored: number }).scored).toBe(100);
    const after = new Database(path.join(old, 'project.sqlite'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((after.prepare('SELECT COUNT(*) AS n FROM fingerprints').get() as { n: number }).n).toBe(101);
    expect(JSON.parse(after.prepare('SELECT result FROM audits').pluck().get() as string)).toMatchObject({ fingerprintsComputed: 101 });
    after.close();
    const info = await ok('project', 'info', old, '--json');
    expect(info.json).toMatchObject({ project: { schemaVersion: SCHEMA_VERSION, counts: { total: 101 } } });
  });
});
