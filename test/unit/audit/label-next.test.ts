import { describe, expect, it } from 'vitest';
import { labelNext, uncertaintyOf } from '../../../src/main/audit/label-next';
import { poolDensity } from '../../../src/shared/pool-density';

describe('label next', () => {
  it('margin and entropy: an undecided image scores 1, a sure one 0', () => {
    expect(uncertaintyOf([0.5, 0.5, 0], 0, 3, 'margin')).toBeCloseTo(1);
    expect(uncertaintyOf([1, 0, 0], 0, 3, 'margin')).toBeCloseTo(0);
    expect(uncertaintyOf([0.7, 0.2, 0.1], 0, 3, 'margin')).toBeCloseTo(0.5);
    expect(uncertaintyOf([1 / 3, 1 / 3, 1 / 3], 0, 3, 'entropy')).toBeCloseTo(1);
    expect(uncertaintyOf([1, 0, 0], 0, 3, 'entropy')).toBeCloseTo(0);
    // Margin looks at the top two only; entropy at all: they order these two differently.
    const a = [0.45, 0.45, 0.1];
    const b = [0.4, 0.3, 0.3];
    expect(uncertaintyOf(a, 0, 3, 'margin')).toBeGreaterThan(uncertaintyOf(b, 0, 3, 'margin'));
    expect(uncertaintyOf(a, 0, 3, 'entropy')).toBeLessThan(uncertaintyOf(b, 0, 3, 'entropy'));
  });

  it('ranks by uncertainty, and an outlier below a typical image of the same uncertainty', () => {
    const probabilities = Float32Array.from([0.9, 0.1, 0.55, 0.45, 0.55, 0.45, 0.6, 0.4, 0.6, 0.4]);
    // Images 0, 1, 2 and 4 point one way; image 3, as uncertain as 4, is off on its own.
    const features = Float32Array.from([1, 0.1, 0, 1, 0.2, 0, 1, 0, 0.1, 0, 0, 1, 1, 0.1, 0.1]);
    const ranked = labelNext({ probabilities, numClasses: 2, features, dim: 3 });
    expect(ranked.slice(2).map((r) => r.index)).toEqual([4, 3, 0]);
    expect(ranked.find((r) => r.index === 3)!.density).toBeLessThan(0.5 * ranked.find((r) => r.index === 4)!.density);
    // Without the density weight, equal uncertainty goes by index: the outlier first.
    expect(labelNext({ probabilities, numClasses: 2, features, dim: 3, densityWeight: 0 }).map((r) => r.index)).toEqual([1, 2, 3, 4, 0]);
    expect(labelNext({ probabilities, numClasses: 2, uncertainty: 'entropy' })[4]).toMatchObject({ index: 0, predicted: 0 });
  });

  it('density is the mean cosine to the pool', () => {
    const d = poolDensity(Float32Array.from([1, 0, 0, 1, 1, 1]), 2);
    const s = Math.SQRT1_2;
    expect(d[0]).toBeCloseTo((1 + 0 + s) / 3);
    expect(d[2]).toBeCloseTo((s + s + 1) / 3);
  });

  it('refuses inputs that do not fit', () => {
    expect(() => labelNext({ probabilities: new Float32Array(5), numClasses: 2 })).toThrow(/whole number of rows of 2/);
    expect(() => labelNext({ probabilities: new Float32Array(4), numClasses: 2, features: new Float32Array(5), dim: 2 })).toThrow(/2 images x 2 need 4/);
  });
});
