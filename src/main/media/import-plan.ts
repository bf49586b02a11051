/**
 * Planning an import: what a request means, before any file is read. The request (a folder tree
 * with a class per subfolder or split folders, a filename,label CSV with its images folder, loose
 * files, or an extracted zip of any of these) becomes an ImportPlan: the source's kind and root, and
 * the items to read, each with its label and split or a problem found before reading it (a bad CSV
 * row). Paths the request names are checked here, naming the field; import.ts runs the plan.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImportFailure, ImportRequest, SourceKind, Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { readCsv, type CsvRecord } from './csv';
import { EXTENSION_GUESSES, hasImageExtension } from './formats';
import { countFiles, isJunkName, walkFiles } from './walk';

/** One file to import, or a problem found before reading it (a bad CSV row). */
export type ImportItem =
  | { file: string; rel: string; row?: number; label: string | null; split: Split }
  | { fail: ImportFailure };

export interface ImportPlan {
  kind: SourceKind;
  root: string;
  /**
   * The folder every file must stay inside once its links are resolved: the root of a folder, CSV
   * or zip import; none for files the user named one by one.
   */
  confine?: string;
  description: string;
  /** Number of items `items()` will yield (for progress). */
  count(): Promise<number>;
  items(): AsyncGenerator<ImportItem>;
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

export function requireExisting(p: string, field: string, what: 'folder' | 'file' | 'any'): fs.Stats {
  const st = statOrNull(p);
  if (!st) throw new StudioError('bad_input', `${p} does not exist.`, field);
  if (what === 'folder' && !st.isDirectory()) throw new StudioError('bad_input', `${p} is not a folder.`, field);
  if (what === 'file' && !st.isFile()) throw new StudioError('bad_input', `${p} is not a file.`, field);
  try {
    fs.accessSync(p, fs.constants.R_OK);
  } catch {
    throw new StudioError('bad_input', `${p} cannot be read (permission denied).`, field);
  }
  return st;
}

const toPosix = (rel: string): string => rel.split(path.sep).join('/');

function commonParent(files: string[]): string {
  let parent = path.dirname(files[0]!);
  for (const f of files) {
    while (parent !== path.dirname(parent) && path.relative(parent, f).startsWith('..')) parent = path.dirname(parent);
  }
  return parent;
}

/**
 * A dataset laid out by split first (train/cat/x.jpg, val/cat/y.jpg, test/z.jpg): true when
 * every top-level subfolder is named like a split and there are no loose top-level images.
 */
function splitFolders(root: string): boolean {
  const entries = fs.readdirSync(root, { withFileTypes: true }).filter((e) => !isJunkName(e.name));
  const dirs = entries.filter((e) => e.isDirectory());
  return dirs.length > 0 && dirs.every((d) => SPLIT_NAMES[d.name.toLowerCase()] !== undefined) && !entries.some((e) => e.isFile() && hasImageExtension(e.name));
}

function folderPlan(root: string, split: Split, labelled: boolean, skipDir: string): ImportPlan {
  const skipDirs = (rel: string): boolean => path.join(root, rel) === skipDir;
  const bySplit = labelled && splitFolders(root);
  return {
    kind: labelled ? 'folder' : 'files',
    root,
    confine: root,
    description: bySplit ? `${root} (split folders)` : root,
    count: () => countFiles(root, { skipDirs }),
    async *items() {
      for await (const e of walkFiles(root, { skipDirs })) {
        const parts = e.rel.split('/');
        // train/cat/x.jpg: split from the first folder, class from the second; test is unlabelled.
        const itemSplit = bySplit ? (SPLIT_NAMES[parts[0]!.toLowerCase()] ?? split) : split;
        const classPart = bySplit ? (parts.length > 2 ? parts[1] : undefined) : parts.length > 1 ? parts[0] : undefined;
        const label = labelled && itemSplit !== 'test' ? classPart?.trim() || null : null;
        yield { file: e.file, rel: e.rel, label, split: itemSplit };
      }
    },
  };
}

function filesPlan(files: string[], split: Split): ImportPlan {
  const abs = files.map((f) => path.resolve(f));
  const root = commonParent(abs);
  return {
    kind: 'files',
    root,
    description: abs.length === 1 ? abs[0]! : `${abs.length} files`,
    count: async () => abs.length,
    async *items() {
      for (const f of abs) yield { file: f, rel: toPosix(path.relative(root, f)), label: null, split };
    },
  };
}

const FILE_COLUMNS = ['filename', 'file_name', 'file', 'filepath', 'file_path', 'image', 'image_name', 'image_path', 'img', 'path', 'id', 'image_id', 'name'];
const LABEL_COLUMNS = ['label', 'labels', 'class', 'class_name', 'classname', 'category', 'target', 'y', 'species', 'breed'];
const SPLIT_COLUMNS = ['split', 'set', 'subset', 'fold', 'partition'];

const SPLIT_NAMES: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  dev: 'val',
  test: 'test',
  testing: 'test',
};

