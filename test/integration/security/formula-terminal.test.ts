/**
 * Formula and terminal injection through names (issue 25, finding 7): class names and test file
 * names a spreadsheet would evaluate, and labels holding terminal escape sequences. Through the real
 * CLI: the CSVs meant for spreadsheets neutralise formula cells (OWASP: quoted, with a leading '),
 * the submission keeps its labels exact and warns, import warns when it creates such a class, and
 * no text output carries a control character.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { ProjectStore } from '../../../src/main/store/project-store';
import { addRun, cli, predict, readCsvFile, removeTempDirs, tempDir, type CliResult } from '../helpers';

const home = tempDir('ts-formula-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
afterAll(removeTempDirs);

const HYPERLINK = '=HYPERLINK("http://evil.example/","click")';
const CMD = "+cmd|' /C calc'!A0";
const SUM = '@SUM(1+1)';
/** An OSC sequence that sets the terminal's title, then one that clears the screen. */
const ESCAPED = '\u001b]0;pwned\u0007cat\u001b[2J';
const LABELS = [HYPERLINK, CMD, SUM, ESCAPED];
const TEST_NAMES = ['=1+1.png', '-2+3.png', 'plain.png'];

const csvCell = (s: string): string => `"${s.replace(/"/g, '""')}"`;
let project: string;
let importText: CliResult;
let runId: number;

beforeAll(async () => {
  const work = tempDir('ts-formula-');
  const images = path.join(work, 'images');
  const rows = ['filename,label'];
  for (const [i, label] of LABELS.entries()) {
    await writeImage(path.join(images, `${i}.png`), { seed: i + 1 });
    rows.push(`${i}.png,${csvCell(label)}`);
  }
  fs.writeFileSync(path.join(work, 'labels.csv'), rows.join('\n') + '\n');
  for (const [i, n] of TEST_NAMES.entries()) await writeImage(path.join(work, 'test', n), { seed: 20 + i });
  project = path.join(work, 'project');
  expect((await run('project', 'create', project)).code).toBe(0);
  importText = await run('import', project, images, '--csv', path.join(work, 'labels.csv'));
  expect(importText.code, importText.err).toBe(0);
  expect((await run('import', project, path.join(work, 'test'), '--split', 'test')).code).toBe(0);
  // A finished run with predictions for the test images (what train and predict store).
  const store = ProjectStore.open(project);
  try {
    runId = addRun(store, LABELS);
    const ids = store.db.prepare(`SELECT id FROM images WHERE split = 'test' ORDER BY id`).pluck().all() as number[];
    predict(store, runId, ids, LABELS.length, (id) => id % LABELS.length);
  } finally {
    store.close();
  }
}, 60_000);

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const hasControl = (s: string): boolean => /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(s);

describe('names that are formulas or terminal sequences', () => {
  it('import and project info print no control character, and import warns about formula-like classes', async () => {
    expect(hasControl(importText.out + importText.err)).toBe(false);
    expect(importText.out).toContain('New classes: ');
    expect(importText.out).toContain(']0;pwnedcat[2J');
    expect(importText.out).toMatch(/Warning: class names .*=HYPERLINK.* start like a spreadsheet formula/);
    const info = await run('project', 'info', project);
    expect(info.code, info.err).toBe(0);
    expect(hasControl(info.out + info.err)).toBe(false);
    expect(info.out).toContain('@SUM(1+1)');
    // --json keeps the exact names (JSON escapes them).
    const json = await run('project', 'info', project, '--json');
    expect((json.json as { project: { counts: { byClass: { name: string }[] } } }).project.counts.byClass.map((c) => c.name).sort()).toEqual([...LABELS].sort());
  });

  it('probabilities and dataset-csv neutralise formula cells; plain cells stay as they were', async () => {
    const out = tempDir();
    const p = await run('export', project, 'probabilities', '--out', path.join(out, 'p.csv'), '--run', String(runId), '--json');
    expect(p.code, p.err).toBe(0);
    const probs = await readCsvFile(path.join(out, 'p.csv'));
    expect(probs[0]).toEqual(['filename', `'${HYPERLINK}`, `'${CMD}`, `'${SUM}`, ESCAPED]);
    expect(probs.slice(1).map((r) => r[0]).sort()).toEqual(["'-2+3.png", "'=1+1.png", 'plain.png']);
    // Every neutralised cell is quoted in the file itself.
    expect(fs.readFileSync(path.join(out, 'p.csv'), 'utf8').split('\n')[0]).toBe(`filename,"'=HYPERLINK(""http://evil.example/"",""click"")","'${CMD}","'${SUM}",${ESCAPED}`);

    const d = await run('export', project, 'dataset-csv', '--out', path.join(out, 'd.csv'), '--json');
    expect(d.code, d.err).toBe(0);
    const labels = (await readCsvFile(path.join(out, 'd.csv'))).slice(1).map((r) => r[1]);
    expect(labels.sort()).toEqual([`'${CMD}`, `'${HYPERLINK}`, `'${SUM}`, ESCAPED].sort());
  });

  it('the submission keeps exact labels and names for its scorer, and warns', async () => {
    const file = path.join(tempDir(), 's.csv');
    const r = await run('export', project, 'submission', '--out', file, '--run', String(runId), '--json');
    expect(r.code, r.err).toBe(0);
    expect((r.json as { export: { warnings: string[] } }).export.warnings).toEqual([expect.stringMatching(/^class names? .* starts? like a spreadsheet formula .*the submission keeps (it|them) exact/)]);
    const rows = await readCsvFile(file);
    expect(rows.slice(1).map((row) => row[0]).sort()).toEqual([...TEST_NAMES].sort());
    for (const row of rows.slice(1)) expect(LABELS).toContain(row[1]);
    const text = await run('export', project, 'submission', '--out', file, '--run', String(runId), '--force');
    expect(text.out).toMatch(/Warning: class names? /);
    expect(hasControl(text.out)).toBe(false);
  });
});
