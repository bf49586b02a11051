/**
 * An ensemble's predictions on a real project store: members whose class names come in another
 * order are matched by name; the evaluation listing (cells, wrong-only, loss sort, paging), the
 * summary against the best member and the test-set exports all average the same probabilities;
 * images a member has not predicted are left out (and an export says which member lacks them).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensembleSummary, listEnsemblePredictions } from '../../../src/main/store/ensemble-predictions';
import type { ProjectStore } from '../../../src/main/store/project-store';
import { savePredictions } from '../../../src/main/store/runs';
import { predictionQuerySchema, type PredictionQuery } from '../../../src/shared/domain';
import { writeImage } from '../../fixtures/images';
import { addRun, exportNow, importAll, newStore, readCsvFile, removeTempDirs, tempDir } from '../helpers';

let store: ProjectStore;
let a: number;
let b: number;
const ids: Record<string, number> = {};
const q = (p: Partial<PredictionQuery> & { runs: number[] }) => predictionQuerySchema.parse(p) as PredictionQuery & { runs: number[] };

beforeAll(async () => {
  const src = tempDir();
  for (const [c, n] of [['cat', 2], ['dog', 2]] as const) for (let i = 0; i < n; i++) await writeImage(path.join(src, 'val', c, `${c}${i}.png`), { seed: (c === 'cat' ? 0 : 10) + i });
  await writeImage(path.join(src, 'test', 't0.png'), { seed: 30 });
  await writeImage(path.join(src, 'test', 't1.png'), { seed: 31 });
  store = newStore();
  await importAll(store, { source: path.join(src, 'val') });
  await importAll(store, { source: path.join(src, 'test'), split: 'test' });
  store.db.prepare(`UPDATE images SET split = 'val' WHERE class_id IS NOT NULL`).run();
  for (const r of store.db.prepare('SELECT id, file_name AS name FROM images').all() as { id: number; name: string }[]) ids[r.name.replace('.png', '')] = r.id;
  a = addRun(store, ['cat', 'dog']);
  b = addRun(store, ['Dog', 'Cat']); // the same classes, in another order and case
  const P = (name: string, pCat: number, trueIndex: number | null, catFirst = true) => ({ imageId: ids[name]!, probabilities: catFirst ? [pCat, 1 - pCat] : [1 - pCat, pCat], trueIndex });
  // p(cat) of run a: cat0 0.9, cat1 0.4 (wrong), dog0 0.3, dog1 0.6 (wrong); of run b: cat0 0.3 (wrong), cat1 0.7, dog0 0.55 (wrong), dog1 0.1.
  savePredictions(store.db, a, [P('cat0', 0.9, 0), P('cat1', 0.4, 0), P('dog0', 0.3, 1), P('dog1', 0.6, 1), P('t0', 0.5, null), P('t1', 0.1, null)]);
  savePredictions(store.db, b, [P('cat0', 0.3, 1, false), P('cat1', 0.7, 1, false), P('dog0', 0.55, 0, false), P('dog1', 0.1, 0, false), P('t0', 0.3, null, false)]);
});

afterAll(() => {
  store?.close();
  removeTempDirs();
});

describe('an ensemble of stored predictions', () => {
  it('averages by class name and lists its mistakes and cells like a run', () => {
    // Means of p(cat): cat0 0.6, cat1 0.55, dog0 0.425, dog1 0.35: all right; losses cat1 > dog0 > cat0 > dog1.
    expect(listEnsemblePredictions(store.db, q({ runs: [a, b], wrongOnly: true })).total).toBe(0);
    const bySort = listEnsemblePredictions(store.db, q({ runs: [a, b], split: 'val', sort: 'loss', limit: 2, offset: 1 }));
    expect(bySort.total).toBe(4);
    expect(bySort.rows.map((r) => r.fileName)).toEqual(['dog0.png', 'cat0.png']);
    expect(bySort.rows[0]!.loss).toBeCloseTo(-Math.log(0.575), 6);
    const cell = listEnsemblePredictions(store.db, q({ runs: [b, a], trueIndex: 0, predictedIndex: 0, split: 'val' }));
    // In b's order: dog first, so true dog predicted dog.
    expect(cell.classNames).toEqual(['Dog', 'Cat']);
    expect(cell.rows.map((r) => r.fileName).sort()).toEqual(['dog0.png', 'dog1.png']);
    expect(cell.rows.find((r) => r.fileName === 'dog0.png')!.confidence).toBeCloseTo(0.575, 6);
  });

  it('beats its best member on the validation images by the hand-computed margin', () => {
    const s = ensembleSummary(store.db, [a, b]);
    expect(s.images).toBe(4);
    expect(s.members.map((m) => m.accuracy)).toEqual([0.5, 0.5]);
    // Equal accuracy: the best member is the one with the lower loss.
    const lossA = -(Math.log(0.9) + Math.log(0.4) + Math.log(0.7) + Math.log(0.4)) / 4;
    const lossB = -(Math.log(0.3) + Math.log(0.7) + Math.log(0.45) + Math.log(0.9)) / 4;
    expect(lossA).toBeLessThan(lossB);
    expect(s.best).toMatchObject({ runId: a, accuracy: 0.5 });
    expect(s.best!.loss).toBeCloseTo(lossA, 6);
    expect(s.ensemble!.accuracy).toBe(1);
    expect(s.gain!.accuracy).toBe(0.5);
    const lossE = -(Math.log(0.6) + Math.log(0.55) + Math.log(0.575) + Math.log(0.65)) / 4;
    expect(s.ensemble!.loss).toBeCloseTo(lossE, 6);
    expect(s.gain!.loss).toBeCloseTo(lossA - lossE, 6);
    expect(s.confusion!.matrix).toEqual([
      [2, 0],
      [0, 2],
    ]);
    expect(s.views).toEqual(['identity']);
  });

  it('exports only when every member predicted every test image, saying how to fill the gap', async () => {
    const out = path.join(tempDir(), 'p.csv');
    await expect(exportNow(store, { kind: 'probabilities', out, runs: [a, b] })).rejects.toThrow(
      `The ensemble of runs ${a}, ${b} has no prediction for 1 of 2 test images (first: t1.png; a member has none): run predict first (transfer-studio predict DIR --runs ${a},${b} --split test).`,
    );
    savePredictions(store.db, b, [{ imageId: ids.t1!, probabilities: [0.5, 0.5], trueIndex: null }], ['identity', 'flip']);
    const r = await exportNow(store, { kind: 'probabilities', out, runs: [a, b] });
    expect(r).toMatchObject({ runId: null, runs: [a, b], views: null, columns: ['filename', 'cat', 'dog'] });
    const rows = await readCsvFile(out);
    expect(rows[1]!.slice(1).map(Number)).toEqual([expect.closeTo(0.4, 6), expect.closeTo(0.6, 6)]);
    expect(rows[2]!.slice(1).map(Number)).toEqual([expect.closeTo(0.3, 6), expect.closeTo(0.7, 6)]);
  });
});
