/**
 * Each image's nearest images by content descriptor (content-box.ts contentDescriptors: the coarse
 * content inside the flat margins, mirror-blind): candidates for the near-duplicate finder's
 * alignment search (near-duplicates.ts) among copies cropped, padded, rescaled and mirrored, whose
 * pHash, content hash and features have all moved. Exact: every pair's dot product, 64 values
 * each, so O(n^2); each row keeps its best k in a small sorted list. With crop hypotheses
 * (content-box.ts contentDescriptors), a copy cropped into its content is found by its original's
 * crops among the shortlist.
 */
import { Pacer } from './pacer';

export interface ContentNeighbourOptions {
  /**
   * Each image's crop hypotheses (content-box.ts contentDescriptors): each image's SHORTLIST
   * nearest by descriptor are then ranked by the best of the two descriptors' similarity and either
   * one's crops' against the other's descriptor, and its k best kept.
   */
  crops?: readonly (readonly Float32Array[])[];
  signal?: AbortSignal;
  /** The share of the work done. */
  onProgress?: (done: number) => void;
}

/**
 * How many of each image's nearest by descriptor its crops rank again. Crops in every pair would
 * cost 18 dot products a pair where the descriptors' bound skips most of them (about 70 s for the
 * benchmark's 11,340 images, measured); among the 50 nearest, 4 s. On the benchmark (bench/audit.ts,
 * the content candidates alone), the triples whose copy and original are among one another's 2
 * best: 323 of 350 from the 10 nearest, 325 from 20, 327 from 50; 327 from all. The finder's 3
 * nearest from 50 against 20, both sets: triples 325 -> 326 and 324, pairs 200 and 202 -> 203,
 * false clusters 31 and 28 -> 27.
 */
export const SHORTLIST = 50;
/** The share of the work that is the descriptors' search when crops rank its shortlist again (measured: 4.5 s of 8.5). */
const SEARCH_SHARE = 0.5;

/**
 * Pairs (a < b, ascending) where b is among a's `wanted` nearest by descriptor (with crops: by the
 * best of descriptor and crops) or a among b's, at `minSimilarity` or more; null when cancelled.
 */
export async function contentNeighbours(descriptors: readonly Float32Array[], wanted: number, minSimilarity: number, options: ContentNeighbourOptions = {}): Promise<{ a: number; b: number; similarity: number }[] | null> {
  const { crops, signal } = options;
  const onProgress = crops ? (d: number) => options.onProgress?.(SEARCH_SHARE * d) : options.onProgress;
  if (crops && crops.length !== descriptors.length) throw new RangeError(`${descriptors.length} descriptors but crops for ${crops.length} images.`);
  const n = descriptors.length;
  if (n < 2 || wanted < 1) return [];
  // Each row's best k so far, where crops rank the shortlist again afterwards.
  const k = crops ? Math.max(wanted, SHORTLIST) : wanted;
  const dim = (descriptors[0] as Float32Array).length;
  const all = new Float32Array(n * dim);
  descriptors.forEach((d, i) => {
    if (d.length !== dim) throw new RangeError(`Descriptor ${i} has ${d.length} values, not ${dim}.`);
    all.set(d, i * dim);
    for (const c of crops?.[i] ?? []) if (c.length !== dim) throw new RangeError(`Image ${i}'s crops have ${c.length} values, not ${dim}.`);
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
  const pacer = new Pacer(signal);
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
    if (pacer.due()) {
      // Rows get shorter as i grows: the share of pairs done, not of rows.
      onProgress?.(1 - ((n - i - 1) / n) ** 2);
      if (!(await pacer.pause())) return null;
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
  if (crops) return rankByCrops(descriptors, crops, [...pairs.values()], wanted, signal, (d) => options.onProgress?.(SEARCH_SHARE + (1 - SEARCH_SHARE) * d));
  return [...pairs.values()].sort((x, y) => x.a - y.a || x.b - y.b);
}

const dot = (x: Float32Array, y: Float32Array): number => {
  let s = 0;
  for (let d = 0; d < x.length; d++) s += (x[d] as number) * (y[d] as number);
  return s;
};

/** The shortlist's pairs ranked by the best of descriptor and crops: each image's k best (either way round). */
async function rankByCrops(
  descriptors: readonly Float32Array[],
  crops: readonly (readonly Float32Array[])[],
  shortlist: readonly { a: number; b: number; similarity: number }[],
  k: number,
  signal: AbortSignal | undefined,
  onProgress: (done: number) => void,
): Promise<{ a: number; b: number; similarity: number }[] | null> {
  const n = descriptors.length;
  // The best of s and i's crops against j's descriptor.
  const bestOf = (i: number, j: number, s: number): number => {
    const d = descriptors[j] as Float32Array;
    for (const c of crops[i] as readonly Float32Array[]) s = Math.max(s, dot(c, d));
    return s;
  };
  const byImage: { a: number; b: number; similarity: number }[][] = Array.from({ length: n }, () => []);
  const pacer = new Pacer(signal);
  for (const [x, plain] of shortlist.entries()) {
    const p = { ...plain, similarity: bestOf(plain.b, plain.a, bestOf(plain.a, plain.b, plain.similarity)) };
    byImage[p.a]?.push(p);
    byImage[p.b]?.push(p);
    if (pacer.due()) {
      onProgress(x / shortlist.length);
      if (!(await pacer.pause())) return null;
    }
  }
  const kept = new Set<{ a: number; b: number; similarity: number }>();
  for (const list of byImage) for (const p of list.sort((x, y) => y.similarity - x.similarity).slice(0, k)) kept.add(p);
  return [...kept].sort((x, y) => x.a - y.a || x.b - y.b);
}
