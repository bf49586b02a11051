import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relocateSource } from '../../../src/main/media/sources';
import { readCsv } from '../../../src/main/media/csv';
import { listClasses } from '../../../src/main/store/classes';
import type { ProjectStore } from '../../../src/main/store/project-store';
import { sourcesStatus } from '../../../src/main/store/sources';
import { writeImage, writeZip } from '../../fixtures/images';
import { importNow, newStore, removeTempDirs, tempDir } from '../helpers';

const stores: ProjectStore[] = [];
const track = (s: ProjectStore): ProjectStore => (stores.push(s), s);
afterAll(() => {
  stores.forEach((s) => s.close());
  removeTempDirs();
});

const labelOf = (store: ProjectStore, file: string): string | null | undefined =>
  (
    store.db.prepare('SELECT c.name AS name FROM images i LEFT JOIN classes c ON c.id = i.class_id WHERE i.file_name = ?').get(file) as
      | { name: string | null }
      | undefined
  )?.name;

describe('CSV source', () => {
  it('reads a header, quotes, BOM and CRLF; lists each bad row with its number', async () => {
    const root = tempDir();
    const images = path.join(root, 'imgs');
    for (let i = 0; i < 5; i++) await writeImage(path.join(images, `img${i}.png`), { seed: 200 + i });
    await writeImage(path.join(images, 'sub', 'deep.png'), { seed: 210 });
    await writeImage(path.join(root, 'outside.png'), { seed: 211 });
    await writeImage(path.join(images, 'noext-id.jpg'), { seed: 212 });
    const csv = path.join(root, 'labels.csv');
    fs.writeFileSync(
      csv,
      '\uFEFFfilename,label\r\n' + // 1 header
        'img0.png,cat\r\n' + // 2
        '"img1.png","big, fluffy dog"\r\n' + // 3 quoted comma
        'img2.png,\r\n' + // 4 unlabelled
        'missing.png,cat\r\n' + // 5 missing file
        'img3.png,cat,extra\r\n' + // 6 extra column
        'img4.png\r\n' + // 7 too few columns
        '../outside.png,cat\r\n' + // 8 leaves the folder
        `${path.join(root, 'outside.png')},cat\r\n` + // 9 absolute, outside
        'sub/deep.png,"say ""hi"""\r\n' + // 10 subfolder + escaped quotes
        '\r\n' + // 11 blank line: ignored
        'noext-id,cat\r\n', // 12 id without extension
    );
    const store = track(newStore());
    const report = await importNow(store, { source: csv, images });
    expect(report.added).toBe(5);
    expect(report.failures).toEqual([
      { file: 'missing.png', row: 5, reason: 'missing file' },
      { file: 'img3.png', row: 6, reason: 'row has 3 columns, expected 2 (unknown extra column)' },
      { file: 'img4.png', row: 7, reason: 'row has 1 column, expected 2' },
      { file: '../outside.png', row: 8, reason: 'path leaves the images folder' },
      { file: path.join(root, 'outside.png'), row: 9, reason: 'path leaves the images folder' },
    ]);
    expect(labelOf(store, 'img0.png')).toBe('cat');
    expect(labelOf(store, 'img1.png')).toBe('big, fluffy dog');
    expect(labelOf(store, 'img2.png')).toBeNull();
    expect(labelOf(store, 'deep.png')).toBe('say "hi"');
    expect(labelOf(store, 'noext-id.jpg')).toBe('cat');
    expect(report.classesCreated.sort()).toEqual(['big, fluffy dog', 'cat', 'say "hi"']);
    expect(sourcesStatus(store.db)[0]).toMatchObject({ kind: 'csv', root: images, exists: true, images: 5 });
  });

  it('semicolons, no header, a split column; images folder defaults to the CSV folder', async () => {
    const root = tempDir();
    for (let i = 0; i < 4; i++) await writeImage(path.join(root, `p${i}.jpg`), { seed: 300 + i });
    const csv = path.join(root, 'list.csv');
    fs.writeFileSync(csv, 'p0.jpg;A;train\np1.jpg;B;val\np2.jpg;A;test\np3.jpg;B;holdout\n');
    const store = track(newStore());
    const report = await importNow(store, { source: csv });
    expect(report.added).toBe(3);
    expect(report.failures).toEqual([{ file: 'p3.jpg', row: 4, reason: 'unknown split "holdout" (train, val or test)' }]);
    const splits = Object.fromEntries(
      (store.db.prepare('SELECT file_name, split, class_id FROM images').all() as { file_name: string; split: string; class_id: number | null }[]).map((r) => [
        r.file_name,
        [r.split, r.class_id === null],
      ]),
    );
    expect(splits).toEqual({ 'p0.jpg': ['train', false], 'p1.jpg': ['val', false], 'p2.jpg': ['test', true] });
  });

  it('parses quoted newlines and "" escapes across stream chunks', async () => {
    const file = path.join(tempDir(), 'big.csv');
    const lines = ['name,label'];
    for (let i = 0; i < 20000; i++) lines.push(i % 1000 === 0 ? `"x${i}.png","multi\nline ""${i}"""` : `x${i}.png,l${i % 7}`);
    fs.writeFileSync(file, lines.join('\n'));
    let n = 0;
    let last: string[] = [];
    for await (const r of readCsv(file)) {
      n++;
      if (r.fields[0] === 'x5000.png') last = r.fields;
    }
    expect(n).toBe(20001);
    expect(last).toEqual(['x5000.png', 'multi\nline "5000"']);
  });
});

