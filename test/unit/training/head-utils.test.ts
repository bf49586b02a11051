import { describe, expect, it } from 'vitest';
import { classWeights, majorityBaseline } from '../../../src/main/engine/head';
import { seededRandom, shuffled } from '../../../src/shared/random';

describe('head training helpers', () => {
  it('seeded shuffles are deterministic permutations', () => {
    const a = shuffled(100, seededRandom(42));
    const b = shuffled(100, seededRandom(42));
    const c = shuffled(100, seededRandom(43));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('balanced class weights average 1 over the training set', () => {
    const y = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 2, 2]);
    const w = classWeights(y, 4);
    expect(w[0]).toBeCloseTo(10 / (4 * 6));
    expect(w[1]).toBeCloseTo(10 / (4 * 2));
    expect(w[3]).toBe(0); // absent class
    const mean = Array.from(y).reduce((s, c) => s + (w[c] ?? 0), 0) / y.length;
    expect(mean).toBeCloseTo(0.75); // 3 of 4 classes present: n/(k*n_c) sums to n*3/k
  });

  it('majority baseline is the share of the commonest class', () => {
    expect(majorityBaseline(Int32Array.from([1, 1, 1, 0, 2]), 3)).toBeCloseTo(0.6);
    expect(majorityBaseline(new Int32Array(0), 3)).toBeNull();
  });
});
