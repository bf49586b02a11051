/**
 * The predictions store on a real project: paged listing of a run's predictions by confusion
 * cell, wrong-only, unlabelled, split and confidence, the loss and confidence sorts, and
 * accepting suggestions (by ids or threshold) with undo through restoreLabels.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/host/studio';
import { acceptSuggestions, listPredictions } from '../../../src/main/store/predictions';
import * as runs from '../../../src/main/store/runs';
import { trainConfigSchema, predictionQuerySchema, type PredictionQuery } from '../../../src/shared/domain';
import { writeImage } from '../../fixtures/images';
import { removeTempDirs, tempDir } from '../helpers';

describe('predictions store', () => {
  let studio: Studio;
  let runId: number;
  const ids: Record<string, number> = {};
  const q = (p: Partial<PredictionQuery> & { runId: number }): PredictionQuery => predictionQuerySchema.parse(p);

  beforeAll(async () => {
    const src = tempDir('ts-pred-src-');
    for (const [c, n] of [['cat', 3], ['dog', 3]] as const) for (let i = 0; i < n; i++) await writeImage(path.join(src, c, `${c}${i}.png`), { seed: c === 'cat' ? i : 10 + i });
    await writeImage(path.join(src, 'loose0.png'), { seed: 20 });
    await writeImage(path.join(src, 'loose1.png'), { seed: 21 });
    studio = new Studio({ userDataDir: tempDir('ts-pred-home-'), mode: 'test' });
    await studio.call('createProject', { dir: path.join(tempDir('ts-pred-proj-'), 'p') });
    const job = await studio.call('importImages', { source: src });
    await studio.jobs.wait(job.id);
    await studio.call('setSplit', { ids: (await studio.call('imageIds', {})), split: 'val' });
    const { rows } = await studio.call('listImages', { limit: 100 });
    for (const r of rows) ids[r.fileName.replace('.png', '')] = r.id;
    const db = studio.store().db;
    runId = runs.createRun(db, { config: trainConfigSchema.parse({ scenario: 1, model: 'm' }), classNames: ['cat', 'dog'], jobId: 'j' });
    // cat0, cat1 right; cat2 predicted dog (confident); dog0 right; dog1, dog2 predicted cat; loose: cat 0.95, dog 0.6.
    const P = (id: string, pCat: number, label: number | null) => ({ imageId: ids[id]!, probabilities: [pCat, 1 - pCat], trueIndex: label });
    runs.savePredictions(db, runId, [P('cat0', 0.9, 0), P('cat1', 0.7, 0), P('cat2', 0.1, 0), P('dog0', 0.2, 1), P('dog1', 0.8, 1), P('dog2', 0.55, 1), P('loose0', 0.95, null), P('loose1', 0.4, null)]);
  });
  afterAll(async () => {
    await studio?.dispose();
    removeTempDirs();
  });

  it('lists exactly the images of a confusion-matrix cell with their prediction and confidence', () => {
    const r = listPredictions(studio.store().db, q({ runId, trueIndex: 1, predictedIndex: 0 }));
    expect(r.total).toBe(2);
    expect(r.rows.map((x) => x.fileName).sort()).toEqual(['dog1.png', 'dog2.png']);
    expect(r.rows.every((x) => x.className === 'dog' && x.predictedName === 'cat')).toBe(true);
    expect(r.rows.find((x) => x.fileName === 'dog1.png')!.confidence).toBeCloseTo(0.8);
    expect(r.rows[0]!.top.map((t) => t.name)).toEqual(['cat', 'dog']);
  });

  it('lists the misclassified images, highest loss first, and pages them', () => {
    const r = listPredictions(studio.store().db, q({ runId, wrongOnly: true, sort: 'loss' }));
    expect(r.rows.map((x) => x.fileName)).toEqual(['cat2.png', 'dog1.png', 'dog2.png']);
    expect(r.rows[0]!.loss).toBeCloseTo(-Math.log(0.1), 4);
    const page = listPredictions(studio.store().db, q({ runId, wrongOnly: true, sort: 'loss', offset: 1, limit: 1 }));
    expect(page).toMatchObject({ total: 3 });
    expect(page.rows.map((x) => x.fileName)).toEqual(['dog1.png']);
  });

  it('lists unlabelled images by confidence either way, and above a threshold', () => {
    const db = studio.store().db;
    expect(listPredictions(db, q({ runId, unlabelledOnly: true, sort: 'confidence-desc' })).rows.map((x) => x.fileName)).toEqual(['loose0.png', 'loose1.png']);
    expect(listPredictions(db, q({ runId, unlabelledOnly: true, sort: 'confidence-asc' })).rows.map((x) => x.fileName)).toEqual(['loose1.png', 'loose0.png']);
    expect(listPredictions(db, q({ runId, unlabelledOnly: true, minConfidence: 0.9 })).total).toBe(1);
    expect(listPredictions(db, q({ runId, split: 'val' })).total).toBe(8);
    expect(() => listPredictions(db, q({ runId, trueIndex: 5 }))).toThrow(/no class 5/);
  });

  it('a fixed label leaves the misclassified view', async () => {
    const cat = (await studio.call('listClasses', {})).find((c) => c.name === 'cat')!;
    const { previous } = await studio.call('setLabels', { ids: [ids.dog1!], classId: cat.id });
    expect(listPredictions(studio.store().db, q({ runId, wrongOnly: true })).rows.map((x) => x.fileName)).not.toContain('dog1.png');
    await studio.call('restoreLabels', { groups: previous });
  });

  it('accepts suggestions above a threshold or by id, and undoes them with restoreLabels', async () => {
    const r = await studio.call('acceptSuggestions', { runId, minConfidence: 0.9 });
    expect(r).toMatchObject({ changed: 1, skipped: 0 });
    expect(r.previous).toEqual([{ classId: null, ids: [ids.loose0] }]);
    expect((await studio.call('imageDetails', { id: ids.loose0! })).className).toBe('cat');
    await studio.call('restoreLabels', { groups: r.previous });
    expect((await studio.call('imageDetails', { id: ids.loose0! })).className).toBeNull();
    const one = acceptSuggestions(studio.store().db, { runId, imageIds: [ids.loose1!] });
    expect(one.changed).toBe(1);
    expect((await studio.call('imageDetails', { id: ids.loose1! })).className).toBe('dog');
    await expect(studio.call('acceptSuggestions', { runId })).rejects.toThrow(/imageIds or minConfidence/);
  });
});
