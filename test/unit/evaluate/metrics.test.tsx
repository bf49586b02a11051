import { describe, expect, it } from 'vitest';
import { accuracy, classMetrics, macro, majorityBaseline, normaliseRows } from '../../../src/renderer/features/evaluate/metrics';

// rows = true, columns = predicted
const names = ['cat', 'dog', 'fox'];
const m = [
  [8, 2, 0],
  [1, 6, 3],
  [0, 0, 0],
];

describe('metrics from a confusion matrix', () => {
  it('computes precision, recall, F1 and support per class', () => {
    const [cat, dog, fox] = classMetrics(names, m);
    expect(cat).toMatchObject({ name: 'cat', support: 10, predicted: 9, correct: 8 });
    expect(cat!.precision).toBeCloseTo(8 / 9);
    expect(cat!.recall).toBeCloseTo(0.8);
    expect(cat!.f1).toBeCloseTo((2 * (8 / 9) * 0.8) / (8 / 9 + 0.8));
    expect(dog!.precision).toBeCloseTo(6 / 8);
    expect(dog!.recall).toBeCloseTo(0.6);
    // fox: predicted 3 times, never right, no support -> precision 0, recall undefined, F1 undefined.
    expect(fox).toMatchObject({ support: 0, predicted: 3, precision: 0, recall: null, f1: null });
  });

  it('gives F1 0 when precision and recall are both 0', () => {
    const [a] = classMetrics(['a', 'b'], [
      [0, 4],
      [2, 3],
    ]);
    expect(a).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('computes accuracy, the majority baseline and macro averages', () => {
    expect(accuracy(m)).toBeCloseTo(14 / 20);
    expect(majorityBaseline(m)).toBeCloseTo(10 / 20);
    expect(accuracy([])).toBeNull();
    expect(majorityBaseline([[0]])).toBeNull();
    expect(macro([0.5, null, 1])).toBeCloseTo(0.75);
    expect(macro([null])).toBeNull();
  });

  it('normalises rows, leaving empty rows at zero', () => {
    expect(normaliseRows(m)).toEqual([
      [0.8, 0.2, 0],
      [0.1, 0.6, 0.3],
      [0, 0, 0],
    ]);
  });
});
