/**
 * k-fold cross-validation's folds on the host: the labelled images (train and val) dealt into K
 * folds, stratified by label and seeded, with the latest audit's near-duplicate clusters dealt as
 * one unit (src/shared/folds.ts), so that copies of an image never straddle training and validation.
 */
import { groupedFolds } from '../../shared/folds';
import { StudioError } from '../../shared/errors';
import type { TrainItem } from '../engine/protocol';

/** Each item's fold by image id. */
export function dealFolds(items: readonly TrainItem[], clusters: readonly (readonly number[])[], folds: number, seed: number): Map<number, number> {
  const groups = labelledGroups(items, clusters);
  const fold = groupedFolds(
    items.map((it) => it.label),
    groups,
    folds,
    seed,
  );
  const out = new Map<number, number>();
  items.forEach((it, i) => out.set(it.imageId, fold[i]!));
  const sizes = new Array<number>(folds).fill(0);
  for (const f of out.values()) sizes[f]!++;
  const empty = sizes.indexOf(0);
  if (empty >= 0) throw new StudioError('bad_input', `${folds} folds need at least ${folds} labelled images (or groups of near-duplicates); fold ${empty + 1} would be empty.`, 'folds');
  return out;
}

/** Each cluster's members that are labelled items here (as indices into `items`); a cluster of one needs no care. */
function labelledGroups(items: readonly TrainItem[], clusters: readonly (readonly number[])[]): number[][] {
  const index = new Map(items.map((it, i) => [it.imageId, i]));
  return clusters.map((c) => c.flatMap((id) => (index.has(id) ? [index.get(id)!] : []))).filter((g) => g.length > 1);
}

/** How the folds treat near-duplicates, for the plan: the analyst is told when no audit has looked for them. */
export function foldGrouping(auditedAt: string | null, items: readonly TrainItem[], clusters: readonly (readonly number[])[]): { audited: boolean; text: string } {
  if (auditedAt === null)
    return {
      audited: false,
      text: 'No audit has looked for near-duplicates in this project: copies of an image may fall into different folds and make the cross-validation score look better than it is. Run an audit first to keep each group of copies in one fold.',
    };
  const n = labelledGroups(items, clusters).length;
  return { audited: true, text: `Near-duplicates from the audit of ${auditedAt.slice(0, 10)}: ${n === 0 ? 'none among the labelled images' : `${n} group${n === 1 ? '' : 's'} of copies, each kept in one fold`}.` };
}

/** The items of fold `k`'s run: fold k validates, the other folds train. Images without a fold (added since the sweep began) stay out. */
export function foldItems(items: readonly TrainItem[], folds: ReadonlyMap<number, number>, k: number): TrainItem[] {
  return items.flatMap((it) => {
    const f = folds.get(it.imageId);
    return f === undefined ? [] : [{ ...it, split: f === k ? ('val' as const) : ('train' as const) }];
  });
}
