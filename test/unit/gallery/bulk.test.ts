// @vitest-environment jsdom
/**
 * Bulk requests in parts (renderer/api/bulk.ts): every request the renderer sends holds at most
 * MAX_IDS ids (so it fits the transport's frame), the parts' results add up to one change, and a
 * label change whose later part fails is put back whole.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_IDS, MAX_LABEL_GROUPS, type RequestResult } from '../../../src/shared/api';
import type { LabelGroup } from '../../../src/shared/domain';

/** A stand-in host over the preload bridge: labels in a map, each request held to the contract's id limits. */
const labels = new Map<number, number | null>();
const sent: { name: string; input: unknown }[] = [];
let failOnCall = -1;

function relabel(ids: number[], classId: number | null): LabelGroup[] {
  const before = new Map<number | null, number[]>();
  for (const id of ids) {
    const old = labels.get(id) ?? null;
    const group = before.get(old) ?? [];
    group.push(id);
    before.set(old, group);
    labels.set(id, classId);
  }
  return [...before].map(([c, group]) => ({ classId: c, ids: group }));
}

async function request(name: string, input: unknown): Promise<RequestResult> {
  sent.push({ name, input });
  // The contract's limits (the schemas themselves are exercised against the real host in integration).
  const i = input as { ids?: number[]; classId?: number | null; groups?: LabelGroup[]; imageIds?: number[] };
  const idCount = (i.ids ?? i.imageIds ?? i.groups?.flatMap((g) => g.ids) ?? []).length;
  if (idCount > MAX_IDS || (i.groups?.length ?? 0) > MAX_LABEL_GROUPS) return { ok: false, error: { code: 'bad_request', message: 'too many ids' } };
  if (sent.length - 1 === failOnCall) return { ok: false, error: { code: 'internal', message: 'disk full' } };
  if (name === 'setLabels') return { ok: true, output: { previous: relabel(i.ids!, i.classId!), changed: i.ids!.length } };
  if (name === 'restoreLabels') return { ok: true, output: { previous: i.groups!.flatMap((g) => relabel(g.ids, g.classId)), changed: 0 } };
  if (name === 'acceptSuggestions') return { ok: true, output: { previous: relabel(i.imageIds!, 7), changed: i.imageIds!.length, skipped: 1 } };
  // Every image starts in train: what restoreSplits needs to undo the move.
  if (name === 'setSplit') return { ok: true, output: { changed: i.ids!.length, previous: [{ split: 'train', ids: i.ids! }] } };
  return { ok: false, error: { code: 'unknown_request', message: name } };
}

let bulk: typeof import('../../../src/renderer/api/bulk');
beforeAll(async () => {
  window.studio = { request, on: () => () => undefined };
  bulk = await import('../../../src/renderer/api/bulk');
});

const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);
const reset = (): void => {
  labels.clear();
  sent.length = 0;
  failOnCall = -1;
};

// Hundreds of thousands of ids: seconds on a loaded machine.
describe('bulk requests in parts', { timeout: 60_000 }, () => {
  it('labels 250,001 images in parts of at most MAX_IDS and merges the undo groups', async () => {
    reset();
    const ids = range(2 * MAX_IDS + 50_001);
    const r = await bulk.setLabels(ids, 3);
    expect(sent.map((s) => (s.input as { ids: number[] }).ids.length)).toEqual([MAX_IDS, MAX_IDS, 50_001]);
    expect(r.changed).toBe(ids.length);
    expect(r.previous.flatMap((g) => g.ids)).toHaveLength(ids.length);
    expect(ids.every((id) => labels.get(id) === 3)).toBe(true);
  });

  it('a part that fails puts back the parts before it, so the change is whole or nothing', async () => {
    reset();
    const ids = range(3 * MAX_IDS);
    for (const id of ids) labels.set(id, id % 2 === 0 ? 1 : null);
    const before = new Map(labels);
    failOnCall = 2;
    await expect(bulk.setLabels(ids, 9)).rejects.toThrow(/disk full/);
    expect(sent.slice(3).every((s) => s.name === 'restoreLabels')).toBe(true);
    expect([...labels].every(([id, c]) => before.get(id) === c)).toBe(true);
  });

  it('undo groups are cut by ids and by group count; accepted suggestions and splits add up', async () => {
    reset();
    const groups: LabelGroup[] = [
      { classId: 1, ids: range(MAX_IDS + 10) },
      { classId: null, ids: [] },
      ...range(MAX_LABEL_GROUPS + 5).map((c) => ({ classId: c, ids: [MAX_IDS + 100 + c] })),
    ];
    await bulk.restoreLabels(groups);
    for (const s of sent) {
      const g = (s.input as { groups: LabelGroup[] }).groups;
      expect(g.length).toBeLessThanOrEqual(MAX_LABEL_GROUPS);
      expect(g.reduce((n, x) => n + x.ids.length, 0)).toBeLessThanOrEqual(MAX_IDS);
    }
    expect(sent.flatMap((s) => (s.input as { groups: LabelGroup[] }).groups.flatMap((g) => g.ids)).sort((a, b) => a - b)).toEqual(groups.flatMap((g) => g.ids).sort((a, b) => a - b));

    reset();
    const accepted = await bulk.acceptSuggestions({ runId: 1, imageIds: range(MAX_IDS + 1) });
    expect(sent).toHaveLength(2);
    expect(accepted).toMatchObject({ changed: MAX_IDS + 1, skipped: 2 });

    reset();
    const moved = await bulk.setSplit(range(MAX_IDS * 2), 'val');
    expect(moved.changed).toBe(MAX_IDS * 2);
    expect(moved.previous.flatMap((g) => g.ids)).toEqual(range(MAX_IDS * 2));
    expect(new Set(moved.previous.map((g) => g.split))).toEqual(new Set(['train']));
    reset();
    failOnCall = 1;
    await expect(bulk.setSplit(range(MAX_IDS * 2), 'val')).rejects.toThrow(/100000 of 200000 images had been moved/);
  });
});
