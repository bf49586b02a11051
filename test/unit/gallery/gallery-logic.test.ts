import { describe, expect, it } from 'vitest';
import type { ImageRow } from '../../../src/shared/domain';
import { EMPTY_HISTORY, afterRedo, afterUndo, forgetClasses, recordChange, takeRedo, takeUndo, type HistoryEntry, type LabelEntry } from '../../../src/renderer/components/label-history';
import { PageCache, pagesFor } from '../../../src/renderer/features/gallery/page-cache';
import { EMPTY_SELECTION, moveFocus, rangeBounds, selectAll, selectOne, selectRange, toggleOne } from '../../../src/renderer/features/gallery/selection';

describe('selection', () => {
  it('click, ctrl-click and shift ranges', () => {
    let s = selectOne(EMPTY_SELECTION, 3, 103);
    expect([...s.ids]).toEqual([103]);
    s = toggleOne(s, 5, 105);
    expect([...s.ids].sort()).toEqual([103, 105]);
    s = toggleOne(s, 3, 103);
    expect([...s.ids]).toEqual([105]);
    expect(s.anchor).toBe(3);
    expect(rangeBounds(s, 1)).toEqual([1, 3]);
    s = selectRange(s, 1, [101, 102, 103], false);
    expect([...s.ids]).toEqual([101, 102, 103]);
    expect(s.anchor).toBe(3);
    expect(s.focus).toBe(1);
    s = selectRange(s, 8, [107, 108], true);
    expect(s.ids.size).toBe(5);
    expect(selectAll(EMPTY_SELECTION, [1, 2, 3]).ids.size).toBe(3);
  });

  it('moves focus in a grid', () => {
    // 10 items, 4 columns: rows [0..3] [4..7] [8,9]
    expect(moveFocus(null, 'ArrowRight', 10, 4, 2)).toBe(0);
    expect(moveFocus(0, 'ArrowLeft', 10, 4, 2)).toBe(0);
    expect(moveFocus(3, 'ArrowRight', 10, 4, 2)).toBe(4);
    expect(moveFocus(1, 'ArrowDown', 10, 4, 2)).toBe(5);
    expect(moveFocus(6, 'ArrowDown', 10, 4, 2)).toBe(9); // short last row: the last item
    expect(moveFocus(9, 'ArrowDown', 10, 4, 2)).toBe(9);
    expect(moveFocus(5, 'ArrowUp', 10, 4, 2)).toBe(1);
    expect(moveFocus(1, 'ArrowUp', 10, 4, 2)).toBe(1);
    expect(moveFocus(6, 'Home', 10, 4, 2)).toBe(4);
    expect(moveFocus(5, 'End', 10, 4, 2)).toBe(7);
    expect(moveFocus(5, 'End', 10, 4, 2, true)).toBe(9);
    expect(moveFocus(1, 'PageDown', 10, 4, 2)).toBe(9);
    expect(moveFocus(9, 'PageUp', 10, 4, 1)).toBe(5);
    expect(moveFocus(0, 'ArrowDown', 0, 4, 2)).toBeNull();
  });
});

describe('label history', () => {
  const g = (classId: number | null, ...ids: number[]) => ({ classId, ids });
  it('undo and redo swap entries', () => {
    let h = recordChange(EMPTY_HISTORY, [g(null, 1, 2)]);
    h = recordChange(h, [g(1, 1), g(null, 2)]);
    expect(h.undo).toHaveLength(2);
    const u = takeUndo(h)!;
    expect(u.entry).toEqual([g(1, 1), g(null, 2)]);
    h = afterUndo(u.rest, [g(2, 1, 2)]); // what the undo replaced
    expect(h.undo).toHaveLength(1);
    expect(h.redo).toEqual([[g(2, 1, 2)]]);
    const r = takeRedo(h)!;
    expect(r.entry).toEqual([g(2, 1, 2)]);
    h = afterRedo(r.rest, [g(1, 1), g(null, 2)]);
    expect(h.undo).toHaveLength(2);
    expect(h.redo).toHaveLength(0);
    // A new change forgets the redo stack.
    h = afterUndo(takeUndo(h)!.rest, [g(2, 1, 2)]);
    expect(recordChange(h, [g(null, 9)]).redo).toHaveLength(0);
  });

  it('ignores empty changes, caps its length, forgets deleted classes', () => {
    expect(recordChange(EMPTY_HISTORY, [])).toBe(EMPTY_HISTORY);
    let h = EMPTY_HISTORY;
    for (let i = 0; i < 5; i++) h = recordChange(h, [g(null, i + 1)], 3);
    expect(h.undo.map((e) => (e as LabelEntry)[0]!.ids[0])).toEqual([3, 4, 5]);
    expect(takeUndo(EMPTY_HISTORY)).toBeNull();
    const f = forgetClasses({ undo: [[g(7, 1), g(8, 2)]], redo: [] }, new Set([8]));
    expect(f.undo[0]).toEqual([g(null, 1), g(8, 2)]);
  });

  it('holds the audit\'s other changes beside labels, dropping the empty ones', () => {
    const confirm: HistoryEntry = { kind: 'unconfirm', ids: [4] };
    const split: HistoryEntry = { kind: 'splits', groups: [{ split: 'test', ids: [5, 6] }] };
    const removal: HistoryEntry = { kind: 'undo-removal', removalId: 3, clusterId: 2, keepImageId: 5 };
    let h = recordChange(EMPTY_HISTORY, [g(1, 1)]);
    for (const e of [confirm, split, removal]) h = recordChange(h, e);
    expect(h.undo).toEqual([[g(1, 1)], confirm, split, removal]);
    expect(recordChange(h, { kind: 'confirm', ids: [] })).toBe(h);
    expect(recordChange(h, { kind: 'splits', groups: [{ split: 'val', ids: [] }] })).toBe(h);
    // Forgetting a deleted class leaves the other kinds alone.
    expect(forgetClasses(h, new Set()).undo).toEqual([[g(null, 1)], confirm, split, removal]);
  });
});

