/**
 * Bulk requests with more ids than one request may carry (MAX_IDS, so that every request fits the
 * transport's frame) go in parts, one request per part, and their results are merged. When a part
 * of a label change fails, the parts already applied are put back, so a change is whole or nothing.
 */
import { MAX_IDS, MAX_LABEL_GROUPS, type RequestInput, type RequestOutput } from '../../shared/api';
import type { LabelGroup, Split, SplitGroup } from '../../shared/domain';
import { api } from './client';

type LabelChange = { previous: LabelGroup[]; changed: number; skipped?: number };

export function parts<T>(items: readonly T[], size = MAX_IDS): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out.length > 0 ? out : [[]];
}

/** Groups (of labels, of splits) cut so that no part holds more than `size` ids or `maxGroups` groups. */
export function groupParts<G extends { ids: readonly number[] }>(groups: readonly G[], size = MAX_IDS, maxGroups = MAX_LABEL_GROUPS): (Omit<G, 'ids'> & { ids: number[] })[][] {
  type Part = Omit<G, 'ids'> & { ids: number[] };
  const out: Part[][] = [];
  let part: Part[] = [];
  let room = size;
  const flush = (): void => {
    if (part.length > 0) out.push(part);
    part = [];
    room = size;
  };
  for (const g of groups) {
    let i = 0;
    do {
      if ((room === 0 && i < g.ids.length) || part.length === maxGroups) flush();
      const ids = g.ids.slice(i, i + room);
      part.push({ ...g, ids });
      room -= ids.length;
      i += ids.length;
    } while (i < g.ids.length);
  }
  flush();
  return out.length > 0 ? out : [[]];
}

/** Sums the counts and joins the undo groups of the parts of one change. */
export function mergeChanges<R extends LabelChange>(results: readonly R[]): R {
  const merged = { previous: results.flatMap((r) => r.previous), changed: 0 } as LabelChange;
  for (const r of results) {
    merged.changed += r.changed;
    if (r.skipped !== undefined) merged.skipped = (merged.skipped ?? 0) + r.skipped;
  }
  return merged as R;
}

async function labelParts<R extends LabelChange>(calls: (() => Promise<R>)[]): Promise<R> {
  const done: R[] = [];
  try {
    for (const call of calls) done.push(await call());
  } catch (err) {
    // Put back what the parts before the failure changed, newest first.
    for (const r of done.reverse()) await restoreLabels(r.previous).catch(() => undefined);
    throw err;
  }
  return mergeChanges(done);
}

export function setLabels(ids: readonly number[], classId: number | null): Promise<RequestOutput<'setLabels'>> {
  return labelParts(parts(ids).map((part) => () => api.call('setLabels', { ids: part, classId })));
}

export function restoreLabels(groups: readonly LabelGroup[]): Promise<RequestOutput<'restoreLabels'>> {
  return labelParts(groupParts(groups).map((part) => () => api.call('restoreLabels', { groups: part })));
}

export function acceptSuggestions(input: RequestInput<'acceptSuggestions'>): Promise<RequestOutput<'acceptSuggestions'>> {
  const { imageIds } = input;
  if (!imageIds || imageIds.length <= MAX_IDS) return api.call('acceptSuggestions', input);
  return labelParts(parts(imageIds).map((part) => () => api.call('acceptSuggestions', { ...input, imageIds: part })));
}

/** A failing part stops the rest, and the error says how many images had moved; `previous` covers the parts done. */
export async function setSplit(ids: readonly number[], split: Split): Promise<RequestOutput<'setSplit'>> {
  let changed = 0;
  const previous: RequestOutput<'setSplit'>['previous'] = [];
  for (const part of parts(ids)) {
    try {
      const r = await api.call('setSplit', { ids: part, split });
      changed += r.changed;
      previous.push(...r.previous);
    } catch (err) {
      if (changed > 0 && err instanceof Error) err.message += ` (${changed} of ${ids.length} images had been moved before this)`;
      throw err;
    }
  }
  return { changed, previous };
}

/** Puts splits back (undo of a split move), in parts; `previous` joins what each part replaced. */
export async function restoreSplits(groups: readonly SplitGroup[]): Promise<RequestOutput<'restoreSplits'>> {
  let changed = 0;
  const previous: SplitGroup[] = [];
  for (const part of groupParts(groups, MAX_IDS, 3)) {
    const r = await api.call('restoreSplits', { groups: part });
    changed += r.changed;
    previous.push(...r.previous);
  }
  return { changed, previous };
}

/** Confirms ("this label is right") or unconfirms labels, in parts; answers with the ids that changed. */
export async function confirmLabels(ids: readonly number[], confirm: boolean): Promise<number[]> {
  const changed: number[] = [];
  for (const part of parts(ids)) {
    if (part.length === 0) continue;
    if (confirm) changed.push(...(await api.call('confirmLabels', { ids: part })).confirmed);
    else changed.push(...(await api.call('unconfirmLabels', { ids: part })).unconfirmed);
  }
  return changed;
}
