/**
 * Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in
 * Dataset Labels", JAIR 2021), written from the paper's description:
 *
 *  1. per-class thresholds: t_j = the mean self-confidence p(j | x) over the images given label j;
 *  2. the confident joint C[i][j]: images given label i counted as "truly j" when p(j | x) >= t_j;
 *     when several classes pass their threshold, the most probable of them wins (a tie with the
 *     given label counts for the given label: a tie is no evidence of an error);
 *  3. calibration: each row of C rescaled to the number of images given label i, then the matrix
 *     divided by its sum: Q[i][j], the estimated joint of given label i and true label j;
 *  4. the noise matrix p(given = i | true = j) = Q[i][j] / sum_i Q[i][j], and per given class the
 *     noise rate p(true != i | given = i) = 1 - Q[i][i] / sum_j Q[i][j];
 *  5. prune by noise rate: for each off-diagonal cell (i, j), the round(n * Q[i][j]) images given
 *     label i with the largest margin p(j | x) - p(i | x) are flagged.
 *
 * The probabilities must be out-of-sample (predicted by a model that never trained on the image).
 * Flagged images are ranked by the normalized margin p(given | x) - max_{j != given} p(j | x), in
 * [-1, 1], ascending: the more another class outweighs the given one, the likelier the label is
 * wrong. That margin is each issue's `score`; labelQuality gives it for every image (the map's colour).
 */

export interface ConfidentLearningInput {
  /** Row-major [n, k] out-of-sample class probabilities (rows sum to 1). */
  probabilities: ArrayLike<number>;
  /** Given label of each image, an index into the k classes. */
  labels: ArrayLike<number>;
  numClasses: number;
  /** Indices of images whose label the user confirmed: they still count in the estimates, never flagged. */
  confirmed?: ReadonlySet<number>;
}

export interface LabelIssue {
  /** Index of the image in the input. */
  index: number;
  given: number;
  /** The most probable class other than the given one. */
  suggested: number;
  /** p(given | x). */
  selfConfidence: number;
  /** Normalized margin p(given | x) - p(suggested | x), in [-1, 1]; lower = likelier an error. */
  score: number;
}

export interface ConfidentLearningResult {
  /** t_j per class; null for a class no image is given. */
  thresholds: (number | null)[];
  /** C[given][true]: counts of confidently placed images. */
  confidentJoint: number[][];
  /** Q[given][true], calibrated, summing to 1. */
  joint: number[][];
  /** p(given = i | true = j) as [i][j]; a column is null where no image is confidently of class j. */
  noiseMatrix: (number | null)[][];
  /** Per given class: estimated share of its images whose true label is another; null when no image has it. */
  noiseRates: (number | null)[];
  /** Flagged images (prune by noise rate), likeliest errors first. */
  issues: LabelIssue[];
}

