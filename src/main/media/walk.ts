/**
 * A streamed walk of a folder tree: yields files one at a time, holding only the stack of
 * folders still to visit and at most SORT_LIMIT names of the current folder (to walk it in
 * name order), never the list of all files. Symbolic links to files
 * are followed; links to folders are not (no cycles). Hidden files and OS clutter are skipped.
 * Special files (FIFOs, sockets, devices) are yielded too, for the import report to name them: they
 * are never opened as images (shared/node/user-file.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface WalkEntry {
  /** Absolute path. */
  file: string;
  /** Path relative to the walk root, with '/' separators. */
  rel: string;
}

const JUNK = new Set(['thumbs.db', 'desktop.ini', '__macosx', '$recycle.bin', 'system volume information']);

export function isJunkName(name: string): boolean {
  return name.startsWith('.') || JUNK.has(name.toLowerCase());
}

/** Folders with up to this many entries are walked in natural name order (img2 before img10). */
const SORT_LIMIT = 10_000;
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** A folder's entries: name-sorted when there are at most SORT_LIMIT, else in directory order. */
async function* entries(dir: fs.Dir): AsyncGenerator<fs.Dirent> {
  const buffered: fs.Dirent[] = [];
  for await (const d of dir) {
    if (buffered.length < SORT_LIMIT) {
      buffered.push(d);
      continue;
    }
    // A huge folder: give up on order rather than hold all its names.
    yield* buffered.splice(0);
    yield d;
  }
  buffered.sort((a, b) => collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  yield* buffered;
}

export async function* walkFiles(root: string, opts: { recursive?: boolean; skipDirs?: (rel: string) => boolean } = {}): AsyncGenerator<WalkEntry> {
  const recursive = opts.recursive ?? true;
  const stack: string[] = [''];
  while (stack.length > 0) {
    const relDir = stack.pop()!;
    const absDir = relDir === '' ? root : path.join(root, relDir);
    let dir: fs.Dir;
    try {
      dir = await fs.promises.opendir(absDir, { bufferSize: 64 });
    } catch {
      continue;
    }
    const subdirs: string[] = [];
    for await (const d of entries(dir)) {
      if (isJunkName(d.name)) continue;
      const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
      if (d.isDirectory()) {
        if (recursive && !opts.skipDirs?.(rel)) subdirs.push(rel);
      } else if (d.isSymbolicLink()) {
        try {
          if (!(await fs.promises.stat(path.join(absDir, d.name))).isDirectory()) yield { file: path.join(absDir, d.name), rel };
        } catch {
          // A dangling link: not an image to import.
        }
      } else {
        // Files, and special files (FIFOs, sockets, devices), which the reader refuses with the reason.
        yield { file: path.join(absDir, d.name), rel };
      }
    }
    // Files of a folder first, then its subfolders in name order (pushed reversed onto the stack).
    subdirs.sort((a, b) => collator.compare(b, a));
    stack.push(...subdirs);
  }
}

/** Counts what `walkFiles` would yield, without keeping any of it. */
export async function countFiles(root: string, opts: { recursive?: boolean; skipDirs?: (rel: string) => boolean } = {}): Promise<number> {
  let n = 0;
  for await (const _ of walkFiles(root, opts)) n++;
  return n;
}
