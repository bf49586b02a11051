/**
 * k-fold dealing of a sweep: stratified and seeded like the audit's folds, with near-duplicate
 * clusters dealt as one unit, so that no cluster straddles two folds (copies of an image in
 * training and validation at once); and the grid's configurations.
 */
import { describe, expect, it } from 'vitest';
import { groupedFolds, stratifiedFolds } from '../../../src/shared/folds';
import { dealFolds, foldGrouping, foldItems } from '../../../src/main/training/sweep-folds';
import { gridConfigs } from '../../../src/main/training/sweep-grid';
import type { TrainItem } from '../../../src/main/engine/protocol';

/** 3 classes x 30 images (ids 1..90), every 5th in val. */
const items: TrainItem[] = Array.from({ length: 90 }, (_, i) => ({ imageId: i + 1, path: `/x/${i}.png`, hash: `h${i}`, label: i % 3, split: i % 5 === 4 ? 'val' : 'train' }));

/** Clusters of 2 to 4 near-duplicates, some with disagreeing labels, two overlapping (merged). */
const clusters = [
  [1, 4, 7],
  [2, 5],
  [10, 11, 12, 13],
  [13, 40],
  [20, 50, 80],
  [33, 66],
  [89, 90],
];

describe('sweep folds', () => {
  it('keeps every near-duplicate cluster inside one fold, for every seed', () => {
    for (const seed of [1, 2, 3, 42, 99]) {
      const folds = dealFolds(items, clusters, 3, seed);
      expect(folds.size).toBe(90);
      for (const c of clusters) expect(new Set(c.map((id) => folds.get(id))).size, `seed ${seed}, cluster ${c.join(',')}`).toBe(1);
      // The overlapping clusters [10..13] and [13, 40] are one unit.
      expect(folds.get(40)).toBe(folds.get(10));
      // Still stratified: each fold holds every class, and the fold sizes stay close (units of up to 5).
      const sizes = [0, 1, 2].map((k) => [...folds.values()].filter((f) => f === k).length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(6);
      for (let k = 0; k < 3; k++) expect(new Set(items.filter((it) => folds.get(it.imageId) === k).map((it) => it.label)).size).toBe(3);
    }
  });

  it('splits a cluster without its grouping (what the grouping prevents)', () => {
    // Without the clusters the same dealing puts some copies in different folds: the test above can fail.
    const plain = stratifiedFolds(items.map((it) => it.label), 3, 42);
    expect(clusters.some((c) => new Set(c.map((id) => plain[id - 1])).size > 1)).toBe(true);
  });

  it('deals the same folds for the same seed, others for another, and deals single images as stratifiedFolds does', () => {
    const labels = items.map((it) => it.label);
    expect(groupedFolds(labels, [], 4, 7)).toEqual(stratifiedFolds(labels, 4, 7));
    expect([...dealFolds(items, clusters, 3, 5)]).toEqual([...dealFolds(items, clusters, 3, 5)]);
    expect([...dealFolds(items, clusters, 3, 5)]).not.toEqual([...dealFolds(items, clusters, 3, 6)]);
  });

  it("gives each fold's run its fold as validation and the others as training", () => {
    const folds = dealFolds(items, clusters, 3, 42);
    const seen = new Set<number>();
    for (let k = 0; k < 3; k++) {
      const run = foldItems(items, folds, k);
      expect(run).toHaveLength(90);
      for (const it of run.filter((x) => x.split === 'val')) {
        expect(seen.has(it.imageId)).toBe(false);
        seen.add(it.imageId);
      }
    }
    expect(seen.size).toBe(90);
  });

  it('refuses more folds than images', () => {
    expect(() => dealFolds(items.slice(0, 3), [], 5, 1)).toThrow(/5 folds need at least 5 labelled images/);
  });

  it('tells the plan whether near-duplicates were looked for, counting the groups among the labelled images', () => {
    expect(foldGrouping(null, items, [])).toMatchObject({ audited: false, text: expect.stringMatching(/No audit .* Run an audit first/) });
    // The audit's clusters with 2+ labelled members here ([3, 999] has one: it needs no care).
    expect(foldGrouping('2026-12-01 10:00:00', items, [...clusters, [3, 999]]).text).toBe('Near-duplicates from the audit of 2026-12-01: 7 groups of copies, each kept in one fold.');
    expect(foldGrouping('2026-12-01 10:00:00', items, []).text).toMatch(/none among the labelled images/);
  });
});

describe('sweep grid', () => {
  it('makes every combination, seeds last, labels naming what varies, freeze boundaries only for scenario 2', () => {
    const configs = gridConfigs({ scenario: [1, 2], model: ['m'], freezeTo: ['a', 'b'], lr: [0.01, 0.001], seed: [1, 2] });
    // scenario 1: 2 lr x 2 seeds; scenario 2: 2 freeze x 2 lr x 2 seeds.
    expect(configs).toHaveLength(4 + 8);
    expect(configs[0]!.label).toBe('scenario 1, lr 0.01, seed 1');
    expect(configs[1]!.label).toBe('scenario 1, lr 0.01, seed 2');
    expect(configs.filter((c) => c.config.scenario === 1).every((c) => c.config.freezeTo === undefined)).toBe(true);
    expect(configs[4]!.config).toMatchObject({ scenario: 2, freezeTo: 'a', lr: 0.01, seed: 1, epochs: 15 });
  });

  it('turns head sizes and augmentation into the config a single run would have', () => {
    const [linear, wide] = gridConfigs({ scenario: [1], model: ['m'], headSize: [0, 256], augment: [true] });
    expect(linear!.config.head.hidden).toEqual([]);
    expect(wide!.config.head.hidden).toEqual([256]);
    expect(wide!.config.augment).toMatchObject({ flip: true });
    expect(wide!.label).toBe('head 256');
  });
});