function checkInput(input: ConfidentLearningInput): { n: number; k: number } {
  const k = input.numClasses;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`numClasses must be a positive integer, got ${k}.`);
  const n = input.labels.length;
  if (input.probabilities.length !== n * k) {
    throw new RangeError(`probabilities has ${input.probabilities.length} values; ${n} images x ${k} classes need ${n * k}.`);
  }
  for (let x = 0; x < n; x++) {
    const y = input.labels[x] as number;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new RangeError(`Image ${x} has label ${y}, outside the ${k} classes.`);
  }
  for (let v = 0; v < n * k; v++) {
    const p = input.probabilities[v] as number;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Probability ${p} of image ${Math.floor(v / k)} is not in [0, 1].`);
  }
  return { n, k };
}

/** Most probable class other than `given` (lowest index on ties). */
function bestOther(p: ArrayLike<number>, row: number, k: number, given: number): number {
  let best = -1;
  for (let j = 0; j < k; j++) if (j !== given && (best < 0 || (p[row + j] as number) > (p[row + best] as number))) best = j;
  return best;
}

/** Normalized margin p(given) - max other, for every image; 1 when there is one class. */
export function labelQuality(probabilities: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Float32Array {
  const { n, k } = checkInput({ probabilities, labels, numClasses });
  const out = new Float32Array(n);
  for (let x = 0; x < n; x++) {
    const y = labels[x] as number;
    const other = bestOther(probabilities, x * k, k, y);
    out[x] = (probabilities[x * k + y] as number) - (other < 0 ? 0 : (probabilities[x * k + other] as number));
  }
  return out;
}

/** Step 1: t_j, the mean p(j | x) over the images given label j (null when there is none). */
export function perClassThresholds(p: ArrayLike<number>, labels: ArrayLike<number>, k: number): (number | null)[] {
  const sum = new Float64Array(k);
  const count = new Float64Array(k);
  for (let x = 0; x < labels.length; x++) {
    const y = labels[x] as number;
    sum[y] = (sum[y] as number) + (p[x * k + y] as number);
    count[y] = (count[y] as number) + 1;
  }
  return Array.from(count, (c, j) => (c > 0 ? (sum[j] as number) / c : null));
}

/** Step 2: C[given][true]. */
export function confidentJoint(p: ArrayLike<number>, labels: ArrayLike<number>, k: number, thresholds: readonly (number | null)[]): number[][] {
  const joint = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let x = 0; x < labels.length; x++) {
    const y = labels[x] as number;
    let best = -1;
    for (let j = 0; j < k; j++) {
      const t = thresholds[j];
      const pj = p[x * k + j] as number;
      if (t === null || t === undefined || pj < t) continue;
      const pb = best < 0 ? -1 : (p[x * k + best] as number);
      if (pj > pb || (pj === pb && j === y)) best = j;
    }
    if (best >= 0) (joint[y] as number[])[best]! += 1;
  }
  return joint;
}

/** Step 3: rows rescaled to the given-label counts, then normalised to sum 1. */
export function calibrateJoint(joint: readonly (readonly number[])[], givenCounts: readonly number[]): number[][] {
  const rows = joint.map((row, i) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((c) => (s > 0 ? (c / s) * (givenCounts[i] ?? 0) : 0));
  });
  const total = rows.reduce((a, r) => a + r.reduce((b, c) => b + c, 0), 0);
  return rows.map((r) => r.map((c) => (total > 0 ? c / total : 0)));
}

export function confidentLearning(input: ConfidentLearningInput): ConfidentLearningResult {
  const { n, k } = checkInput(input);
  const p = input.probabilities;
  const labels = input.labels;
  const thresholds = perClassThresholds(p, labels, k);
  const cj = confidentJoint(p, labels, k, thresholds);
  const givenCounts = new Array<number>(k).fill(0);
  for (let x = 0; x < n; x++) givenCounts[labels[x] as number]! += 1;
  const q = calibrateJoint(cj, givenCounts);

  const colSums = Array.from({ length: k }, (_, j) => q.reduce((a, r) => a + (r[j] as number), 0));
  const noiseMatrix = q.map((r) => r.map((v, j) => ((colSums[j] as number) > 0 ? v / (colSums[j] as number) : null)));
  const noiseRates = q.map((r, i) => {
    const s = r.reduce((a, b) => a + b, 0);
    return s > 0 ? 1 - (r[i] as number) / s : null;
  });

  // Step 5: prune by noise rate.
  const byGiven = Array.from({ length: k }, () => [] as number[]);
  for (let x = 0; x < n; x++) byGiven[labels[x] as number]!.push(x);
  const flagged = new Set<number>();
  for (let i = 0; i < k; i++) {
    const members = byGiven[i] as number[];
    for (let j = 0; j < k; j++) {
      if (i === j) continue;
      const count = Math.min(members.length, Math.round(n * (q[i]![j] as number)));
      if (count === 0) continue;
      const margin = (x: number) => (p[x * k + j] as number) - (p[x * k + i] as number);
      const ranked = [...members].sort((a, b) => margin(b) - margin(a) || a - b);
      for (const x of ranked.slice(0, count)) flagged.add(x);
    }
  }

  const issues: LabelIssue[] = [];
  for (const x of flagged) {
    if (input.confirmed?.has(x)) continue;
    const y = labels[x] as number;
    const suggested = bestOther(p, x * k, k, y);
    const selfConfidence = p[x * k + y] as number;
    issues.push({ index: x, given: y, suggested, selfConfidence, score: selfConfidence - (p[x * k + suggested] as number) });
  }
  issues.sort((a, b) => a.score - b.score || a.index - b.index);
  return { thresholds, confidentJoint: cj, joint: q, noiseMatrix, noiseRates, issues };
}
