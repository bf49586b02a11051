import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../fixtures/images';
import { ProjectStore } from '../../../src/main/store/project-store';
import { findClassByName } from '../../../src/main/store/classes';
import { setLabels } from '../../../src/main/store/images';
import { Studio } from '../../../src/main/host/studio';
import { StudioError } from '../../../src/shared/errors';
import { addRun, exportNow, imageId, importAll, predict, readCsvFile, removeTempDirs, strayFiles, tempDir, testContext } from '../helpers';

const CLASSES = ['cats', 'dogs', 'ñandú 🐦', 'say "hi", ok'];
/** The test set's CSV, in its (unsorted) order, Kaggle-style ids without extension; "dup" has the same content as img_2. */
const TEST_IDS = ['img_10', 'zeta ü', 'img_2', 'a,comma', 'dup'];
const PICK: Record<string, number> = { 'img_10.png': 0, 'zeta ü.png': 1, 'img_2.png': 3, 'a,comma.png': 2, 'p1.png': 0, 'p2.png': 1, 'p10.png': 1 };

let root: string;
let store: ProjectStore;
let runId: number;
const stores: ProjectStore[] = [];

async function ensureError(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (err) {
    return StudioError.from(err);
  }
  throw new Error('expected the export to fail');
}

beforeAll(async () => {
  root = tempDir();
  const train = path.join(root, 'train');
  await writeImage(path.join(train, 'cats', 'a.png'), { seed: 1 });
  await writeImage(path.join(train, 'cats', 'sub', 'a.png'), { seed: 2 }); // same file name in the same class
  await writeImage(path.join(train, 'cats', 'b.jpg'), { seed: 3 });
  await writeImage(path.join(train, 'dogs', 'c.png'), { seed: 4 });
  await writeImage(path.join(train, 'dogs', 'Ünïcödé ñame.png'), { seed: 5 });
  await writeImage(path.join(train, 'ñandú 🐦', 'bird.webp'), { seed: 6 });
  await writeImage(path.join(train, 'loose.png'), { seed: 7 }); // unlabelled

  const test = path.join(root, 'test');
  let seed = 20;
  for (const id of TEST_IDS.filter((i) => i !== 'dup')) await writeImage(path.join(test, `${id}.png`), { seed: seed++ });
  fs.copyFileSync(path.join(test, 'img_2.png'), path.join(test, 'dup.png'));
  fs.writeFileSync(path.join(root, 'test.csv'), ['id', ...TEST_IDS.map((i) => (i.includes(',') ? `"${i}"` : i))].join('\r\n') + '\r\n');
  const more = path.join(root, 'more');
  for (const n of ['p10', 'p2', 'p1']) await writeImage(path.join(more, `${n}.png`), { seed: seed++ });

  store = ProjectStore.create(path.join(root, 'project'));
  stores.push(store);
  await importAll(store, { source: train });
  await importAll(store, { source: test, kind: 'csv', csv: path.join(root, 'test.csv'), images: test, split: 'test' });
  await importAll(store, { source: more, split: 'test' });
  runId = addRun(store, CLASSES);
  const testIds = store.db.prepare(`SELECT id, file_name FROM images WHERE split = 'test'`).all() as { id: number; file_name: string }[];
  const byId = new Map(testIds.map((r) => [r.id, r.file_name]));
  predict(store, runId, [...byId.keys()], CLASSES.length, (id) => PICK[byId.get(id)!]!);
});

afterAll(() => {
  stores.forEach((s) => s.close());
  removeTempDirs();
});

