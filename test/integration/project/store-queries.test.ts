/**
 * The store's typed queries that services ask instead of writing SQL: images resolved to their
 * files, the training set, runs and their folders, predictions for an export, the integrity check
 * and the app version. Real SQLite files and real image files.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { version as packageVersion } from '../../../package.json';
import { addClass } from '../../../src/main/store/classes';
import {
  imageByHash,
  imageFile,
  imageFilePath,
  imageFiles,
  labelledImageFiles,
  testImageFiles,
  trainingImages,
} from '../../../src/main/store/image-files';
import { addImages, type NewImage } from '../../../src/main/store/images';
import { predictionsFor } from '../../../src/main/store/predictions';
import { createRun, deleteRun, findRun, finishRun, latestSucceededRun, savePredictions } from '../../../src/main/store/runs';
import { addSource, findSource } from '../../../src/main/store/sources';
import { writeImage } from '../../fixtures/images';
import { importNow, newStore, removeTempDirs, tempDir } from '../helpers';

afterEach(removeTempDirs);

const image = (relPath: string, hash: string, split: NewImage['split'], label: string | null): NewImage => ({
  relPath,
  hash,
  bytes: 1,
  width: 1,
  height: 1,
  format: 'png',
  split,
  label,
});

const config = { scenario: 1, model: 'm', epochs: 1 } as never;

describe('imageFilePath', () => {
  it("joins the source root with a relative path's '/' segments", () => {
    const root = path.join(tempDir(), 'photos');
    expect(imageFilePath(root, 'a.png')).toBe(path.join(root, 'a.png'));
    expect(imageFilePath(root, 'cats/indoor/deep/a.png')).toBe(path.join(root, 'cats', 'indoor', 'deep', 'a.png'));
  });

  it.skipIf(process.platform === 'win32')('keeps a backslash as part of a POSIX file name (rel_path has always been stored with /)', () => {
    expect(imageFilePath('/data', 'cats/a\\b.png')).toBe('/data/cats/a\\b.png');
  });
});

describe('images resolved to files', () => {
  it('finds every imported file, however deep, through each query', async () => {
    const src = tempDir();
    const files = ['cat/a.png', 'cat/sub/deep/b.png', 'dog/c.png', ...(process.platform === 'win32' ? [] : ['dog/we\\ird.png'])];
    for (let i = 0; i < files.length; i++) await writeImage(path.join(src, ...files[i]!.split('/')), { seed: i + 1 });
    const store = newStore();
    const report = await importNow(store, { source: src });
    expect(report.added).toBe(files.length);
    const all = imageFiles(store.db);
    expect(all.map((f) => f.relPath).sort()).toEqual([...files].sort());
    for (const f of all) {
      expect(f.path).toBe(path.join(src, ...f.relPath.split('/')));
      expect(fs.existsSync(f.path)).toBe(true);
      expect(imageFile(store.db, f.id)).toEqual(f);
      expect(imageByHash(store.db)(f.hash)).toEqual(f);
    }
    expect(imageFile(store.db, 9999)).toBeNull();
    expect(imageByHash(store.db)('no such hash')).toBeUndefined();
    store.close();
  });

  it('answers the training set, labelled images class by class, the test images and splits', () => {
    const store = newStore();
    addClass(store.db, 'zebra'); // first class by position, created before the import names it
    const csv = addSource(store.db, 'csv', '/data/csv', 'labels.csv');
    const folder = addSource(store.db, 'folder', '/data/folder');
    const r = addImages(store.db, folder, [
      image('t1.png', 'h9', 'train', 'ant'),
      image('v1.png', 'h2', 'val', 'zebra'),
      image('u1.png', 'h3', 'train', null),
      image('x10.png', 'h4', 'test', null),
      image('t2.png', 'h5', 'train', 'zebra'),
      image('x2.png', 'h6', 'test', 'ant'),
    ]);
    addImages(store.db, csv, [image('c1.png', 'h7', 'test', null)]);
    expect(r).toEqual({ added: 6, notAdded: [], classesCreated: ['ant'] });

    expect(trainingImages(store.db).map((f) => [f.relPath, f.className, f.split])).toEqual([
      ['t1.png', 'ant', 'train'],
      ['v1.png', 'zebra', 'val'],
      ['t2.png', 'zebra', 'train'],
    ]);
    expect(labelledImageFiles(store.db).map((f) => f.relPath)).toEqual(['v1.png', 't2.png', 't1.png', 'x2.png']);
    expect(labelledImageFiles(store.db, ['train', 'val']).map((f) => f.relPath)).toEqual(['v1.png', 't2.png', 't1.png']);
    expect(imageFiles(store.db, ['test']).map((f) => f.relPath)).toEqual(['x10.png', 'x2.png', 'c1.png']);
    expect(testImageFiles(store.db).map((f) => [f.relPath, f.sourceKind, f.sourceDescription])).toEqual([
      ['c1.png', 'csv', 'labels.csv'],
      ['x10.png', 'folder', ''],
      ['x2.png', 'folder', ''],
    ]);
    expect(findSource(store.db, 'csv', '/data/csv')).toBe(csv);
    expect(findSource(store.db, 'folder', '/data/csv')).toBeUndefined();
    store.close();
  });

  it('adds nothing twice: content already there comes back as not added, and no class is made for it', () => {
    const store = newStore();
    const src = addSource(store.db, 'folder', '/data');
    addImages(store.db, src, [image('a.png', 'same', 'train', 'cat')]);
    const again = addImages(store.db, src, [image('b.png', 'same', 'train', 'dog'), image('c.png', 'other', 'train', 'cat')]);
    expect(again.added).toBe(1);
    expect(again.notAdded.map((i) => i.relPath)).toEqual(['b.png']);
    expect(again.classesCreated).toEqual(['dog']); // the class is made with the batch, as the import did
    expect(imageFiles(store.db).map((f) => [f.relPath, f.fileName])).toEqual([
      ['a.png', 'a.png'],
      ['c.png', 'c.png'],
    ]);
    store.close();
  });
});

describe('runs', () => {
  it('the latest succeeded run, a run by id, deleting one with its predictions, and its folder', () => {
    const store = newStore();
    const src = addSource(store.db, 'folder', '/data');
    addImages(store.db, src, [image('a.png', 'h1', 'test', null), image('b.png', 'h2', 'test', null)]);
    const [a, b] = imageFiles(store.db).map((f) => f.id) as [number, number];
    expect(latestSucceededRun(store.db)).toBeUndefined();
    const one = createRun(store.db, { config, classNames: ['x', 'y'], jobId: 'j1' });
    finishRun(store.db, one, 'succeeded', {});
    const two = createRun(store.db, { config, classNames: ['x', 'y'], jobId: 'j2' });
    finishRun(store.db, two, 'failed', { error: 'boom' });
    expect(latestSucceededRun(store.db)?.id).toBe(one);
    expect(findRun(store.db, two)?.state).toBe('failed');
    expect(findRun(store.db, 99)).toBeUndefined();

    savePredictions(store.db, one, [{ imageId: a, probabilities: [0.25, 0.75], trueIndex: null }]);
    const preds = predictionsFor(store.db, one, [a, b, a]);
    expect([...preds.keys()]).toEqual([a]);
    expect(preds.get(a)).toEqual({ predicted: 1, probabilities: [0.25, 0.75], views: ['identity'] });

    const dir = store.runDir(one);
    expect(dir).toBe(path.join(store.dir, 'runs', String(one)));
    expect(fs.existsSync(dir)).toBe(false); // asking for the path makes nothing
    expect(store.runDir(one, { create: true })).toBe(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);

    deleteRun(store.db, one);
    expect(findRun(store.db, one)).toBeUndefined();
    expect(predictionsFor(store.db, one, [a]).size).toBe(0);
    store.close();
  });
});

describe('the project file', () => {
  it('passes the integrity check, and records the app version from package.json', () => {
    const store = newStore();
    expect(store.integrityCheck()).toBe('ok');
    const file = path.join(store.dir, 'project.sqlite');
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT app_version FROM project').pluck().get()).toBe(packageVersion);
    db.close();
  });
});
