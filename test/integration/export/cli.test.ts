import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { ProjectStore } from '../../../src/main/store/project-store';
import { addRun, importNow, predict, readCsvFile, removeTempDirs, strayFiles, tempDir } from './helpers';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const home = tempDir('ts-export-cli-home-');

function cli(...args: string[]): { code: number; out: string; err: string; json: Record<string, unknown> | undefined } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main/cli/index.ts'), ...args], {
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

let dir: string;
let runId: number;

beforeAll(async () => {
  const root = tempDir();
  for (const [i, n] of ['b', 'a', 'c'].entries()) await writeImage(path.join(root, 'test', `${n}.png`), { seed: 40 + i });
  await writeImage(path.join(root, 'train', 'cat', 'x.png'), { seed: 50 });
  await writeImage(path.join(root, 'train', 'dog', 'y.png'), { seed: 51 });
  dir = path.join(root, 'project');
  const store = ProjectStore.create(dir);
  try {
    await importNow(store, { source: path.join(root, 'train') });
    await importNow(store, { source: path.join(root, 'test'), split: 'test' });
    runId = addRun(store, ['cat', 'dog']);
    const ids = store.db.prepare(`SELECT id FROM images WHERE split = 'test'`).pluck().all() as number[];
    predict(store, runId, ids, 2, (id) => id % 2);
  } finally {
    store.close();
  }
});

afterAll(removeTempDirs);

describe('transfer-studio export', () => {
  it('writes the submission and reports it as one JSON object (exit 0)', async () => {
    const out = path.join(tempDir(), 'submission.csv');
    const r = cli('export', dir, 'submission', '--out', out, '--id-column', 'id', '--strip-extension', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({ ok: true, export: { kind: 'submission', rows: 3, runId, files: [out], columns: ['id', 'label'] } });
    expect((await readCsvFile(out)).map((row) => row[0])).toEqual(['id', 'a', 'b', 'c']);
    const text = cli('export', dir, 'probabilities', '-o', path.join(path.dirname(out), 'p.csv'), '--run', String(runId));
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/Wrote 3 rows x 2 classes/);
  });

  it('exits 2 on bad input: an unknown flag, a missing run, an unknown export, no --out, an existing file', () => {
    const parent = tempDir();
    const out = path.join(parent, 's.csv');
    const flag = cli('export', dir, 'submission', '--out', out, '--bogus', '--json');
    expect(flag.code).toBe(2);
    expect(flag.json).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const run = cli('export', dir, 'submission', '--out', out, '--run', '99', '--json');
    expect(run.code).toBe(2);
    expect(run.json).toMatchObject({ ok: false, error: { code: 'not_found', message: 'There is no run 99.' } });
    expect(cli('export', dir, 'submission', '--out', out, '--run', 'latest').code).toBe(2);
    expect(cli('export', dir, 'pictures', '--out', out).err).toMatch(/unknown export "pictures"/);
    // The run was stored without training, so it has no model folder to export.
    expect(cli('export', dir, 'model', '--out', path.join(parent, 'model')).err).toMatch(/Run \d+ has no saved model/);
    expect(cli('export', dir, 'submission').err).toMatch(/missing --out/);
    expect(strayFiles(parent)).toEqual([]);
    fs.writeFileSync(out, 'x');
    expect(cli('export', dir, 'submission', '--out', out, '--json').json).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(cli('export', dir, 'submission', '--out', out, '--force').code).toBe(0);
  });

  it('is documented in --help', () => {
    expect(cli('--help').out).toMatch(/export DIR submission\|probabilities\|model\|dataset\|dataset-csv --out PATH/);
    expect(cli('export', '--help').out).toMatch(/Usage: transfer-studio export DIR/);
  });
});
