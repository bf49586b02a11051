/**
 * The gallery's keyboard: on the grid, arrows (with Shift to extend, Ctrl to move the focus only),
 * Ctrl+A, 1-9 to label with the n-th class, 0 / Backspace / Delete to unlabel, Space or Enter to
 * preview (Shift+Space toggles), Escape to clear; and undo / redo (Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y)
 * wherever the focus is, except in text fields and dialogs.
 */
import { useEffect, useRef, type Dispatch, type KeyboardEvent, type RefObject, type SetStateAction } from 'react';
import type { ClassInfo } from '../../../shared/domain';
import { classOfDigitKey, isUnlabelKey } from '../../components/label-keys';
import type { GridLayout } from './ImageGrid';
import type { PageCache } from './page-cache';
import { NAV_KEYS, type NavKey, type Selection, clearSelection, focusOnly, moveFocus, rangeBounds, selectOne, selectRange, toggleOne } from './selection';

/** Keys typed here belong to the field, menu or dialog, not to the gallery. */
export function isEditable(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || !el.closest) return false;
  return !!el.closest('input, textarea, select, [contenteditable="true"], [role="dialog"], [role="menu"], [role="slider"], [role="listbox"]');
}

export interface GridKeys {
  sel: Selection;
  setSel: Dispatch<SetStateAction<Selection>>;
  cache: PageCache;
  total: number;
  layout: RefObject<GridLayout>;
  /** The classes in the order the digit keys name them. */
  classList: readonly ClassInfo[];
  label(classId: number | null): void;
  selectAll(): void;
  say(text: string): void;
  togglePreview(): void;
  /** Moves the browser's focus to the focused tile. */
  requestFocus(): void;
}

/** The grid's keydown handler (a plain function: it reads the render's selection). */
export function gridKeyHandler(k: GridKeys): (e: KeyboardEvent) => void {
  const { sel, setSel, cache } = k;
  return (e) => {
    if (isEditable(e.target)) return;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key;
    if (NAV_KEYS.has(key)) {
      e.preventDefault();
      const { columns, visibleRows } = k.layout.current;
      const to = moveFocus(sel.focus, key as NavKey, k.total, columns, visibleRows, mod);
      if (to === null) return;
      if (e.shiftKey) {
        const [a, b] = rangeBounds(sel, to);
        void cache.idsBetween(a, b).then((ids) => setSel((s) => selectRange(s, to, ids, mod)));
        setSel((s) => focusOnly(s, to));
      } else if (mod) setSel((s) => focusOnly(s, to));
      else {
        const row = cache.get(to);
        setSel((s) => (row ? selectOne(s, to, row.id) : focusOnly(s, to)));
      }
      k.requestFocus();
      return;
    }
    if (mod && (key === 'a' || key === 'A')) {
      e.preventDefault();
      k.selectAll();
      return;
    }
    if (mod) return; // undo/redo: the window handler of useUndoKeys
    const named = classOfDigitKey(key, k.classList);
    if (named) {
      if ('cls' in named) k.label(named.cls.id);
      else k.say(named.missing);
      e.preventDefault();
      return;
    }
    if (isUnlabelKey(key)) {
      e.preventDefault();
      k.label(null);
      return;
    }
    if (key === ' ' || key === 'Enter') {
      e.preventDefault();
      if (e.shiftKey && sel.focus !== null) {
        const row = cache.get(sel.focus);
        if (row) setSel((s) => toggleOne(s, s.focus ?? 0, row.id));
      } else if (sel.focus !== null && cache.get(sel.focus)) k.togglePreview();
      return;
    }
    if (key === 'Escape') setSel((s) => clearSelection(s));
  };
}

/** Undo / redo on the whole window while the gallery is shown (the latest callbacks are used). */
export function useUndoKeys(undo: () => void, redo: () => void): void {
  const latest = useRef({ undo, redo });
  latest.current = { undo, redo };
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent): void => {
      if (!(e.ctrlKey || e.metaKey) || isEditable(e.target)) return;
      const k = e.key.toLowerCase();
      if (k === 'z' && !e.shiftKey) latest.current.undo();
      else if ((k === 'z' && e.shiftKey) || k === 'y') latest.current.redo();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
