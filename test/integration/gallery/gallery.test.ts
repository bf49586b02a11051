import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/host/studio';
import * as images from '../../../src/main/store/images';
import { addClass, listClasses } from '../../../src/main/store/classes';
import type { ProjectStore } from '../../../src/main/store/project-store';
import { writeImage } from '../../fixtures/images';
import { newStore, removeTempDirs, tempDir } from '../helpers';

const stores: ProjectStore[] = [];
const track = (s: ProjectStore): ProjectStore => (stores.push(s), s);
afterAll(() => {
  stores.forEach((s) => s.close());
  removeTempDirs();
});

/** Fills a store with `n` synthetic image rows (no files): the queries do not read files. */
function fill(store: ProjectStore, n: number, classNames: string[]): number[] {
  const classIds = classNames.map((c) => addClass(store.db, c).id);
  const src = Number(store.db.prepare("INSERT INTO sources (kind, root, imported_at) VALUES ('folder', '/data', 'now')").run().lastInsertRowid);
  const ins = store.db.prepare(
    `INSERT INTO images (source_id, rel_path, file_name, hash, bytes, width, height, format, split, class_id, imported_at)
     VALUES (?, ?, ?, ?, 100, 32, 32, 'png', ?, ?, 'now')`,
  );
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const cls = i % 10 === 9 ? null : classIds[i % classIds.length]!;
      const name = `img_${String((i * 7919) % n).padStart(6, '0')}${i % 50 === 0 ? '_special' : ''}.png`;
      ins.run(src, `x/${name}`, name, `h${i}`, i % 20 === 0 ? 'test' : 'train', cls);
    }
  })();
  return classIds;
}

