import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { ProjectStore } from '../../../src/main/store/project-store';
import { addRun, cli as runCli, type CliResult, importAll, predict, readCsvFile, removeTempDirs, strayFiles, tempDir } from '../helpers';

const home = tempDir('ts-export-cli-home-');
const run = (...args: string[]): Promise<CliResult> => runCli(home, args);

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
    await importAll(store, { source: path.join(root, 'train') });
    await importAll(store, { source: path.join(root, 'test'), split: 'test' });
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
    const r = await run('export', dir, 'submission', '--out', out, '--id-column', 'id', '--strip-extension', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({ ok: true, export: { kind: 'submission', rows: 3, runId, files: [out], columns: ['id', 'label'] } });
    expect((await readCsvFile(out)).map((row) => row[0])).toEqual(['id', 'a', 'b', 'c']);
    const text = await run('export', dir, 'probabilities', '-o', path.join(path.dirname(out), 'p.csv'), '--run', String(runId));
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/Wrote 3 rows x 2 classes/);
  });

  it('exits 2 on bad input: an unknown flag, a missing run, an unknown export, no --out, an existing file', async () => {
    const parent = tempDir();
    const out = path.join(parent, 's.csv');
    const flag = await run('export', dir, 'submission', '--out', out, '--bogus', '--json');
    expect(flag.code).toBe(2);
    expect(flag.json).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const missingRun = await run('export', dir, 'submission', '--out', out, '--run', '99', '--json');
    expect(missingRun.code).toBe(2);
    expect(missingRun.json).toMatchObject({ ok: false, error: { code: 'not_found', message: 'There is no run 99.' } });
    expect((await run('export', dir, 'submission', '--out', out, '--run', 'latest')).code).toBe(2);
    expect((await run('export', dir, 'pictures', '--out', out)).err).toMatch(/unknown export "pictures"/);
    // The run was stored without training, so it has no model folder to export.
    expect((await run('export', dir, 'model', '--out', path.join(parent, 'model'))).err).toMatch(/Run \d+ has no saved model/);
    expect((await run('export', dir, 'submission')).err).toMatch(/missing --out/);
    expect(strayFiles(parent)).toEqual([]);
    fs.writeFileSync(out, 'x');
    expect((await run('export', dir, 'submission', '--out', out, '--json')).json).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect((await run('export', dir, 'submission', '--out', out, '--force')).code).toBe(0);
  });

  it('is documented in --help', async () => {
    expect((await run('--help')).out).toMatch(/export DIR submission\|probabilities\|model\|onnx\|dataset\|dataset-csv\|audit --out PATH/);
    expect((await run('export', '--help')).out).toMatch(/Usage: transfer-studio export DIR/);
  });
});
