import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/shared/random';
import { calibrateJoint, confidentLearning, labelQuality } from '../../../src/main/audit/confident-learning';

/**
 * Three well separated classes, 100 images each; the given labels of 12 images are flipped (known).
 * Ideal probabilities (the paper's condition for exact recovery) put 7/8 on the true class and split
 * the rest between the other two, in binary-exact steps; with `jitter`, every probability is
 * perturbed by up to 4% and renormalised, as a real model's would be.
 */
function threeClasses(jitter: boolean) {
  const k = 3;
  const n = 300;
  const random = seededRandom(7);
  const truth = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 100));
  const probabilities = new Float32Array(n * k);
  for (let x = 0; x < n; x++) {
    const u = [0.25, 0.5, 0.75][x % 3] as number;
    const others = [u / 8, (1 - u) / 8];
    const row = Array.from({ length: k }, (_, j) => (j === truth[x] ? 7 / 8 : (others.shift() as number)) + (jitter ? 0.04 * random() : 0));
    const s = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => (probabilities[x * k + j] = v / s));
  }
  const labels = Int32Array.from(truth);
  // true -> given: 5 of class 0 given 1, 3 of class 0 given 2, 4 of class 2 given 1.
  const flips: [number, number][] = [
    [3, 1], [17, 1], [40, 1], [41, 1], [99, 1],
    [5, 2], [50, 2], [77, 2],
    [210, 1], [233, 1], [250, 1], [299, 1],
  ];
  for (const [x, to] of flips) labels[x] = to;
  return { k, n, probabilities, labels, truth, flips };
}

