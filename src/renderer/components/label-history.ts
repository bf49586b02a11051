/**
 * Undo and redo of labelling and the audit's other changes to images. Every entry is a change
 * that puts something back, and applying one answers with its own inverse: setLabels answers with
 * the labels the images had (groups of ids per class), restoreLabels puts groups back and answers
 * with the labels it replaced; likewise confirm / unconfirm, a split move / restoreSplits, and a
 * removal's undo / keeping one again. So undo applies an entry and pushes its inverse onto redo,
 * and back.
 */
import type { LabelGroup, SplitGroup } from '../../shared/domain';

export type LabelEntry = readonly LabelGroup[];

/** Changes other than labels, each what puts something back (see labels.ts applyEntry). */
export type ChangeEntry =
  | { readonly kind: 'confirm' | 'unconfirm'; readonly ids: readonly number[] }
  | { readonly kind: 'splits'; readonly groups: readonly SplitGroup[] }
  /** Puts back the images a near-duplicate cluster's "keep one" removed. */
  | { readonly kind: 'undo-removal'; readonly removalId: number; readonly clusterId: number; readonly keepImageId: number }
  /** Removes them again (redo of that undo). */
  | { readonly kind: 'keep-one'; readonly clusterId: number; readonly keepImageId: number };

export type HistoryEntry = LabelEntry | ChangeEntry;

export interface History {
  readonly undo: readonly HistoryEntry[];
  readonly redo: readonly HistoryEntry[];
}

export const EMPTY_HISTORY: History = { undo: [], redo: [] };
export const HISTORY_LIMIT = 100;

export const isLabelEntry = (e: HistoryEntry): e is LabelEntry => Array.isArray(e);

function nonEmpty(e: HistoryEntry): boolean {
  if (isLabelEntry(e)) return e.some((g) => g.ids.length > 0);
  if (e.kind === 'splits') return e.groups.some((g) => g.ids.length > 0);
  return e.kind === 'confirm' || e.kind === 'unconfirm' ? e.ids.length > 0 : true;
}

/** A new labelling happened: remember how to undo it, and forget what could be redone. */
export function recordChange(h: History, previous: HistoryEntry, limit = HISTORY_LIMIT): History {
  if (!nonEmpty(previous)) return h;
  const undo = [...h.undo, previous];
  return { undo: undo.length > limit ? undo.slice(undo.length - limit) : undo, redo: [] };
}

/** The entry to restore for undo, and the history while it is applied. */
export function takeUndo(h: History): { entry: HistoryEntry; rest: History } | null {
  const entry = h.undo[h.undo.length - 1];
  return entry ? { entry, rest: { undo: h.undo.slice(0, -1), redo: h.redo } } : null;
}

export function takeRedo(h: History): { entry: HistoryEntry; rest: History } | null {
  const entry = h.redo[h.redo.length - 1];
  return entry ? { entry, rest: { undo: h.undo, redo: h.redo.slice(0, -1) } } : null;
}

/** After an undo was applied: what it replaced becomes redoable. */
export function afterUndo(rest: History, replaced: HistoryEntry): History {
  return nonEmpty(replaced) ? { undo: rest.undo, redo: [...rest.redo, replaced] } : rest;
}

/** After a redo was applied: what it replaced becomes undoable again (redo stack kept). */
export function afterRedo(rest: History, replaced: HistoryEntry, limit = HISTORY_LIMIT): History {
  if (!nonEmpty(replaced)) return rest;
  const undo = [...rest.undo, replaced];
  return { undo: undo.length > limit ? undo.slice(undo.length - limit) : undo, redo: rest.redo };
}

/** Drops ids of a class that no longer exists (deleted or merged): restoring it would fail. */
export function forgetClasses(h: History, alive: ReadonlySet<number>): History {
  const fix = (list: readonly HistoryEntry[]): HistoryEntry[] =>
    list.map((e) => (isLabelEntry(e) ? e.map((g) => (g.classId === null || alive.has(g.classId) ? g : { classId: null, ids: g.ids })) : e));
  return { undo: fix(h.undo), redo: fix(h.redo) };
}
