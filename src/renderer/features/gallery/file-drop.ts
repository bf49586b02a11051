/**
 * Files and folders dropped onto the window start an import. Electron gives each dropped File's
 * path through the preload's pathForFile (File.path is gone since Electron 32); a browser gives
 * no paths, so browser mode opens the import dialog to type one instead. A drop on another screen
 * is kept for the gallery, which opens and handles it.
 */
import { useEffect, useRef, useState } from 'react';
import type { ImportRequestInput } from '../../../shared/domain';

export interface DroppedItem {
  path: string;
  isDirectory: boolean;
}

const SEPARATE = /\.(zip|csv)$/i;

/**
 * The imports a drop starts: each folder on its own (class subfolders become classes), each zip
 * or CSV on its own, one file as itself (auto-detected), and other files together as one
 * unlabelled import.
 */
export function dropImports(items: readonly DroppedItem[]): ImportRequestInput[] {
  const valid = items.filter((i) => i.path.trim() !== '');
  const singles = valid.filter((i) => i.isDirectory || SEPARATE.test(i.path)).map((i): ImportRequestInput => ({ source: i.path }));
  const loose = valid.filter((i) => !i.isDirectory && !SEPARATE.test(i.path)).map((i) => i.path);
  if (loose.length === 1) singles.push({ source: loose[0]! });
  else if (loose.length > 1) singles.push({ source: loose, kind: 'files' });
  return singles;
}

/** A drag that carries files from outside (not the gallery's own image drags). */
export function isFileDrag(e: { dataTransfer: DataTransfer | null }): boolean {
  return !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
}

/** What was dropped, with paths where the shell can tell them (Electron); null in a browser. */
export function droppedItems(dt: DataTransfer, pathForFile: ((file: File) => string) | undefined): DroppedItem[] | null {
  if (!pathForFile) return null;
  const out: DroppedItem[] = [];
  const items = [...dt.items].filter((i) => i.kind === 'file');
  items.forEach((item) => {
    const file = item.getAsFile();
    if (!file) return;
    const entry = item.webkitGetAsEntry?.();
    out.push({ path: pathForFile(file), isDirectory: entry?.isDirectory ?? false });
  });
  return out;
}

/**
 * Listens on the window while mounted and enabled: `dragging` is true while files are dragged
 * over it, and `onDrop` gets the dropped items (null in browser mode, where paths are not
 * available). Either way the drop never reaches the browser, which would open the file.
 */
export function useFileDrop(onDrop: (items: DroppedItem[] | null) => void, enabled = true): boolean {
  const [dragging, setDragging] = useState(false);
  const handler = useRef(onDrop);
  useEffect(() => {
    handler.current = onDrop;
  });
  useEffect(() => {
    if (!enabled) return;
    let depth = 0;
    const enter = (e: DragEvent): void => {
      if (!isFileDrag(e)) return;
      depth++;
      setDragging(true);
    };
    const over = (e: DragEvent): void => {
      if (!isFileDrag(e)) return;
      e.preventDefault(); // allows the drop (and stops the shell from opening the file)
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = (e: DragEvent): void => {
      if (!isFileDrag(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const drop = (e: DragEvent): void => {
      if (!isFileDrag(e) || !e.dataTransfer) return;
      e.preventDefault();
      depth = 0;
      setDragging(false);
      handler.current(droppedItems(e.dataTransfer, window.studio?.pathForFile));
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
      setDragging(false);
    };
  }, [enabled]);
  return dragging;
}

let pending: { items: DroppedItem[] | null } | null = null;

/** Screens other than the gallery: a drop is kept for the gallery, which `show` opens. */
export function useDropToGallery(enabled: boolean, show: () => void): void {
  useFileDrop((items) => {
    pending = { items };
    show();
  }, enabled);
}

/** The gallery: handles drops, including one made on another screen just before it opened. */
export function useGalleryFileDrop(onDrop: (items: DroppedItem[] | null) => void): boolean {
  const dragging = useFileDrop(onDrop);
  const handler = useRef(onDrop);
  useEffect(() => {
    handler.current = onDrop;
  });
  useEffect(() => {
    const p = pending;
    pending = null;
    if (p) handler.current(p.items);
  }, []);
  return dragging;
}
