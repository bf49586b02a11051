/**
 * The gallery's selection of image ids, shared with the screens that select images another way
 * (the Audit screen's embedding map and its lasso): what one selects, the other shows, so a
 * cluster lassoed on the map is the gallery's selection when the gallery opens. One selection per
 * open project.
 */
import { useSyncExternalStore } from 'react';

const EMPTY: ReadonlySet<number> = new Set();
let selected: ReadonlySet<number> = EMPTY;
let boundProject: string | null = null;
const listeners = new Set<() => void>();

export function selectedImages(): ReadonlySet<number> {
  return selected;
}

export function setSelectedImages(ids: ReadonlySet<number>): void {
  if (ids === selected) return;
  selected = ids.size === 0 ? EMPTY : ids;
  listeners.forEach((l) => l());
}

/** Another project starts with nothing selected (called while rendering: readers see it next). */
export function bindImageSelection(projectDir: string): void {
  if (boundProject === projectDir) return;
  boundProject = projectDir;
  selected = EMPTY;
}

const subscribe = (fn: () => void): (() => void) => {
  listeners.add(fn);
  return () => listeners.delete(fn);
};

export function useSelectedImages(): ReadonlySet<number> {
  return useSyncExternalStore(subscribe, selectedImages);
}
