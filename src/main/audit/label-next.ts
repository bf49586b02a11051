/**
 * Which unlabelled images to label next: the ones the current head is least sure of, weighted by
 * how typical they are of the unlabelled pool, so effort is not spent on outliers.
 *
 * uncertainty: 'margin' (default) = 1 - (p1 - p2), the top two probabilities; 'entropy' = the
 * entropy of the probabilities over log(k). Both are in [0, 1], 1 = undecided.
 * density: the mean cosine similarity of the image's features to the whole unlabelled pool
 * (Settles and Craven's information density, 2008), computed exactly in O(n dim) as the dot
 * product with the mean of the normalised rows; clamped to [0, 1].
 * score = uncertainty x density^beta (beta = densityWeight, default 1; 0 ranks by uncertainty alone).
 */
import { poolDensity } from '../../shared/pool-density';

export type Uncertainty = 'margin' | 'entropy';

export interface LabelNextInput {
  /** Row-major [n, k] probabilities of the current head for the unlabelled images. */
  probabilities: ArrayLike<number>;
  numClasses: number;
  /** Row-major [n, dim] features of the same images; without them density is 1. */
  features?: Float32Array;
  dim?: number;
  uncertainty?: Uncertainty;
  densityWeight?: number;
}

export interface LabelNextItem {
  index: number;
  score: number;
  uncertainty: number;
  density: number;
  /** The head's most probable class. */
  predicted: number;
}

export function uncertaintyOf(p: ArrayLike<number>, offset: number, k: number, kind: Uncertainty): number {
  if (kind === 'entropy') {
    if (k < 2) return 0;
    let h = 0;
    for (let j = 0; j < k; j++) {
      const v = p[offset + j] as number;
      if (v > 0) h -= v * Math.log(v);
    }
    return h / Math.log(k);
  }
  let first = -Infinity;
  let second = -Infinity;
  for (let j = 0; j < k; j++) {
    const v = p[offset + j] as number;
    if (v > first) [first, second] = [v, first];
    else if (v > second) second = v;
  }
  return k < 2 ? 0 : 1 - (first - second);
}

/** Unlabelled images, most worth labelling first. */
export function labelNext(input: LabelNextInput): LabelNextItem[] {
  const k = input.numClasses;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`numClasses must be a positive integer, got ${k}.`);
  if (input.probabilities.length % k !== 0) throw new RangeError(`probabilities has ${input.probabilities.length} values, not a whole number of rows of ${k}.`);
  const n = input.probabilities.length / k;
  const kind = input.uncertainty ?? 'margin';
  const beta = input.densityWeight ?? 1;
  let density: Float32Array | null = null;
  if (input.features) {
    const dim = input.dim ?? 0;
    if (!(dim >= 1) || input.features.length !== n * dim) throw new RangeError(`features has ${input.features.length} values; ${n} images x ${dim} need ${n * dim}.`);
    density = poolDensity(input.features, dim);
  }
  const items: LabelNextItem[] = [];
  for (let i = 0; i < n; i++) {
    const u = uncertaintyOf(input.probabilities, i * k, k, kind);
    const d = density ? (density[i] as number) : 1;
    let predicted = 0;
    for (let j = 1; j < k; j++) if ((input.probabilities[i * k + j] as number) > (input.probabilities[i * k + predicted] as number)) predicted = j;
    items.push({ index: i, score: u * d ** beta, uncertainty: u, density: d, predicted });
  }
  return items.sort((a, b) => b.score - a.score || a.index - b.index);
}
