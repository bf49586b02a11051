/**
 * Dealing labelled images into K folds, stratified by label and seeded: the audit's out-of-sample
 * probabilities (engine) and a sweep's k-fold cross-validation (host) deal the same way, so a seed
 * means the same folds everywhere.
 */
import { seededRandom, shuffled } from './random';
import { UnionFind } from './union-find';

/**
 * Fold of each image: per class, its images in a seeded order dealt round-robin, each class starting
 * where the previous one stopped, so folds differ in size by at most one and every class is spread.
 */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  return groupedFolds(labels, [], folds, seed);
}

/**
 * Folds as stratifiedFolds deals them, but each group of images (near-duplicate copies) dealt as
 * one unit so its members never straddle a fold boundary: copies of an image in both the training
 * folds and the validation fold would flatter the validation accuracy. Overlapping groups are
 * merged; a group goes with its commonest label's class, larger units first, each unit to the
 * smallest fold so far (the next in turn on a tie, which for single images is round-robin).
 * `groups` hold indexes into `labels`.
 */
export function groupedFolds(labels: ArrayLike<number>, groups: readonly (readonly number[])[], folds: number, seed: number): Int32Array {
  const units = dealingUnits(labels, groups);
  const byClass = new Map<number, number[][]>();
  for (const u of units) byClass.set(u.label, [...(byClass.get(u.label) ?? []), u.members]);
  const random = seededRandom(seed);
  const out = new Int32Array(labels.length);
  const size = new Array<number>(folds).fill(0);
  let next = 0;
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(y)!;
    const order = Array.from(shuffled(list.length, random), (r) => list[r]!).sort((a, b) => b.length - a.length); // stable: ties keep the seeded order
    for (const members of order) {
      let fold = next;
      for (let k = 1; k < folds; k++) if (size[(next + k) % folds]! < size[fold]!) fold = (next + k) % folds;
      for (const i of members) out[i] = fold;
      size[fold]! += members.length;
      next = (fold + 1) % folds;
    }
  }
  return out;
}

/** Images joined into units by the groups (merged where they overlap), each with its commonest label (the lowest on a tie). */
function dealingUnits(labels: ArrayLike<number>, groups: readonly (readonly number[])[]): { members: number[]; label: number }[] {
  const n = labels.length;
  const units = new UnionFind();
  for (const g of groups) for (let k = 1; k < g.length; k++) units.union(g[0]!, g[k]!);
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const root = units.find(i);
    const members = byRoot.get(root);
    if (members) members.push(i);
    else byRoot.set(root, [i]);
  }
  return [...byRoot.values()].map((members) => {
    const count = new Map<number, number>();
    for (const i of members) count.set(labels[i] as number, (count.get(labels[i] as number) ?? 0) + 1);
    const label = [...count].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
    return { members, label };
  });
}