describe('submission CSV', () => {
  it('lists the test set in its source order with its names: CSV sources in row order, folders in natural order', async () => {
    const out = path.join(tempDir(), 'submission.csv');
    const r = await exportNow(store, { kind: 'submission', out });
    expect(r).toMatchObject({ kind: 'submission', rows: 7, runId, files: [out], columns: ['filename', 'label'], fromLabels: 0 });
    expect(await readCsvFile(out)).toEqual([
      ['filename', 'label'],
      ['img_10.png', 'cats'],
      ['zeta ü.png', 'dogs'],
      ['img_2.png', 'say "hi", ok'],
      ['a,comma.png', 'ñandú 🐦'],
      ['p1.png', 'cats'],
      ['p2.png', 'dogs'],
      ['p10.png', 'dogs'],
    ]);
    // Proper quoting in the raw text, UTF-8 without BOM, LF line ends.
    const text = fs.readFileSync(out, 'utf8');
    expect(text.startsWith('filename,label\n')).toBe(true);
    expect(text).toContain('"a,comma.png",ñandú 🐦\n');
    expect(text).toContain('img_2.png,"say ""hi"", ok"\n');
  });

  it('takes the competition column names and strips extensions', async () => {
    const out = path.join(tempDir(), 'sub.csv');
    await exportNow(store, { kind: 'submission', out, idColumn: 'id', labelColumn: 'category', stripExtension: true });
    const rows = await readCsvFile(out);
    expect(rows[0]).toEqual(['id', 'category']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['img_10', 'zeta ü', 'img_2', 'a,comma', 'p1', 'p2', 'p10']);
  });

  it('uses the label the user gave a test image over the prediction', async () => {
    const id = imageId(store, 'img_10.png');
    const dogs = findClassByName(store.db, 'dogs')!.id;
    setLabels(store.db, [id], dogs);
    try {
      const out = path.join(tempDir(), 'sub.csv');
      const r = await exportNow(store, { kind: 'submission', out });
      expect(r.fromLabels).toBe(1);
      expect((await readCsvFile(out))[1]).toEqual(['img_10.png', 'dogs']);
    } finally {
      setLabels(store.db, [id], null);
    }
  });

  it('follows a template: its ids, order and header, finding images the import merged as duplicates', async () => {
    const dir = tempDir();
    const template = path.join(dir, 'sample_submission.csv');
    fs.writeFileSync(template, 'image_id,target\np2,x\ndup,x\nimg_10,x\n"a,comma",x\n');
    const out = path.join(dir, 'sub.csv');
    const r = await exportNow(store, { kind: 'submission', out, template });
    expect(r.rows).toBe(4);
    expect(await readCsvFile(out)).toEqual([
      ['image_id', 'target'],
      ['p2', 'dogs'],
      ['dup', 'say "hi", ok'], // same content as img_2
      ['img_10', 'cats'],
      ['a,comma', 'ñandú 🐦'],
    ]);
    fs.writeFileSync(template, 'image_id,target\np2,x\nnot-there,x\n');
    const e = await ensureError(exportNow(store, { kind: 'submission', out: path.join(dir, 'other.csv'), template }));
    expect(e.code).toBe('bad_input');
    expect(e.message).toMatch(/1 of 2 ids in the template are not test images.*"not-there"/);
    expect(strayFiles(dir, ['sample_submission.csv', 'sub.csv'])).toEqual([]);
  });

  it('refuses a template id that names two test images (one file name in two folders) as ambiguous', async () => {
    const dir = tempDir();
    // One source with a/x.png and b/x.png; two sources that each have y.png.
    await writeImage(path.join(dir, 'test', 'a', 'x.png'), { seed: 40 });
    await writeImage(path.join(dir, 'test', 'b', 'x.png'), { seed: 41 });
    await writeImage(path.join(dir, 'test1', 'y.png'), { seed: 42 });
    await writeImage(path.join(dir, 'test2', 'y.png'), { seed: 43 });
    const s = ProjectStore.create(path.join(dir, 'project'));
    stores.push(s);
    for (const source of ['test', 'test1', 'test2']) await importAll(s, { source: path.join(dir, source), kind: 'files', split: 'test' });
    const run = addRun(s, CLASSES);
    const ids = (s.db.prepare(`SELECT id FROM images`).all() as { id: number }[]).map((r) => r.id);
    expect(ids).toHaveLength(4);
    predict(s, run, ids, CLASSES.length, () => 0);
    const template = path.join(dir, 'sample_submission.csv');
    for (const [id, matches] of [
      ['x', /"x" is ambiguous: it matches 2 test images \(\S*test\/a\/x\.png, \S*test\/b\/x\.png\)/],
      ['x.png', /"x\.png" is ambiguous: it matches 2 test images \(\S*test\/a\/x\.png, \S*test\/b\/x\.png\)/],
      ['y', /"y" is ambiguous: it matches 2 test images \(\S*test1\/y\.png, \S*test2\/y\.png\)/],
    ] as const) {
      fs.writeFileSync(template, `image_id,target\na/x,0\n${id},0\n`);
      const e = await ensureError(exportNow(s, { kind: 'submission', out: path.join(dir, 'sub.csv'), template }));
      expect(e.code, id).toBe('bad_input');
      expect(e.field).toBe('template');
      expect(e.message).toMatch(matches);
    }
    expect(strayFiles(dir, ['sample_submission.csv', 'test', 'test1', 'test2', 'project'])).toEqual([]);
    // Named by their paths, the two x.png are two rows.
    fs.writeFileSync(template, 'image_id,target\nb/x.png,0\na/x,0\n');
    expect(await exportNow(s, { kind: 'submission', out: path.join(dir, 'sub.csv'), template })).toMatchObject({ rows: 2 });
  });

  it('says which run lacks predictions for how many test images, and writes nothing', async () => {
    const partial = addRun(store, CLASSES);
    const ids = (store.db.prepare(`SELECT id FROM images WHERE split = 'test' ORDER BY id`).pluck().all() as number[]).slice(0, 5);
    predict(store, partial, ids, CLASSES.length, () => 0);
    const dir = tempDir();
    const out = path.join(dir, 'submission.csv');
    const e = await ensureError(exportNow(store, { kind: 'submission', out }));
    expect(e.code).toBe('bad_input');
    expect(e.message).toMatch(new RegExp(`Run ${partial} has no prediction for 2 of 7 test images .*run predict first`));
    expect(strayFiles(dir)).toEqual([]);
    // An explicit run with predictions still works; the latest succeeded run is the default.
    expect((await exportNow(store, { kind: 'submission', out, runId })).runId).toBe(runId);
    store.db.prepare('DELETE FROM runs WHERE id = ?').run(partial);
  });

  it('refuses a missing run, no runs at all, an existing file (unless overwrite) and a missing folder', async () => {
    const dir = tempDir();
    const out = path.join(dir, 's.csv');
    expect((await ensureError(exportNow(store, { kind: 'submission', out, runId: 999 }))).code).toBe('not_found');
    fs.writeFileSync(out, 'keep me');
    const exists = await ensureError(exportNow(store, { kind: 'submission', out }));
    expect(exists.code).toBe('conflict');
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
    await exportNow(store, { kind: 'submission', out, overwrite: true });
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^filename,label\n/);
    expect((await ensureError(exportNow(store, { kind: 'submission', out: path.join(dir, 'nope', 's.csv') }))).message).toMatch(/does not exist/);

    const empty = ProjectStore.create(path.join(tempDir(), 'p'));
    stores.push(empty);
    const e = await ensureError(exportNow(empty, { kind: 'submission', out: path.join(dir, 'x.csv') }));
    expect(e).toMatchObject({ code: 'bad_input' });
    expect(e.message).toMatch(/no finished training run/);
  });

  it('leaves no file when cancelled', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const ctx = testContext(controller, (done) => done > 2 && controller.abort());
    const e = await ensureError(exportNow(store, { kind: 'submission', out: path.join(dir, 's.csv') }, ctx));
    expect(e.code).toBe('cancelled');
    expect(strayFiles(dir)).toEqual([]);
  });
});

