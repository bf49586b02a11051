/**
 * Metrics from a confusion matrix (rows = true class, columns = predicted class): per-class
 * precision, recall, F1 and support, overall accuracy, the majority-class baseline, and
 * row-normalisation for the heatmap. Undefined ratios (nothing predicted / no support) are null.
 */
export interface ClassMetrics {
  index: number;
  name: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** Images whose true class this is. */
  support: number;
  /** Images predicted as this class. */
  predicted: number;
  correct: number;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

export function classMetrics(classNames: readonly string[], matrix: readonly (readonly number[])[]): ClassMetrics[] {
  return classNames.map((name, k) => {
    const row = matrix[k] ?? [];
    const correct = row[k] ?? 0;
    const support = sum(row);
    const predicted = sum(matrix.map((r) => r[k] ?? 0));
    const precision = predicted > 0 ? correct / predicted : null;
    const recall = support > 0 ? correct / support : null;
    const f1 = precision !== null && recall !== null ? (precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0) : null;
    return { index: k, name, precision, recall, f1, support, predicted, correct };
  });
}

export function total(matrix: readonly (readonly number[])[]): number {
  return sum(matrix.map(sum));
}

/** Correct / all; null for an empty matrix. */
export function accuracy(matrix: readonly (readonly number[])[]): number | null {
  const n = total(matrix);
  return n > 0 ? sum(matrix.map((r, i) => r[i] ?? 0)) / n : null;
}

/** The accuracy of always answering the most common true class. */
export function majorityBaseline(matrix: readonly (readonly number[])[]): number | null {
  const n = total(matrix);
  return n > 0 ? Math.max(...matrix.map(sum)) / n : null;
}

/** Unweighted mean of the defined per-class values. */
export function macro(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length > 0 ? sum(xs) / xs.length : null;
}

/** Each row divided by its sum (a row of zeros stays zeros). */
export function normaliseRows(matrix: readonly (readonly number[])[]): number[][] {
  return matrix.map((r) => {
    const s = sum(r);
    return r.map((v) => (s > 0 ? v / s : 0));
  });
}

