/**
 * Each image's nearest images by content descriptor (content-box.ts contentDescriptor: the coarse
 * content inside the flat margins, mirror-blind): candidates for the near-duplicate finder's
 * alignment search (near-duplicates.ts) among copies cropped, padded, rescaled and mirrored, whose
 * pHash, content hash and features have all moved. Exact: every pair's dot product, 64 values
 * each, so O(n^2); each row keeps its best k in a small sorted list.
 */

/** Longest stretch between two yields to the event loop. */
const YIELD_MS = 20;

/**
 * Pairs (a < b, ascending) where b is among a's `k` nearest by descriptor or a among b's, at
 * `minSimilarity` or more; null when cancelled. `onProgress` gets the share of rows done.
 */
export async function contentNeighbours(
  descriptors: readonly Float32Array[],
  k: number,
  minSimilarity: number,
  signal?: AbortSignal,
  onProgress?: (done: number) => void,
): Promise<{ a: number; b: number; similarity: number }[] | null> {
  const n = descriptors.length;
  if (n < 2 || k < 1) return [];
  const dim = (descriptors[0] as Float32Array).length;
  const all = new Float32Array(n * dim);
  descriptors.forEach((d, i) => {
    if (d.length !== dim) throw new RangeError(`Descriptor ${i} has ${d.length} values, not ${dim}.`);
    all.set(d, i * dim);
  });
  // Per row its best k so far: similarities descending, and their images.
  const bestSim = new Float32Array(n * k).fill(-Infinity);
  const bestIdx = new Int32Array(n * k).fill(-1);
  const offer = (i: number, j: number, s: number): void => {
    const base = i * k;
    if (s <= (bestSim[base + k - 1] as number)) return;
    let p = base + k - 1;
    for (; p > base && (bestSim[p - 1] as number) < s; p--) {
      bestSim[p] = bestSim[p - 1] as number;
      bestIdx[p] = bestIdx[p - 1] as number;
    }
    bestSim[p] = s;
    bestIdx[p] = j;
  };
  // The first half (content-box.ts: the mirror-symmetric part) holds most of a descriptor's length:
  // a pair whose dot product there plus the product of the other halves' lengths (Cauchy-Schwarz)
  // cannot beat either image's k-th best is skipped before the second half is read.
  const split = dim >> 1;
  const rest = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let d = split; d < dim; d++) r += (all[i * dim + d] as number) ** 2;
    rest[i] = Math.sqrt(r);
  }
  let lastYield = performance.now();
  for (let i = 0; i < n; i++) {
    const ai = i * dim;
    const ri = rest[i] as number;
    for (let j = i + 1; j < n; j++) {
      const aj = j * dim;
      let s = 0;
      for (let d = 0; d < split; d++) s += (all[ai + d] as number) * (all[aj + d] as number);
      const floor = Math.max(minSimilarity, Math.min(bestSim[i * k + k - 1] as number, bestSim[j * k + k - 1] as number));
      if (s + ri * (rest[j] as number) < floor) continue;
      for (let d = split; d < dim; d++) s += (all[ai + d] as number) * (all[aj + d] as number);
      if (s < floor) continue;
      offer(i, j, s);
      offer(j, i, s);
    }
    if (performance.now() - lastYield > YIELD_MS) {
      // Rows get shorter as i grows: the share of pairs done, not of rows.
      onProgress?.(1 - ((n - i - 1) / n) ** 2);
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
      if (signal?.aborted) return null;
    }
  }
  const pairs = new Map<number, { a: number; b: number; similarity: number }>();
  for (let i = 0; i < n; i++) {
    for (let p = i * k; p < (i + 1) * k && (bestIdx[p] as number) >= 0; p++) {
      const j = bestIdx[p] as number;
      const [a, b] = i < j ? [i, j] : [j, i];
      pairs.set(a * n + b, { a, b, similarity: bestSim[p] as number });
    }
  }
  return [...pairs.values()].sort((x, y) => x.a - y.a || x.b - y.b);
}