describe('zip source', () => {
  it('extracts into the project, imports class folders, skips zip-slip and bomb entries', async () => {
    const tmp = tempDir();
    const a = fs.readFileSync(await writeImage(path.join(tmp, 'a.png'), { seed: 400 }));
    const b = fs.readFileSync(await writeImage(path.join(tmp, 'b.jpg'), { seed: 401 }));
    const c = fs.readFileSync(await writeImage(path.join(tmp, 'c.png'), { seed: 402 }));
    const zip = path.join(tmp, 'set.zip');
    writeZip(zip, [
      { name: 'dataset/', data: Buffer.alloc(0) },
      { name: 'dataset/ants/a.png', data: a },
      { name: 'dataset/bees/b.jpg', data: b, deflate: true },
      { name: 'dataset/c.png', data: c },
      { name: 'dataset/__MACOSX/._a.png', data: Buffer.from('junk') },
      { name: '../../evil.png', data: a },
      { name: 'dataset/bomb.bin', data: Buffer.alloc(50 * 1024 * 1024), deflate: true },
    ]);
    const store = track(newStore());
    const report = await importNow(store, { source: zip });
    expect(report.added).toBe(3);
    expect(report.classesCreated.sort()).toEqual(['ants', 'bees']);
    expect(report.failures).toEqual([
      { file: '../../evil.png', reason: 'path leaves the extraction folder (zip-slip); skipped' },
      { file: 'dataset/bomb.bin', reason: expect.stringMatching(/compression ratio \d+:1 is too high/) },
    ]);
    expect(fs.existsSync(path.join(store.dir, '..', 'evil.png'))).toBe(false);
    expect(fs.existsSync(path.join(path.dirname(store.dir), '..', 'evil.png'))).toBe(false);
    expect(report.root).toBe(path.join(store.dir, 'imported', '1', 'dataset'));
    expect(sourcesStatus(store.db)[0]).toMatchObject({ kind: 'zip', exists: true, images: 3 });
    expect(labelOf(store, 'c.png')).toBeNull();
  });

  it('refuses a zip whose declared sizes add up past the limit, and a file that is not a zip', async () => {
    const tmp = tempDir();
    const zip = path.join(tmp, 'bomb.zip');
    writeZip(zip, [
      { name: 'x.png', data: Buffer.alloc(1000), deflate: true },
      { name: 'y.png', data: Buffer.alloc(1000), deflate: true },
      { name: 'z.png', data: Buffer.alloc(1000), deflate: true },
    ]);
    const store = track(newStore());
    await expect(importNow(store, { source: zip }, { zipLimits: { maxTotalBytes: 2500 } })).rejects.toMatchObject({ code: 'bad_input', message: /would expand/ });
    expect(fs.readdirSync(path.join(store.dir, 'imported'))).toEqual([]);
    // A stored entry whose header lies about its size: yauzl notices, the zip is refused.
    writeZip(zip, [{ name: 'x.png', data: Buffer.alloc(1000), claimSize: 4000 }]);
    await expect(importNow(store, { source: zip })).rejects.toMatchObject({ code: 'bad_input', message: /damaged or not a valid zip/ });
    expect(fs.readdirSync(path.join(store.dir, 'imported'))).toEqual([]);
    fs.writeFileSync(path.join(tmp, 'fake.zip'), 'not a zip');
    await expect(importNow(store, { source: path.join(tmp, 'fake.zip') })).rejects.toMatchObject({ code: 'bad_input', message: /not a readable zip/ });
  });

  it('imports a zip with a CSV inside', async () => {
    const tmp = tempDir();
    const a = fs.readFileSync(await writeImage(path.join(tmp, 'a.png'), { seed: 500 }));
    const b = fs.readFileSync(await writeImage(path.join(tmp, 'b.png'), { seed: 501 }));
    const zip = path.join(tmp, 'kaggle.zip');
    writeZip(zip, [
      { name: 'train.csv', data: Buffer.from('id,label\nimages/a.png,x\nimages/b.png,y\nimages/zz.png,y\n') },
      { name: 'images/a.png', data: a },
      { name: 'images/b.png', data: b },
    ]);
    const store = track(newStore());
    const report = await importNow(store, { source: zip });
    expect(report.added).toBe(2);
    expect(report.failures).toEqual([{ file: 'images/zz.png', row: 4, reason: 'missing file' }]);
    expect(listClasses(store.db).map((c) => c.name)).toEqual(['x', 'y']);
  });
});

