/**
 * Undo and redo of labelling. setLabels answers with the labels the images had (groups of ids per
 * class); restoreLabels puts groups back and answers with the labels it replaced. So one kind of
 * entry serves both ways: undo restores an entry and pushes what it replaced onto redo, and back.
 */
import type { LabelGroup } from '../../shared/domain';

export type LabelEntry = readonly LabelGroup[];

export interface History {
  readonly undo: readonly LabelEntry[];
  readonly redo: readonly LabelEntry[];
}

export const EMPTY_HISTORY: History = { undo: [], redo: [] };
export const HISTORY_LIMIT = 100;

function nonEmpty(e: LabelEntry): boolean {
  return e.some((g) => g.ids.length > 0);
}

/** A new labelling happened: remember how to undo it, and forget what could be redone. */
export function recordChange(h: History, previous: LabelEntry, limit = HISTORY_LIMIT): History {
  if (!nonEmpty(previous)) return h;
  const undo = [...h.undo, previous];
  return { undo: undo.length > limit ? undo.slice(undo.length - limit) : undo, redo: [] };
}

/** The entry to restore for undo, and the history while it is applied. */
export function takeUndo(h: History): { entry: LabelEntry; rest: History } | null {
  const entry = h.undo[h.undo.length - 1];
  return entry ? { entry, rest: { undo: h.undo.slice(0, -1), redo: h.redo } } : null;
}

export function takeRedo(h: History): { entry: LabelEntry; rest: History } | null {
  const entry = h.redo[h.redo.length - 1];
  return entry ? { entry, rest: { undo: h.undo, redo: h.redo.slice(0, -1) } } : null;
}

/** After an undo was applied: what it replaced becomes redoable. */
export function afterUndo(rest: History, replaced: LabelEntry): History {
  return nonEmpty(replaced) ? { undo: rest.undo, redo: [...rest.redo, replaced] } : rest;
}

/** After a redo was applied: what it replaced becomes undoable again (redo stack kept). */
export function afterRedo(rest: History, replaced: LabelEntry, limit = HISTORY_LIMIT): History {
  if (!nonEmpty(replaced)) return rest;
  const undo = [...rest.undo, replaced];
  return { undo: undo.length > limit ? undo.slice(undo.length - limit) : undo, redo: rest.redo };
}

/** Drops ids of a class that no longer exists (deleted or merged): restoring it would fail. */
export function forgetClasses(h: History, alive: ReadonlySet<number>): History {
  const fix = (list: readonly LabelEntry[]): LabelEntry[] =>
    list.map((e) => e.map((g) => (g.classId === null || alive.has(g.classId) ? g : { classId: null, ids: g.ids })));
  return { undo: fix(h.undo), redo: fix(h.redo) };
}