interface CsvLayout {
  header: boolean;
  width: number;
  file: number;
  label: number | null;
  split: number | null;
}

export function csvLayout(first: string[]): CsvLayout {
  const cells = first.map((c) => c.trim().toLowerCase());
  const known = new Set([...FILE_COLUMNS, ...LABEL_COLUMNS, ...SPLIT_COLUMNS]);
  const header = cells.some((c) => known.has(c)) && !hasImageExtension(first[0]!.trim());
  if (!header) return { header, width: first.length, file: 0, label: first.length >= 2 ? 1 : null, split: first.length >= 3 ? 2 : null };
  const find = (names: string[]): number => {
    for (const n of names) {
      const i = cells.indexOf(n);
      if (i >= 0) return i;
    }
    return -1;
  };
  const file = Math.max(0, find(FILE_COLUMNS));
  let label: number | null = find(LABEL_COLUMNS);
  if (label < 0) label = first.length >= 2 ? (file === 0 ? 1 : 0) : null;
  const split = find(SPLIT_COLUMNS);
  return { header, width: first.length, file, label, split: split >= 0 && split !== label ? split : null };
}

/** Resolves a CSV file name inside the images folder, or says why it cannot be used. */
export function resolveCsvPath(imagesRoot: string, name: string): { file: string; rel: string } | { reason: string } {
  const cleaned = name.trim().replace(/\\/g, '/');
  if (cleaned === '') return { reason: 'empty file name' };
  const resolved = path.isAbsolute(cleaned) || /^[A-Za-z]:\//.test(cleaned) ? path.resolve(cleaned) : path.resolve(imagesRoot, cleaned);
  const rel = path.relative(imagesRoot, resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return { reason: 'path leaves the images folder' };
  if (!path.extname(cleaned)) {
    // Kaggle-style ids without an extension.
    if (!statOrNull(resolved)?.isFile()) {
      for (const ext of EXTENSION_GUESSES) if (statOrNull(resolved + ext)?.isFile()) return { file: resolved + ext, rel: toPosix(rel + ext) };
    }
  }
  return { file: resolved, rel: toPosix(rel) };
}

function csvPlan(csvFile: string, imagesRoot: string, split: Split, kind: SourceKind = 'csv', description = csvFile): ImportPlan {
  return {
    kind,
    root: imagesRoot,
    confine: imagesRoot,
    description,
    async count() {
      let n = 0;
      for await (const _ of readCsv(csvFile)) n++;
      return n;
    },
    async *items() {
      let layout: CsvLayout | undefined;
      let rec: CsvRecord;
      for await (rec of readCsv(csvFile)) {
        if (!layout) {
          layout = csvLayout(rec.fields);
          if (layout.header) continue;
        }
        const f = rec.fields;
        const name = f[layout.file] ?? '';
        const extras = f.slice(layout.width);
        if (f.length < layout.width) {
          yield { fail: { file: name, row: rec.row, reason: `row has ${f.length} column${f.length === 1 ? '' : 's'}, expected ${layout.width}` } };
          continue;
        }
        if (extras.some((x) => x.trim() !== '')) {
          yield { fail: { file: name, row: rec.row, reason: `row has ${f.length} columns, expected ${layout.width} (unknown extra column)` } };
          continue;
        }
        const where = resolveCsvPath(imagesRoot, name);
        if ('reason' in where) {
          yield { fail: { file: name, row: rec.row, reason: where.reason } };
          continue;
        }
        let rowSplit = split;
        if (layout.split !== null) {
          const raw = (f[layout.split] ?? '').trim().toLowerCase();
          if (raw !== '') {
            const s = SPLIT_NAMES[raw];
            if (!s) {
              yield { fail: { file: name, row: rec.row, reason: `unknown split "${raw}" (train, val or test)` } };
              continue;
            }
            rowSplit = s;
          }
        }
        const label = layout.label === null || rowSplit === 'test' ? null : (f[layout.label] ?? '').trim() || null;
        if (label !== null && label.length > 100) {
          yield { fail: { file: name, row: rec.row, reason: 'label longer than 100 characters' } };
          continue;
        }
        yield { file: where.file, rel: where.rel, row: rec.row, label, split: rowSplit };
      }
    },
  };
}

/** The folder a zip's content starts in: through single-folder wrappers (zip of a folder). */
function contentRoot(dir: string): string {
  let cur = dir;
  for (;;) {
    const entries = fs.readdirSync(cur, { withFileTypes: true }).filter((e) => !isJunkName(e.name));
    if (entries.length === 1 && entries[0]!.isDirectory()) cur = path.join(cur, entries[0]!.name);
    else return cur;
  }
}

/** A zip import: extracted into the project first (import.ts), then planned like its content. */
export function isZipImport(req: ImportRequest): boolean {
  return !Array.isArray(req.source) && (req.kind === 'zip' || (req.kind === 'auto' && req.csv === undefined && /\.zip$/i.test(req.source)));
}

/**
 * The plan of a request. `projectDir` is never walked (a folder import of the project's parent);
 * a zip's plan reads its extraction in `extractedRoot`.
 */
export function planImport(req: ImportRequest, projectDir: string, extractedRoot?: string): ImportPlan {
  if (Array.isArray(req.source)) {
    // Each listed file is checked when it is read: one missing file is a line in the report.
    return filesPlan(req.source, req.split);
  }
  const source = path.resolve(req.source);
  const st = requireExisting(source, 'source', 'any');
  let kind = req.kind;
  if (kind === 'auto') {
    if (req.csv !== undefined) kind = 'csv';
    else if (st.isDirectory()) kind = 'folder';
    else if (/\.zip$/i.test(source)) kind = 'zip';
    else if (/\.(csv|tsv)$/i.test(source)) kind = 'csv';
    else kind = 'files';
  }
  switch (kind) {
    case 'folder':
    case 'files':
      if (st.isDirectory()) return folderPlan(source, req.split, kind === 'folder', projectDir);
      return filesPlan([source], req.split);
    case 'csv': {
      const csv = req.csv !== undefined ? path.resolve(req.csv) : st.isFile() ? source : undefined;
      if (!csv) throw new StudioError('bad_input', 'A CSV import needs the CSV file (csv) as well as the images folder.', 'csv');
      requireExisting(csv, 'csv', 'file');
      const images = req.images !== undefined ? path.resolve(req.images) : st.isDirectory() ? source : path.dirname(csv);
      requireExisting(images, 'images', 'folder');
      return csvPlan(csv, images, req.split);
    }
    case 'zip': {
      if (!extractedRoot) throw new StudioError('internal', 'zip plan without extraction');
      const root = contentRoot(extractedRoot);
      if (req.csv !== undefined) {
        const csv = path.resolve(root, req.csv);
        if (path.relative(root, csv).startsWith('..')) throw new StudioError('bad_input', 'The CSV must be inside the zip.', 'csv');
        requireExisting(csv, 'csv', 'file');
        const images = req.images !== undefined ? path.resolve(root, req.images) : path.dirname(csv);
        requireExisting(images, 'images', 'folder');
        return csvPlan(csv, images, req.split, 'zip', `${source} (${path.relative(root, csv)})`);
      }
      const csvs = fs.readdirSync(root).filter((n) => /\.csv$/i.test(n) && !isJunkName(n));
      if (csvs.length === 1) return csvPlan(path.join(root, csvs[0]!), root, req.split, 'zip', `${source} (${csvs[0]})`);
      const p = folderPlan(root, req.split, true, projectDir);
      return { ...p, kind: 'zip', description: source };
    }
  }
}