describe('page cache', () => {
  const TOTAL = 1050;
  const row = (i: number, tag = ''): ImageRow => ({ id: i + 1, fileName: `${tag}${i}.png`, classId: null, split: 'train', width: 1, height: 1 });
  function fake(tag = { v: '' }) {
    const calls: number[] = [];
    const fetch = async (offset: number, limit: number) => {
      calls.push(offset);
      const rows: ImageRow[] = [];
      for (let i = offset; i < Math.min(TOTAL, offset + limit); i++) rows.push(row(i, tag.v));
      return { rows, total: TOTAL };
    };
    return { calls, fetch };
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it('pages for a range', () => {
    expect(pagesFor(0, 0, 100)).toEqual([0]);
    expect(pagesFor(150, 420, 100)).toEqual([1, 2, 3, 4]);
    expect(pagesFor(5, 4, 100)).toEqual([]);
  });

  it('fetches only the pages in range, once, and refetches after invalidate', async () => {
    const tag = { v: '' };
    const f = fake(tag);
    const c = new PageCache(f.fetch, 100);
    let notified = 0;
    c.subscribe(() => notified++);
    c.ensure(250, 420);
    c.ensure(250, 420);
    await tick();
    expect(f.calls.sort((a, b) => a - b)).toEqual([200, 300, 400]);
    expect(c.total).toBe(TOTAL);
    expect(c.get(305)?.fileName).toBe('305.png');
    expect(c.get(900)).toBeUndefined();
    expect(notified).toBeGreaterThan(0);
    f.calls.length = 0;
    tag.v = 'x';
    c.invalidate();
    // Stale rows stay visible until the fresh page arrives.
    expect(c.get(305)?.fileName).toBe('305.png');
    await tick();
    expect(f.calls.sort((a, b) => a - b)).toEqual([200, 300, 400]);
    expect(c.get(305)?.fileName).toBe('x305.png');
    // Pages out of view were dropped, not kept stale.
    expect(c.get(5)).toBeUndefined();
  });

  it('learns a new total after invalidate even when it was 0', async () => {
    let total = 0;
    const c = new PageCache(async (offset, limit) => ({ rows: Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => row(offset + i)), total }), 100);
    c.ensure(0, 50);
    await tick();
    expect(c.total).toBe(0);
    total = 30;
    c.invalidate();
    await tick();
    expect(c.total).toBe(30);
    expect(c.get(29)?.id).toBe(30);
  });

  it('resolves ids of a range, loading missing pages', async () => {
    const f = fake();
    const c = new PageCache(f.fetch, 100);
    c.ensure(0, 10);
    await tick();
    const ids = await c.idsBetween(95, 1100);
    expect(ids[0]).toBe(96);
    expect(ids).toHaveLength(TOTAL - 95);
  });

  it('evicts far pages beyond its budget', async () => {
    const f = fake();
    const c = new PageCache(f.fetch, 10, 3);
    for (let p = 0; p < 8; p++) {
      c.ensure(p * 10, p * 10 + 5);
      await tick();
    }
    expect(c.get(75)).toBeDefined();
    expect(c.get(5)).toBeUndefined();
  });
});
