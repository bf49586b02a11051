import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { thumbnailPath, imagePath, ensureThumbnail } from '../../../src/main/media/files';
import { listImages } from '../../../src/main/store/images';
import { walkFiles } from '../../../src/main/media/walk';
import { listClasses } from '../../../src/main/store/classes';
import type { ProjectStore } from '../../../src/main/store/project-store';
import { writeDigits } from '../../fixtures/digits';
import { writeBadCorpus, writeImage } from '../../fixtures/images';
import { DIGITS_PNG, PHOTOS } from '../../fixtures/assets';
import { importNow, newStore, reasonOf, removeTempDirs, tempDir, testContext } from '../helpers';

const stores: ProjectStore[] = [];
const track = (s: ProjectStore): ProjectStore => (stores.push(s), s);
afterAll(() => {
  stores.forEach((s) => s.close());
  removeTempDirs();
});

function rows(store: ProjectStore): { id: number; file_name: string; rel_path: string; class_id: number | null; split: string; width: number; height: number; format: string; hash: string }[] {
  return store.db.prepare('SELECT * FROM images ORDER BY id').all() as never;
}

describe('folder import (class per subfolder)', () => {
  it('imports good images, names classes after folders, reports each bad file with a specific reason', async () => {
    const src = tempDir();
    await writeImage(path.join(src, 'cats', 'a.png'), { seed: 1 });
    await writeImage(path.join(src, 'cats', 'b.jpg'), { seed: 2 });
    await writeImage(path.join(src, 'dogs', 'nested', 'c.webp'), { seed: 3 });
    await writeImage(path.join(src, 'dogs', 'Ünïcödé ñame.png'), { seed: 4 });
    await writeImage(path.join(src, 'dogs', '🐶 emoji.png'), { seed: 5 });
    await writeImage(path.join(src, 'loose.png'), { seed: 6 });
    fs.copyFileSync(path.join(src, 'cats', 'a.png'), path.join(src, 'dogs', 'copy-of-a.png'));
    fs.writeFileSync(path.join(src, 'cats', '.DS_Store'), 'junk');
    const expected = await writeBadCorpus(path.join(src, 'cats'));

    const store = track(newStore());
    const report = await importNow(store, { source: src });
    expect(report.cancelled).toBe(false);
    expect(report.added).toBe(6);
    expect(report.classesCreated.sort()).toEqual(['cats', 'dogs']);
    expect(report.duplicateCount).toBe(1);
    expect(report.duplicates[0]).toMatchObject({ file: 'dogs/copy-of-a.png', existing: path.join(src, 'cats', 'a.png') });
    for (const [file, reason] of Object.entries(expected)) expect(reasonOf(report, `cats/${file}`), file).toMatch(reason);
    expect(report.failureCount).toBe(Object.keys(expected).length);

    const all = rows(store);
    const classes = new Map(listClasses(store.db).map((c) => [c.name, c.id]));
    const byName = new Map(all.map((r) => [r.file_name, r]));
    expect(byName.get('loose.png')!.class_id).toBeNull();
    expect(byName.get('c.webp')).toMatchObject({ rel_path: 'dogs/nested/c.webp', class_id: classes.get('dogs'), format: 'webp' });
    expect(byName.get('Ünïcödé ñame.png')!.class_id).toBe(classes.get('dogs'));
    expect(byName.get('🐶 emoji.png')!.rel_path).toBe('dogs/🐶 emoji.png');
    expect(all.every((r) => r.split === 'train')).toBe(true);
    // Every image has a thumbnail and its original is where the store says.
    for (const r of all) {
      expect(fs.existsSync(thumbnailPath(store, r.id)!)).toBe(true);
      expect(fs.existsSync(imagePath(store, r.id)!)).toBe(true);
    }
    expect(thumbnailPath(store, 999999)).toBeNull();

    // Importing the same folder again adds nothing: all duplicates, same source reused.
    const again = await importNow(store, { source: src });
    expect(again.added).toBe(0);
    expect(again.duplicateCount).toBe(7);
    expect(again.sourceId).toBe(report.sourceId);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM sources').get()).toEqual({ n: 1 });
  });

  it('reads a split-first layout: train/<class>, validation/<class>, test (unlabelled)', async () => {
    const src = tempDir();
    await writeImage(path.join(src, 'train', 'cat', '1.png'), { seed: 31 });
    await writeImage(path.join(src, 'train', 'dog', '2.png'), { seed: 32 });
    await writeImage(path.join(src, 'validation', 'cat', '3.png'), { seed: 33 });
    await writeImage(path.join(src, 'test', '4.png'), { seed: 34 });
    await writeImage(path.join(src, 'test', 'dog', '5.png'), { seed: 35 });
    const store = track(newStore());
    const report = await importNow(store, { source: src });
    expect(report.added).toBe(5);
    expect(report.classesCreated.sort()).toEqual(['cat', 'dog']);
    const got = Object.fromEntries(rows(store).map((r) => [r.file_name, [r.split, r.class_id === null ? null : listClasses(store.db).find((c) => c.id === r.class_id)!.name]]));
    expect(got).toEqual({ '1.png': ['train', 'cat'], '2.png': ['train', 'dog'], '3.png': ['val', 'cat'], '4.png': ['test', null], '5.png': ['test', null] });
  });

  it('walks folders in natural name order: files first, then subfolders', async () => {
    const src = tempDir();
    for (const f of ['img10.png', 'img2.png', 'b/x.png', 'a/y.png', 'img1.png', 'A2/z.png']) fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    for (const f of ['img10.png', 'img2.png', 'b/x.png', 'a/y.png', 'img1.png', 'A2/z.png']) fs.writeFileSync(path.join(src, f), '');
    const seen: string[] = [];
    for await (const e of walkFiles(src)) seen.push(e.rel);
    expect(seen).toEqual(['img1.png', 'img2.png', 'img10.png', 'a/y.png', 'A2/z.png', 'b/x.png']);
  });

  it('refuses a source that does not exist, with a typed error', async () => {
    const store = track(newStore());
    await expect(importNow(store, { source: '/nope/not/here' })).rejects.toMatchObject({ code: 'bad_input', field: 'source' });
  });

  it('imports real photos and real digits (test split: unlabelled)', async () => {
    const store = track(newStore());
    const digits = tempDir();
    await writeDigits(digits, 3);
    const r1 = await importNow(store, { source: digits });
    expect(r1.added).toBe(30);
    expect(r1.classesCreated).toHaveLength(10);
    const r2 = await importNow(store, { source: PHOTOS, split: 'test' });
    expect(r2.added).toBe(6);
    expect(r2.failures).toEqual([{ file: 'SOURCE.txt', reason: 'not an image (text)' }]);
    const test = rows(store).filter((r) => r.split === 'test');
    expect(test).toHaveLength(6);
    expect(test.every((r) => r.class_id === null)).toBe(true);
    const r3 = await importNow(store, { source: DIGITS_PNG });
    expect(r3.added).toBe(1);
    expect(rows(store).find((r) => r.file_name === 'opencv-digits.png')).toMatchObject({ width: 2000, height: 1000 });
  });
});

