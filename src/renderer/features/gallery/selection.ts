/**
 * Gallery selection as pure functions: a set of image ids, the anchor of Shift ranges and the
 * focused position (an index in the current filter + sort). Ids, not indices, are selected, so a
 * selection survives rows moving (a relabel that drops images out of a class filter).
 */

export interface Selection {
  readonly ids: ReadonlySet<number>;
  /** Index where the last plain or Ctrl click happened: one end of a Shift range. */
  readonly anchor: number | null;
  /** Index of the focused tile (roving tabindex), or null before any interaction. */
  readonly focus: number | null;
}

export const EMPTY_SELECTION: Selection = { ids: new Set(), anchor: null, focus: null };

/** A plain click: only this image. */
export function selectOne(_s: Selection, index: number, id: number): Selection {
  return { ids: new Set([id]), anchor: index, focus: index };
}

/** Ctrl/Cmd-click: toggles one image, keeps the rest. */
export function toggleOne(s: Selection, index: number, id: number): Selection {
  const ids = new Set(s.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { ids, anchor: index, focus: index };
}

/**
 * Shift-click or Shift+arrow: the images between the anchor and `index` (`rangeIds`, resolved by
 * the caller in display order). `additive` (Ctrl+Shift) keeps what was selected before.
 */
export function selectRange(s: Selection, index: number, rangeIds: readonly number[], additive: boolean): Selection {
  const ids = additive ? new Set(s.ids) : new Set<number>();
  for (const id of rangeIds) ids.add(id);
  return { ids, anchor: s.anchor ?? index, focus: index };
}

/** The inclusive index range a Shift action covers. */
export function rangeBounds(s: Selection, index: number): [number, number] {
  const a = s.anchor ?? index;
  return a <= index ? [a, index] : [index, a];
}

export function selectAll(s: Selection, ids: readonly number[]): Selection {
  return { ids: new Set(ids), anchor: s.anchor ?? (ids.length ? 0 : null), focus: s.focus ?? (ids.length ? 0 : null) };
}

export function clearSelection(s: Selection): Selection {
  return { ids: new Set(), anchor: s.anchor, focus: s.focus };
}

/** Moves focus without changing the selection (e.g. Ctrl+arrow). */
export function focusOnly(s: Selection, index: number): Selection {
  return { ...s, focus: index };
}

export type NavKey = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End' | 'PageUp' | 'PageDown';
export const NAV_KEYS: ReadonlySet<string> = new Set<NavKey>(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

/** Where a navigation key moves the focus in a grid of `total` items laid out `columns` wide. */
export function moveFocus(from: number | null, key: NavKey, total: number, columns: number, pageRows: number, ctrl = false): number | null {
  if (total <= 0) return null;
  const cols = Math.max(1, columns);
  const i = from === null ? -1 : Math.min(from, total - 1);
  if (i < 0) return key === 'End' ? total - 1 : 0;
  const clamp = (n: number): number => Math.max(0, Math.min(total - 1, n));
  switch (key) {
    case 'ArrowLeft':
      return clamp(i - 1);
    case 'ArrowRight':
      return clamp(i + 1);
    case 'ArrowUp':
      return i - cols >= 0 ? i - cols : i;
    case 'ArrowDown':
      return i + cols < total ? i + cols : clamp(Math.floor(i / cols) === Math.floor((total - 1) / cols) ? i : total - 1);
    case 'Home':
      return ctrl ? 0 : i - (i % cols);
    case 'End':
      return ctrl ? total - 1 : clamp(i - (i % cols) + cols - 1);
    case 'PageUp':
      return clamp(i - cols * Math.max(1, pageRows));
    case 'PageDown':
      return clamp(i + cols * Math.max(1, pageRows));
  }
}
