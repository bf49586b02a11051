import { beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../../src/shared/domain';
import { initBackend } from '../../../src/main/engine/backend';
import { seededRandom } from '../../../src/shared/random';
import { trainHead } from '../../../src/main/engine/head';
import { headProbabilities, outOfSampleProbabilities, trainAndPredict, type FoldRecord } from '../../../src/main/engine/out-of-sample';
import { stratifiedFolds } from '../../../src/shared/folds';

/** Random features with random labels: only memorisation can predict a label, never generalisation. */
function noise(n: number, dim: number, k: number) {
  const random = seededRandom(5);
  const features = Float32Array.from({ length: n * dim }, () => random() * 2 - 1);
  const labels = Int32Array.from({ length: n }, () => Math.floor(random() * k));
  return { features, labels };
}

const memorising = trainConfigSchema.parse({ scenario: 1, model: 'm', epochs: 30, patience: 0, lr: 0.01, batchSize: 32, head: { hidden: [256], dropout: 0, activation: 'relu' } });

/** Share of images whose highest probability is their own label. */
function accuracy(p: Float32Array, labels: Int32Array, k: number): number {
  let hit = 0;
  labels.forEach((y, i) => {
    const row = Array.from(p.subarray(i * k, (i + 1) * k));
    if (row.indexOf(Math.max(...row)) === y) hit++;
  });
  return hit / labels.length;
}

describe('K-fold out-of-sample probabilities', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('scores every image with a head that never saw it', async () => {
    const k = 3;
    const dim = 24;
    const { features, labels } = noise(150, dim, k);
    const records: FoldRecord[] = [];
    const progress: number[] = [];
    const r = await outOfSampleProbabilities({ features, dim, labels, numClasses: k, config: memorising, stopShare: 0, onFold: (f) => records.push(f), onProgress: (p) => progress.push(p.done) });
    expect(r.state).toBe('succeeded');
    expect(records.map((f) => f.fold)).toEqual([0, 1, 2, 3, 4]);
    const scoredBy = new Int32Array(150).fill(-1);
    for (const f of records) {
      const seen = new Set([...f.trained, ...f.stopped]);
      for (const i of f.scored) {
        expect(seen.has(i)).toBe(false);
        expect(scoredBy[i]).toBe(-1);
        scoredBy[i] = f.fold;
      }
      expect(seen.size + f.scored.length).toBe(150);
    }
    expect(Array.from(scoredBy)).toEqual(Array.from(r.fold));
    expect(r.probabilities.every((v) => Number.isFinite(v))).toBe(true);
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    // The same head trained on all images memorises them, so a leak would show: out of sample, the
    // labels are at chance.
    const inSample = await trainHead({ dim, classNames: ['a', 'b', 'c'], train: { x: features, y: labels }, val: { x: new Float32Array(0), y: new Int32Array(0) }, config: memorising });
    const seen = headProbabilities(inSample.model, features, dim);
    inSample.model.dispose();
    expect(accuracy(seen, labels, k)).toBeGreaterThan(0.9);
    expect(accuracy(r.probabilities, labels, k)).toBeLessThan(0.5);
  });

  it('folds are stratified, balanced and seeded', () => {
    const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 60 ? 0 : i < 97 ? 1 : 2));
    const f = stratifiedFolds(labels, 5, 42);
    expect(Array.from(stratifiedFolds(labels, 5, 42))).toEqual(Array.from(f));
    expect(Array.from(stratifiedFolds(labels, 5, 43))).not.toEqual(Array.from(f));
    const sizes = [0, 1, 2, 3, 4].map((k) => f.filter((v) => v === k).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const c of [0, 1, 2]) {
      const per = [0, 1, 2, 3, 4].map((k) => f.filter((v, i) => v === k && labels[i] === c).length);
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
  });

  it('cancel stops at a batch boundary and keeps the finished folds', async () => {
    const { features, labels } = noise(200, 16, 2);
    const controller = new AbortController();
    const r = await outOfSampleProbabilities({
      features,
      dim: 16,
      labels,
      numClasses: 2,
      config: { ...memorising, epochs: 5 },
      signal: controller.signal,
      onFold: (f) => f.fold === 1 && controller.abort(),
    });
    expect(r.state).toBe('cancelled');
    expect(r.foldsDone).toBe(2);
    r.fold.forEach((f, i) => expect(Number.isNaN(r.probabilities[i * 2])).toBe(f >= 2));
  });

  it('refuses what cannot be split or does not fit', async () => {
    const base = { dim: 2, numClasses: 2, config: memorising };
    await expect(outOfSampleProbabilities({ ...base, features: new Float32Array(6), labels: Int32Array.from([0, 1, 0]) })).rejects.toThrow(/3 labelled images cannot be split into 5 folds/);
    await expect(outOfSampleProbabilities({ ...base, features: new Float32Array(19), labels: new Int32Array(10) })).rejects.toThrow(/19 values/);
    await expect(outOfSampleProbabilities({ ...base, features: new Float32Array(20), labels: new Int32Array(10).fill(2) })).rejects.toThrow(/label 2/);
    await expect(outOfSampleProbabilities({ ...base, folds: 1, features: new Float32Array(20), labels: new Int32Array(10) })).rejects.toThrow(/at least 2/);
  });
});

describe('quick head retrain', () => {
  it('trains a fresh head on labelled features and predicts the unlabelled ones', async () => {
    await initBackend();
    const random = seededRandom(9);
    const dim = 16;
    const make = (n: number) => {
      const y = Int32Array.from({ length: n }, (_, i) => i % 4);
      const x = Float32Array.from({ length: n * dim }, (_, v) => (Math.floor(v / dim) % 4 === v % 4 ? 2 : 0) + random() - 0.5);
      return { x, y };
    };
    const labelled = make(200);
    const unlabelled = make(80);
    const p = await trainAndPredict({ dim, numClasses: 4, train: labelled, stop: { x: new Float32Array(0), y: new Int32Array(0) }, predict: unlabelled.x, config: { ...memorising, epochs: 10 } });
    expect(p).toHaveLength(80 * 4);
    expect(accuracy(p as Float32Array, unlabelled.y, 4)).toBeGreaterThan(0.9);
    const controller = new AbortController();
    controller.abort();
    expect(await trainAndPredict({ dim, numClasses: 4, train: labelled, stop: labelled, predict: unlabelled.x, config: memorising, signal: controller.signal })).toBeNull();
  });
});