describe('confident learning', () => {
  it('finds exactly the flipped labels of three well separated classes, with the noise they imply', () => {
    const { k, n, probabilities, labels, truth, flips } = threeClasses(false);
    const r = confidentLearning({ probabilities, labels, numClasses: k });
    expect(r.issues.map((i) => i.index).sort((a, b) => a - b)).toEqual(flips.map(([x]) => x).sort((a, b) => a - b));
    for (const issue of r.issues) {
      expect(issue.given).toBe(labels[issue.index]);
      expect(issue.suggested).toBe(truth[issue.index]);
      expect(issue.score).toBeLessThan(-0.5);
    }
    // The confident joint counts given x true exactly.
    expect(r.confidentJoint).toEqual([
      [92, 0, 0],
      [5, 100, 4],
      [3, 0, 96],
    ]);
    // Rows already sum to the given counts, so Q = C / n.
    r.joint.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo((r.confidentJoint[i]![j] as number) / n, 12)));
    expect(r.noiseRates[0]).toBeCloseTo(0);
    expect(r.noiseRates[1]).toBeCloseTo(9 / 109);
    expect(r.noiseRates[2]).toBeCloseTo(3 / 99);
    // p(given = 1 | true = 0) = 5 / 100.
    expect(r.noiseMatrix[1]![0]).toBeCloseTo(5 / 100);
    expect(r.noiseMatrix[0]![0]).toBeCloseTo(92 / 100);
    expect(r.thresholds[0]).toBe(7 / 8);
    // The threshold of class 1 is pulled down by the images wrongly given it.
    expect(r.thresholds[1]).toBeLessThan(r.thresholds[0] as number);
  });

  it('with jittered probabilities every flagged image is a flip, and most flips are flagged', () => {
    const { k, probabilities, labels, truth } = threeClasses(true);
    const r = confidentLearning({ probabilities, labels, numClasses: k });
    for (const issue of r.issues) expect(issue.suggested).toBe(truth[issue.index]);
    expect(r.issues.length).toBeGreaterThanOrEqual(9);
  });

  it('ranks the likeliest errors first and leaves confirmed images out', () => {
    const { k, probabilities, labels } = threeClasses(true);
    // Make image 3 the most blatant error: all its mass on class 0.
    probabilities.set([1, 0, 0], 3 * k);
    const r = confidentLearning({ probabilities, labels, numClasses: k });
    expect(r.issues[0]?.index).toBe(3);
    expect(r.issues[0]?.score).toBeCloseTo(-1);
    const scores = r.issues.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    const again = confidentLearning({ probabilities, labels, numClasses: k, confirmed: new Set([3, 40]) });
    expect(again.issues.map((i) => i.index)).toEqual(r.issues.map((i) => i.index).filter((x) => x !== 3 && x !== 40));
    expect(again.noiseRates).toEqual(r.noiseRates);
  });

  it('calibrates each row to its given count, then the whole to 1', () => {
    const q = calibrateJoint(
      [
        [2, 1],
        [0, 1],
      ],
      [6, 4],
    );
    expect(q[0]![0]).toBeCloseTo(0.4);
    expect(q[0]![1]).toBeCloseTo(0.2);
    expect(q[1]![0]).toBeCloseTo(0);
    expect(q[1]![1]).toBeCloseTo(0.4);
  });

  it('a class no image is given: no threshold, no noise rate, nothing breaks', () => {
    const probabilities = Float32Array.from([0.8, 0.1, 0.1, 0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.7, 0.1]);
    const labels = Int32Array.from([0, 0, 1, 1]);
    const r = confidentLearning({ probabilities, labels, numClasses: 3 });
    expect(r.thresholds[2]).toBeNull();
    expect(r.noiseRates[2]).toBeNull();
    expect(r.confidentJoint[2]).toEqual([0, 0, 0]);
    expect(r.noiseMatrix.map((row) => row[2])).toEqual([null, null, null]);
    expect(r.issues).toEqual([]);
  });

  it('a class with no confident example gets a null noise-matrix column; its images are flagged to the class that wins', () => {
    // Images given 2 put 0.6 on class 0 (t_0 = 0.6) and 0.4 on class 2: all confidently class 0.
    const probabilities = Float32Array.from([0.5, 0.25, 0.25, 0.7, 0.15, 0.15, 0.05, 0.9, 0.05, 0.05, 0.9, 0.05, 0.6, 0, 0.4, 0.6, 0, 0.4]);
    const labels = Int32Array.from([0, 0, 1, 1, 2, 2]);
    const r = confidentLearning({ probabilities, labels, numClasses: 3 });
    expect(r.confidentJoint.map((row) => row[2])).toEqual([0, 0, 0]);
    expect(r.noiseMatrix.map((row) => row[2])).toEqual([null, null, null]);
    expect(r.noiseRates[2]).toBeCloseTo(1);
    expect(r.issues.map((i) => [i.index, i.suggested])).toEqual([
      [4, 0],
      [5, 0],
    ]);
  });

  it('one class: no noise, no issues', () => {
    const r = confidentLearning({ probabilities: Float32Array.from([1, 1, 1]), labels: Int32Array.from([0, 0, 0]), numClasses: 1 });
    expect(r.noiseRates).toEqual([0]);
    expect(r.joint).toEqual([[1]]);
    expect(r.issues).toEqual([]);
    expect(Array.from(labelQuality(Float32Array.from([1, 1]), Int32Array.from([0, 0]), 1))).toEqual([1, 1]);
  });

  it('ties: a tie with the given label is no evidence of an error; equal margins rank by index', () => {
    const uniform = new Float32Array(12).fill(1 / 3);
    const r = confidentLearning({ probabilities: uniform, labels: Int32Array.from([0, 1, 2, 0]), numClasses: 3 });
    expect(r.confidentJoint).toEqual([
      [2, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(r.issues).toEqual([]);
    // Two identical blatant errors given 1 that are truly 0: both flagged, lower index first.
    const p = Float32Array.from([0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.05, 0.9]);
    const tied = confidentLearning({ probabilities: p, labels: Int32Array.from([0, 0, 0, 1, 1, 1, 2]), numClasses: 3 });
    expect(tied.issues.map((i) => i.index)).toEqual([4, 5]);
  });

  it('refuses inputs that do not fit, naming what is wrong', () => {
    expect(() => confidentLearning({ probabilities: new Float32Array(5), labels: Int32Array.from([0, 1]), numClasses: 3 })).toThrow(/5 values; 2 images x 3 classes need 6/);
    expect(() => confidentLearning({ probabilities: new Float32Array(6), labels: Int32Array.from([0, 3]), numClasses: 3 })).toThrow(/Image 1 has label 3/);
    expect(() => confidentLearning({ probabilities: Float32Array.from([NaN, 1]), labels: Int32Array.from([0]), numClasses: 2 })).toThrow(/not in \[0, 1\]/);
    expect(() => confidentLearning({ probabilities: new Float32Array(0), labels: new Int32Array(0), numClasses: 0 })).toThrow(/positive integer/);
  });
});