describe('gallery queries', () => {
  it('pages, filters, sorts and counts; every listing uses an index at 100,000 rows', () => {
    const store = track(newStore());
    const [a, b] = fill(store, 100_000, ['a', 'b', 'c']);
    const first = images.listImages(store.db, { limit: 500 });
    expect(first.total).toBe(100_000);
    expect(first.rows).toHaveLength(500);
    expect(first.rows[0]).toEqual({ id: 1, fileName: 'img_000000_special.png', classId: a, split: 'test', width: 32, height: 32 });
    const page = images.listImages(store.db, { offset: 99_900, limit: 500 });
    expect(page.rows).toHaveLength(100);
    expect(page.rows[99]!.id).toBe(100_000);

    const unl = images.listImages(store.db, { filter: { classId: 'unlabelled' }, limit: 5 });
    expect(unl.total).toBe(10_000);
    expect(unl.rows.every((r) => r.classId === null)).toBe(true);
    const bTrain = images.listImages(store.db, { filter: { classId: b!, split: 'train' }, sort: { by: 'name', desc: false }, limit: 3 });
    const names = bTrain.rows.map((r) => r.fileName);
    expect([...names].sort()).toEqual(names);
    expect(bTrain.rows.every((r) => r.classId === b && r.split === 'train')).toBe(true);
    expect(images.listImages(store.db, { filter: { name: 'SPECIAL' } }).total).toBe(2000);
    expect(images.listImages(store.db, { filter: { name: '100%_' } }).total).toBe(0); // LIKE wildcards are literal
    const desc = images.listImages(store.db, { sort: { by: 'name', desc: true }, limit: 2 });
    expect(desc.rows[0]!.fileName >= desc.rows[1]!.fileName).toBe(true);
    const byClass = images.listImages(store.db, { sort: { by: 'class', desc: false }, offset: 9_999, limit: 2 });
    expect(byClass.rows.map((r) => r.classId)).toEqual([null, a]);

    const filters = [{}, { classId: a! }, { classId: 'unlabelled' as const }, { split: 'val' as const }, { classId: a!, split: 'train' as const }];
    for (const filter of filters)
      for (const by of ['imported', 'name', 'class'] as const) {
        const plan = images.explainListImages(store.db, filter, { by, desc: false }).join(' | ');
        expect(plan, `${JSON.stringify(filter)} by ${by}`).not.toMatch(/TEMP B-TREE/);
      }
    expect(images.imageIds(store.db, { classId: b!, split: 'test' })).toHaveLength(
      images.listImages(store.db, { filter: { classId: b!, split: 'test' } }).total,
    );
  });

  it('labels with undo and redo, sets splits, merges classes', () => {
    const store = track(newStore());
    const [a, b, c] = fill(store, 100, ['a', 'b', 'c']);
    const ids = images.imageIds(store.db, { split: 'train' }).slice(0, 20);
    const before = images.listImages(store.db, { limit: 500 }).rows.map((r) => r.classId);
    const r = images.setLabels(store.db, ids, c!);
    expect(r.previous.flatMap((g) => g.ids).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    expect(images.imageIds(store.db, { classId: c! })).toEqual(expect.arrayContaining(ids));
    const redo = images.restoreLabels(store.db, r.previous);
    expect(images.listImages(store.db, { limit: 500 }).rows.map((x) => x.classId)).toEqual(before);
    images.restoreLabels(store.db, redo.previous);
    expect(images.imageIds(store.db, { classId: c! })).toEqual(expect.arrayContaining(ids));
    expect(() => images.setLabels(store.db, ids, 999)).toThrow(expect.objectContaining({ code: 'not_found' }));
    images.setLabels(store.db, ids.slice(0, 5), null);
    expect(images.imageIds(store.db, { classId: 'unlabelled' })).toEqual(expect.arrayContaining(ids.slice(0, 5)));

    expect(images.setSplit(store.db, ids, 'val').changed).toBe(20);
    expect(images.listImages(store.db, { filter: { split: 'val' } }).total).toBe(20);

    const countA = images.listImages(store.db, { filter: { classId: a! } }).total;
    const countB = images.listImages(store.db, { filter: { classId: b! } }).total;
    expect(images.mergeClasses(store.db, [b!], a!).moved).toBe(countB);
    expect(images.listImages(store.db, { filter: { classId: a! } }).total).toBe(countA + countB);
    expect(listClasses(store.db).map((x) => x.name)).toEqual(['a', 'c']);
    expect(() => images.mergeClasses(store.db, [a!], a!)).toThrow(expect.objectContaining({ code: 'bad_input' }));
  });

  it('stratified split: per class, seeded, deterministic, leaves test and unlabelled alone', () => {
    const store = track(newStore());
    fill(store, 2000, ['a', 'b', 'c']);
    const testBefore = images.imageIds(store.db, { split: 'test' });
    const s1 = images.stratifiedSplit(store.db, 0.25, 7);
    const val1 = images.imageIds(store.db, { split: 'val' });
    for (const c of s1.perClass) {
      const n = c.train + c.val;
      expect(Math.abs(c.val - n * 0.25)).toBeLessThanOrEqual(0.5);
      expect(images.listImages(store.db, { filter: { classId: c.classId, split: 'val' } }).total).toBe(c.val);
    }
    expect(images.imageIds(store.db, { split: 'test' })).toEqual(testBefore);
    expect(images.listImages(store.db, { filter: { classId: 'unlabelled', split: 'val' } }).total).toBe(0);
    // Same seed: same split, whatever the current state. Another seed: another split.
    images.setSplit(store.db, val1, 'train');
    images.stratifiedSplit(store.db, 0.25, 7);
    expect(images.imageIds(store.db, { split: 'val' })).toEqual(val1);
    images.stratifiedSplit(store.db, 0.25, 8);
    expect(images.imageIds(store.db, { split: 'val' })).not.toEqual(val1);
    // A class of two still gets one validation image.
    const tiny = addClass(store.db, 'tiny').id;
    images.setLabels(store.db, images.imageIds(store.db, { classId: 'unlabelled', split: 'train' }).slice(0, 2), tiny);
    expect(images.stratifiedSplit(store.db, 0.1, 1).perClass.find((c) => c.classId === tiny)).toMatchObject({ train: 1, val: 1 });
  });
});

describe('through the Studio', () => {
  it('imports as a job, then lists, labels, splits and reports sources via requests', async () => {
    const src = tempDir();
    for (let i = 0; i < 12; i++) await writeImage(path.join(src, i < 6 ? 'red' : 'blue', `${i}.png`), { seed: 700 + i, w: 24, h: 24 });
    const studio = new Studio({ userDataDir: path.join(tempDir(), 'home'), mode: 'test' });
    const changes: string[][] = [];
    studio.on('store.changed', (e) => changes.push(e.topics));
    try {
      await studio.call('createProject', { dir: path.join(tempDir(), 'p') });
      const job = await studio.call('importImages', { source: src });
      expect(job.kind).toBe('import');
      const done = await studio.jobs.wait(job);
      expect(done.state).toBe('succeeded');
      expect(done.result?.added).toBe(12);
      expect(changes.some((t) => t.includes('images'))).toBe(true);

      const page = await studio.call('listImages', { filter: { classId: 'unlabelled' } });
      expect(page.total).toBe(0);
      const all = await studio.call('listImages', { sort: { by: 'name' }, limit: 5 });
      expect(all.total).toBe(12);
      expect(all.rows).toHaveLength(5);
      const ids = await studio.call('imageIds', {});
      const red = (await studio.call('listClasses', {})).find((c) => c.name === 'red')!;
      // Subfolders are walked in name order: blue (ids 1-6) before red.
      const set = await studio.call('setLabels', { ids: ids.slice(0, 6), classId: red.id });
      expect(set.changed).toBe(6);
      expect((await studio.call('listImages', { filter: { classId: red.id } })).total).toBe(12);
      await studio.call('restoreLabels', { groups: set.previous });
      expect((await studio.call('listImages', { filter: { classId: red.id } })).total).toBe(6);
      const details = await studio.call('imageDetails', { id: ids[0]! });
      expect(details).toMatchObject({ id: ids[0], className: 'blue', fileName: '6.png', relPath: 'blue/6.png', exists: true, format: 'png', width: 24 });
      const split = await studio.call('autoSplit', { val: 0.5, seed: 3 });
      expect(split).toMatchObject({ train: 6, val: 6 });
      expect((await studio.call('sourcesStatus', {}))[0]).toMatchObject({ kind: 'folder', root: src, exists: true, images: 12 });
      await expect(studio.call('listImages', { limit: 501 })).rejects.toMatchObject({ code: 'bad_request', field: 'limit' });
      await expect(studio.call('importImages', { source: '' })).rejects.toMatchObject({ code: 'bad_request' });
      await expect(studio.call('setSplit', { ids: [1], split: 'holdout' as never })).rejects.toMatchObject({ code: 'bad_request' });
    } finally {
      await studio.dispose();
    }
  });
});