describe('moved sources', () => {
  it('detects a moved folder and relocates it only where the same files are', async () => {
    const tmp = tempDir();
    const src = path.join(tmp, 'photos');
    for (let i = 0; i < 30; i++) await writeImage(path.join(src, i % 2 ? 'odd' : 'even', `${i}.png`), { seed: 600 + i, w: 16, h: 16 });
    const store = track(newStore());
    const report = await importNow(store, { source: src });
    expect(report.added).toBe(30);
    const id = report.sourceId!;
    const moved = path.join(tmp, 'moved-photos');
    fs.renameSync(src, moved);
    expect(sourcesStatus(store.db)).toEqual([expect.objectContaining({ id, root: src, exists: false, images: 30 })]);

    // A folder with the same names but different content is refused, and nothing changes.
    const decoy = path.join(tmp, 'decoy');
    for (let i = 0; i < 30; i++) await writeImage(path.join(decoy, i % 2 ? 'odd' : 'even', `${i}.png`), { seed: 900 + i, w: 16, h: 16 });
    await expect(relocateSource(store, id, decoy)).rejects.toMatchObject({ code: 'bad_input', message: /20 checked, 0 missing and 20 different/ });
    await expect(relocateSource(store, id, path.join(tmp, 'nowhere'))).rejects.toMatchObject({ code: 'bad_input' });
    expect(sourcesStatus(store.db)[0]!.root).toBe(src);

    const r = await relocateSource(store, id, moved);
    expect(r).toEqual({ id, root: moved, checked: 20 });
    expect(sourcesStatus(store.db)[0]).toMatchObject({ root: moved, exists: true });
    await expect(relocateSource(store, 9999, moved)).rejects.toMatchObject({ code: 'not_found' });
  });
});