describe('probabilities CSV', () => {
  it('has one properly quoted column per class and the stored probabilities', async () => {
    const out = path.join(tempDir(), 'probs.csv');
    const r = await exportNow(store, { kind: 'probabilities', out });
    expect(r.columns).toEqual(['filename', ...CLASSES]);
    const rows = await readCsvFile(out);
    expect(rows[0]).toEqual(['filename', ...CLASSES]);
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toBe('filename,cats,dogs,ñandú 🐦,"say ""hi"", ok"');
    expect(rows.length).toBe(8);
    const img2 = rows.find((x) => x[0] === 'img_2.png')!.slice(1).map(Number);
    expect(img2[3]).toBeCloseTo(0.7, 6);
    expect(img2[0]).toBeCloseTo(0.1, 6);
    expect(img2.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('needs a prediction for every test image, labelled or not', async () => {
    const id = imageId(store, 'p1.png');
    const row = store.db.prepare('SELECT * FROM predictions WHERE run_id = ? AND image_id = ?').get(runId, id) as Record<string, unknown>;
    store.db.prepare('DELETE FROM predictions WHERE run_id = ? AND image_id = ?').run(runId, id);
    try {
      const dir = tempDir();
      const e = await ensureError(exportNow(store, { kind: 'probabilities', out: path.join(dir, 'p.csv') }));
      expect(e.message).toMatch(/no prediction for 1 of 7 test images \(first: p1.png\)/);
      expect(strayFiles(dir)).toEqual([]);
    } finally {
      store.db
        .prepare('INSERT INTO predictions (run_id, image_id, predicted, confidence, probabilities, loss) VALUES (?, ?, ?, ?, ?, ?)')
        .run(row.run_id, row.image_id, row.predicted, row.confidence, row.probabilities, row.loss);
    }
  });
});

function countsByClass(s: ProjectStore): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of s.counts().byClass) out[c.name] = c.total;
  return out;
}

describe('dataset export', () => {
  it('copies the labelled images into one folder per class (unicode kept, collisions renamed) and re-imports to the same counts', async () => {
    const out = path.join(tempDir(), 'dataset');
    const r = await exportNow(store, { kind: 'dataset', out });
    expect(r).toMatchObject({ kind: 'dataset', rows: 6, renamed: 1, skippedUnlabelled: 8, folders: [] });
    expect(fs.readdirSync(out).sort()).toEqual(['cats', 'dogs', 'ñandú 🐦']);
    expect(fs.readdirSync(path.join(out, 'cats')).sort()).toEqual(['a (2).png', 'a.png', 'b.jpg']);
    expect(fs.readdirSync(path.join(out, 'dogs')).sort()).toEqual(['c.png', 'Ünïcödé ñame.png']);
    expect(fs.readFileSync(path.join(out, 'cats', 'a.png'))).toEqual(fs.readFileSync(path.join(root, 'train', 'cats', 'a.png')));

    const again = ProjectStore.create(path.join(tempDir(), 'again'));
    stores.push(again);
    await importAll(again, { source: out });
    expect(countsByClass(again)).toEqual({ cats: 3, dogs: 2, 'ñandú 🐦': 1 });
    expect(countsByClass(again)).toEqual(countsByClass(store));
  });

  it('gives class names a folder cannot hold a folder name of their own', async () => {
    const s = ProjectStore.create(path.join(tempDir(), 'odd'));
    stores.push(s);
    const src = tempDir();
    await writeImage(path.join(src, 'x.png'), { seed: 90 });
    await writeImage(path.join(src, 'y.png'), { seed: 91 });
    await importAll(s, { source: src, kind: 'files' });
    const a = s.db.prepare(`INSERT INTO classes (name, color, position) VALUES ('a/b: c?', '#112233', 0)`).run().lastInsertRowid;
    const b = s.db.prepare(`INSERT INTO classes (name, color, position) VALUES ('a_b_ c_', '#112233', 1)`).run().lastInsertRowid;
    setLabels(s.db, [imageId(s, 'x.png')], Number(a));
    setLabels(s.db, [imageId(s, 'y.png')], Number(b));
    const out = path.join(tempDir(), 'odd-dataset');
    const r = await exportNow(s, { kind: 'dataset', out });
    expect(r.folders).toEqual([
      { className: 'a/b: c?', folder: 'a_b_ c_' },
      { className: 'a_b_ c_', folder: 'a_b_ c_ (2)' },
    ]);
    expect(fs.readdirSync(out).sort()).toEqual(['a_b_ c_', 'a_b_ c_ (2)']);
  });

  it('writes filename,label,split that re-imports with its images folder to the same counts per class and split', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'labels.csv');
    const r = await exportNow(store, { kind: 'dataset-csv', out });
    expect(r).toMatchObject({ rows: 6, columns: ['filename', 'label', 'split'], imagesFolder: path.join(root, 'train') });
    const rows = await readCsvFile(out);
    expect(rows[0]).toEqual(['filename', 'label', 'split']);
    expect(rows).toContainEqual(['cats/sub/a.png', 'cats', 'train']);
    expect(rows).toContainEqual(['ñandú 🐦/bird.webp', 'ñandú 🐦', 'train']);

    const again = ProjectStore.create(path.join(tempDir(), 'again-csv'));
    stores.push(again);
    await importAll(again, { source: r.imagesFolder!, kind: 'csv', csv: out, images: r.imagesFolder! });
    expect(countsByClass(again)).toEqual(countsByClass(store));
    expect(again.counts().byClass.map((c) => [c.name, c.train, c.val])).toEqual(store.counts().byClass.map((c) => [c.name, c.train, c.val]));
  });

  it('refuses a non-empty folder and leaves nothing behind when cancelled', async () => {
    const parent = tempDir();
    const full = path.join(parent, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'keep.txt'), 'x');
    expect((await ensureError(exportNow(store, { kind: 'dataset', out: full }))).code).toBe('not_empty');

    const controller = new AbortController();
    const ctx = testContext(controller, (done) => done >= 2 && controller.abort());
    const e = await ensureError(exportNow(store, { kind: 'dataset', out: path.join(parent, 'ds') }, ctx));
    expect(e.code).toBe('cancelled');
    expect(strayFiles(parent, ['full'])).toEqual([]);
  });

  it('names the missing files of a moved source instead of copying half a tree', async () => {
    const s = ProjectStore.create(path.join(tempDir(), 'moved'));
    stores.push(s);
    const src = path.join(tempDir(), 'src');
    await writeImage(path.join(src, 'k', 'one.png'), { seed: 70 });
    await importAll(s, { source: src });
    fs.rmSync(src, { recursive: true });
    const parent = tempDir();
    const e = await ensureError(exportNow(s, { kind: 'dataset', out: path.join(parent, 'ds') }));
    expect(e.message).toMatch(/1 of 1 image files are missing .*relocate/);
    expect(strayFiles(parent)).toEqual([]);
  });
});

describe('exportData request', () => {
  it('runs as a job and validates its input', async () => {
    const studio = new Studio({ userDataDir: tempDir(), mode: 'test' });
    try {
      await studio.call('openProject', { dir: store.dir });
      const out = path.join(tempDir(), 'via-studio.csv');
      const job = await studio.call('exportData', { kind: 'submission', out, stripExtension: true });
      expect(job.kind).toBe('export');
      const done = await studio.jobs.wait(job);
      expect(done.state).toBe('succeeded');
      expect(done.result?.rows).toBe(7);
      expect(fs.existsSync(out)).toBe(true);
      const bad = await studio.handle('exportData', { kind: 'pictures', out });
      expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'kind' } });
      const failed = await studio.jobs.wait((await studio.call('exportData', { kind: 'submission', out: `${out}.2`, runId: 4242 })).id);
      expect(failed).toMatchObject({ state: 'failed', error: { code: 'not_found' } });
    } finally {
      await studio.dispose();
    }
  });
});