describe('decoding', () => {
  it('honours EXIF orientation, converts CMYK / 16-bit / grey, takes the first GIF frame', async () => {
    const src = tempDir();
    const base = (): sharp.Sharp => sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 200, g: 40, b: 20 } } });
    await base().jpeg().withMetadata({ orientation: 6 }).toFile(path.join(src, 'rotated.jpg'));
    await base().toColourspace('cmyk').jpeg().toFile(path.join(src, 'cmyk.jpg'));
    await base().toColourspace('rgb16').png().toFile(path.join(src, 'deep.png'));
    await base().greyscale().png().toFile(path.join(src, 'grey.png'));
    await base().tiff().toFile(path.join(src, 'scan.tif'));
    const red = await sharp({ create: { width: 50, height: 40, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const blue = await sharp({ create: { width: 50, height: 40, channels: 3, background: '#0000ff' } }).png().toBuffer();
    await sharp([red, blue], { join: { animated: true } }).gif().toFile(path.join(src, 'anim.gif'));
    expect((await sharp(path.join(src, 'anim.gif')).metadata()).pages).toBe(2);

    const store = track(newStore());
    const report = await importNow(store, { source: src, kind: 'files' });
    expect(report.failures).toEqual([]);
    expect(report.added).toBe(6);
    const byName = new Map(rows(store).map((r) => [r.file_name, r]));
    expect(byName.get('rotated.jpg')).toMatchObject({ width: 300, height: 400 });
    expect(byName.get('scan.tif')).toMatchObject({ format: 'tiff', width: 400 });
    for (const r of byName.values()) {
      const meta = await sharp(thumbnailPath(store, r.id)!).metadata();
      expect(meta).toMatchObject({ format: 'webp', space: 'srgb', depth: 'uchar' });
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(256);
      if (r.file_name === 'rotated.jpg') expect(meta.height!).toBeGreaterThan(meta.width!);
    }
    const gif = await sharp(thumbnailPath(store, byName.get('anim.gif')!.id)!).stats();
    expect(gif.channels[0]!.mean).toBeGreaterThan(200); // red: the first frame
    expect(gif.channels[2]!.mean).toBeLessThan(50);
    const cmyk = await sharp(thumbnailPath(store, byName.get('cmyk.jpg')!.id)!).stats();
    expect(cmyk.channels[0]!.mean).toBeGreaterThan(150);

    // A deleted thumbnail is made again from the original.
    const id = byName.get('grey.png')!.id;
    fs.rmSync(thumbnailPath(store, id)!);
    expect(await ensureThumbnail(store, id)).toBe(thumbnailPath(store, id));
    expect(fs.existsSync(thumbnailPath(store, id)!)).toBe(true);
  });

  it('reports a missing file and an unreadable one', async () => {
    const src = tempDir();
    const ok = await writeImage(path.join(src, 'ok.png'), { seed: 9 });
    const locked = await writeImage(path.join(src, 'locked.png'), { seed: 10 });
    fs.chmodSync(locked, 0o000);
    const store = track(newStore());
    const report = await importNow(store, { source: [ok, locked, path.join(src, 'gone.png')] });
    expect(report.added).toBe(process.getuid?.() === 0 ? 2 : 1);
    expect(reasonOf(report, 'gone.png')).toBe('missing file');
    if (process.getuid?.() !== 0) expect(reasonOf(report, 'locked.png')).toMatch(/permission/);
  });
});

describe('cancel', () => {
  it('keeps the committed batches, leaves the store consistent, and a re-import finishes the rest', async () => {
    const src = tempDir();
    for (let i = 0; i < 120; i++) await writeImage(path.join(src, `c${i % 3}`, `${i}.png`), { seed: 100 + i, w: 32, h: 32 });
    const store = track(newStore());
    const controller = new AbortController();
    const ctx = testContext(controller, (done) => {
      if (done >= 50) controller.abort();
    });
    const report = await importNow(store, { source: src }, { batchSize: 10, concurrency: 2 }, ctx);
    expect(report.cancelled).toBe(true);
    const n = (store.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
    expect(n).toBe(report.added);
    expect(n).toBeGreaterThanOrEqual(50);
    expect(n).toBeLessThan(120);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    for (const r of rows(store)) expect(fs.existsSync(thumbnailPath(store, r.id)!)).toBe(true);

    const rest = await importNow(store, { source: src });
    expect(rest.added).toBe(120 - n);
    expect(rest.duplicateCount).toBe(n);
    expect(listImages(store.db, { limit: 500 }).total).toBe(120);
  });
});
