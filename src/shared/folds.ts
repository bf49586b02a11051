/**
 * Dealing labelled images into K folds, stratified by label and seeded: the audit's out-of-sample
 * probabilities (engine) and a sweep's k-fold cross-validation (host) deal the same way, so a seed
 * means the same folds everywhere.
 */
import { seededRandom, shuffled } from './random';

/**
 * Fold of each image: per class, its images in a seeded order dealt round-robin, each class starting
 * where the previous one stopped, so folds differ in size by at most one and every class is spread.
 */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    const list = byClass.get(y) ?? [];
    list.push(i);
    byClass.set(y, list);
  }
  const random = seededRandom(seed);
  const out = new Int32Array(labels.length);
  let next = 0;
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(y) as number[];
    for (const r of shuffled(members.length, random)) {
      out[members[r] as number] = next;
      next = (next + 1) % folds;
    }
  }
  return out;
}

/**
 * Folds as stratifiedFolds deals them, but each group of images (near-duplicate copies) dealt as
 * one unit so its members never straddle a fold boundary: copies of an image in both the training
 * folds and the validation fold would flatter the validation accuracy. Overlapping groups are
 * merged; a group is stratified under its commonest label. `groups` hold indexes into `labels`.
 */
export function groupedFolds(labels: ArrayLike<number>, groups: readonly (readonly number[])[], folds: number, seed: number): Int32Array {
  const n = labels.length;
  // Union-find over the images: every group's members share one root.
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (const g of groups) for (let k = 1; k < g.length; k++) parent[find(g[k]!)] = find(g[0]!);
  const unitOf = new Int32Array(n);
  const members: number[][] = [];
  const unitIndex = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const root = find(i);
    let u = unitIndex.get(root);
    if (u === undefined) unitIndex.set(root, (u = members.push([]) - 1));
    members[u]!.push(i);
    unitOf[i] = u;
  }
  const unitLabels = members.map((m) => {
    const count = new Map<number, number>();
    for (const i of m) count.set(labels[i] as number, (count.get(labels[i] as number) ?? 0) + 1);
    // The commonest label, the lowest on a tie (deterministic).
    return [...count].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  });
  const unitFold = stratifiedFolds(unitLabels, folds, seed);
  return Int32Array.from(unitOf, (u) => unitFold[u]!);
}
