/**
 * Labelling actions shared by the gallery (keys 1–9, 0) and the classes panel (drop onto a
 * class): each change goes through setLabels and is recorded for undo/redo in one history
 * for the open project. The Audit screen's other changes to images (confirming a label, moving a
 * cluster's split, keeping one of a cluster) go into the same history, so Ctrl+Z undoes the last
 * change wherever it was made.
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { StudioError } from '../../shared/errors';
import { api } from '../api/client';
import * as bulk from '../api/bulk';
import { EMPTY_HISTORY, type History, type HistoryEntry, afterRedo, afterUndo, isLabelEntry, recordChange, takeRedo, takeUndo } from './label-history';

let history: History = EMPTY_HISTORY;
let busy: Promise<unknown> = Promise.resolve();
const listeners = new Set<() => void>();

function set(h: History): void {
  history = h;
  listeners.forEach((l) => l());
}

/** Runs label changes one after another, so undo never overtakes the change it undoes. */
function queue<T>(fn: () => Promise<T>): Promise<T> {
  const next = busy.then(fn, fn);
  busy = next.catch(() => undefined);
  return next;
}

export function applyLabels(ids: readonly number[], classId: number | null): Promise<number> {
  if (ids.length === 0) return Promise.resolve(0);
  return queue(async () => {
    const r = await bulk.setLabels(ids, classId);
    set(recordChange(history, r.previous));
    return ids.length;
  });
}

/** Applies a history entry; answers with the entry that puts back what it changed. */
async function applyEntry(e: HistoryEntry): Promise<HistoryEntry> {
  if (isLabelEntry(e)) return (await bulk.restoreLabels(e)).previous;
  switch (e.kind) {
    case 'confirm':
      return { kind: 'unconfirm', ids: await bulk.confirmLabels(e.ids, true) };
    case 'unconfirm':
      return { kind: 'confirm', ids: await bulk.confirmLabels(e.ids, false) };
    case 'splits':
      return { kind: 'splits', groups: (await bulk.restoreSplits(e.groups)).previous };
    case 'undo-removal':
      await api.call('undoRemoval', { removalId: e.removalId });
      return { kind: 'keep-one', clusterId: e.clusterId, keepImageId: e.keepImageId };
    case 'keep-one': {
      const r = await api.call('keepOne', { clusterId: e.clusterId, keepImageId: e.keepImageId });
      return { kind: 'undo-removal', removalId: r.removalId, clusterId: e.clusterId, keepImageId: e.keepImageId };
    }
  }
}

/** Records a change made elsewhere (its undo entry), in the order of the changes queued here. */
export function recordUndo(entry: HistoryEntry): void {
  set(recordChange(history, entry));
}

/** Runs a change in the history's queue and records its undo entry. */
export function applyChange<T>(change: () => Promise<{ result: T; undo: HistoryEntry }>): Promise<T> {
  return queue(async () => {
    const { result, undo } = await change();
    recordUndo(undo);
    return result;
  });
}

export function undoLabels(): Promise<boolean> {
  return queue(async () => {
    const t = takeUndo(history);
    if (!t) return false;
    set(t.rest);
    try {
      set(afterUndo(history, await applyEntry(t.entry)));
      return true;
    } catch (err) {
      set({ undo: [...history.undo, t.entry], redo: history.redo });
      throw err;
    }
  });
}

export function redoLabels(): Promise<boolean> {
  return queue(async () => {
    const t = takeRedo(history);
    if (!t) return false;
    set(t.rest);
    try {
      set(afterRedo(history, await applyEntry(t.entry)));
      return true;
    } catch (err) {
      set({ undo: history.undo, redo: [...history.redo, t.entry] });
      throw err;
    }
  });
}

let boundProject: string | null = null;

/** The history belongs to one project: another project starts with an empty one. */
export function bindLabelHistory(projectDir: string): void {
  if (boundProject === projectDir) return;
  boundProject = projectDir;
  history = EMPTY_HISTORY; // called while rendering: no notification, readers see it next

}

export function replaceLabelHistory(fn: (h: History) => History): void {
  set(fn(history));
}

const subscribe = (fn: () => void): (() => void) => {
  listeners.add(fn);
  return () => listeners.delete(fn);
};

export function useLabelHistory(): History {
  return useSyncExternalStore(subscribe, () => history);
}

/**
 * Ctrl/Cmd+Z undoes and Ctrl/Cmd+Shift+Z (or Ctrl+Y) redoes label changes wherever the focus
 * is, except in text fields (screens whose grids fix labels: Evaluate, Export). `onResult` gets
 * undefined on success and the error otherwise.
 */
export function useUndoRedoKeys(onResult: (error: StudioError | undefined) => void): void {
  const report = useRef(onResult);
  report.current = onResult;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (!(e.ctrlKey || e.metaKey)) return;
      const t = e.target as HTMLElement | null;
      if (t?.closest?.('input, textarea, select, [contenteditable="true"]')) return;
      const k = e.key.toLowerCase();
      const redo = (k === 'z' && e.shiftKey) || k === 'y';
      if (k !== 'z' && !redo) return;
      e.preventDefault();
      (redo ? redoLabels() : undoLabels()).then(
        () => report.current(undefined),
        (err: unknown) => report.current(StudioError.from(err)),
      );
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
