/**
 * The import job: a folder tree (class per subfolder), a filename,label CSV with its images
 * folder, loose files, a test set, or a .zip of any of these. Files stream through a bounded
 * pool of sharp operations; results are committed in order, in batches of `batchSize` rows per
 * transaction, so a cancel or a crash keeps every committed batch and the store is always
 * consistent. Nothing grows with the number of files except counters: failures and duplicates
 * listed in the report are capped (their counts are exact). One bad file never stops the rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImportDuplicate, ImportFailure, ImportReport, ImportRequest, SourceKind, Split } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { formulaWarning } from '../../shared/names';
import { isDiskFull } from '../../shared/node/disk-full';
import type { JobContext } from '../jobs/job-manager';
import { imageByHash } from '../store/image-files';
import { addImages } from '../store/images';
import type { ProjectStore } from '../store/project-store';
import { addSource, dropSourceIfEmpty, findSource } from '../store/sources';
import { readCsv, type CsvRecord } from './csv';
import { EXTENSION_GUESSES, hasImageExtension } from './formats';
import { DEFAULT_MAX_PIXELS, inspectImage, type ImageFacts, type InspectResult } from './inspect';
import { THUMBS_FOLDER } from './thumbs';
import { countFiles, isJunkName, walkFiles } from './walk';
import { extractZip, type ZipLimits } from './zip';

export interface ImportOptions {
  /** sharp operations in flight at once (sharp/libvips has its own thread pool). */
  concurrency?: number;
  /** Rows per SQLite transaction. */
  batchSize?: number;
  maxPixels?: number;
  zipLimits?: Partial<ZipLimits>;
  /** How many failures and duplicates the report lists (counts are always exact). */
  reportLimit?: number;
  /** Called after each committed batch (the host tells the gallery that images changed). */
  onCommit?: (added: number) => void;
}

export const DEFAULT_CONCURRENCY = 3;
export const DEFAULT_BATCH = 200;
const COMMIT_INTERVAL_MS = 1000;

/** One file to import, or a problem found before reading it (a bad CSV row). */
type Item =
  | { file: string; rel: string; row?: number; label: string | null; split: Split }
  | { fail: ImportFailure };

interface Plan {
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
  items(): AsyncGenerator<Item>;
}

// ---- planning: what the request means ---------------------------------------------------------

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

function requireExisting(p: string, field: string, what: 'folder' | 'file' | 'any'): fs.Stats {
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

function folderPlan(root: string, split: Split, labelled: boolean, skipDir: string): Plan {
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

function filesPlan(files: string[], split: Split): Plan {
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

function csvPlan(csvFile: string, imagesRoot: string, split: Split, kind: SourceKind = 'csv', description = csvFile): Plan {
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

function nextImportFolder(store: ProjectStore): string {
  const base = store.folder('imported');
  const used = fs.readdirSync(base).map(Number).filter((n) => Number.isInteger(n));
  const n = used.length ? Math.max(...used) + 1 : 1;
  return path.join(base, String(n));
}

function planFor(store: ProjectStore, req: ImportRequest, extractedRoot?: string): Plan {
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
      if (st.isDirectory()) return folderPlan(source, req.split, kind === 'folder', store.dir);
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
      const p = folderPlan(root, req.split, true, store.dir);
      return { ...p, kind: 'zip', description: source };
    }
  }
}

// ---- running -----------------------------------------------------------------------------------

/** A tiny counting semaphore. */
/** Runs at most `n` of the given async functions at once. */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

interface Done {
  item: Item;
  result?: InspectResult;
  /** A failure that ends the import (a full disk), not just this file. */
  fatal?: unknown;
}

interface PendingRow {
  item: Extract<Item, { file: string }>;
  facts: ImageFacts;
}

export async function runImport(store: ProjectStore, request: ImportRequest, ctx: JobContext, opts: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  const db = store.db;
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const reportLimit = opts.reportLimit ?? 1000;

  const failures: ImportFailure[] = [];
  const duplicates: ImportDuplicate[] = [];
  let failureCount = 0;
  let duplicateCount = 0;
  let added = 0;
  const classesCreated: string[] = [];
  const fail = (f: ImportFailure): void => {
    failureCount++;
    if (failures.length < reportLimit) failures.push(f);
  };

  // A zip is extracted into the project first; then its content is imported like any folder.
  let extracted: string | undefined;
  const isZip = !Array.isArray(request.source) && (request.kind === 'zip' || (request.kind === 'auto' && request.csv === undefined && /\.zip$/i.test(request.source)));
  if (isZip) {
    const zipFile = path.resolve(request.source as string);
    requireExisting(zipFile, 'source', 'file');
    extracted = nextImportFolder(store);
    try {
      const r = await extractZip(zipFile, extracted, {
        signal: ctx.signal,
        ...(opts.zipLimits ? { limits: opts.zipLimits } : {}),
        onProgress: (done, total) => ctx.progress(done, total, 'Extracting the zip'),
      });
      for (const s of r.skipped) fail({ file: s.file, reason: s.reason });
    } catch (err) {
      fs.rmSync(extracted, { recursive: true, force: true });
      const e = StudioError.from(err);
      if (e.code === 'cancelled')
        return { sourceId: null, root: '', added: 0, duplicateCount: 0, duplicates, failureCount, failures, classesCreated, cancelled: true, durationMs: Math.round(performance.now() - started) };
      throw e;
    }
  }

  let plan: Plan;
  try {
    plan = planFor(store, { ...request, ...(isZip ? { kind: 'zip' as const } : {}) }, extracted);
  } catch (err) {
    if (extracted) fs.rmSync(extracted, { recursive: true, force: true });
    throw err;
  }
  const total = await plan.count();
  ctx.progress(0, total, 'Importing');

  // Re-importing the same place (after a cancel, say) reuses its source row.
  const existingSource = findSource(db, plan.kind, plan.root);
  const sourceId = existingSource ?? addSource(db, plan.kind, plan.root, plan.description);

  const thumbsDir = store.folder(THUMBS_FOLDER);
  const byHash = imageByHash(db);
  const knownHash = (hash: string): boolean => byHash(hash) !== undefined;

  let batch: PendingRow[] = [];
  const batchHashes = new Set<string>();
  let lastCommit = Date.now();

  const duplicateOf = (file: string, hash: string): void => {
    duplicateCount++;
    if (duplicates.length >= reportLimit) return;
    const ex = byHash(hash);
    duplicates.push({ file, existing: ex?.path ?? '', existingId: ex?.id ?? 0 });
  };

  const commit = (): void => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    batchHashes.clear();
    lastCommit = Date.now();
    const r = addImages(db, sourceId, rows.map(({ item, facts }) => ({ ...facts, relPath: item.rel, split: item.split, label: item.label })));
    added += r.added;
    classesCreated.push(...r.classesCreated);
    for (const late of r.notAdded) duplicateOf(late.relPath, late.hash); // another import added the same content meanwhile
    opts.onCommit?.(added);
  };

  const handle = ({ item, result }: Done): void => {
    if ('fail' in item) return fail(item.fail);
    const failure = (reason: string): ImportFailure => (item.row === undefined ? { file: item.rel, reason } : { file: item.rel, row: item.row, reason });
    if (!result) return fail(failure('not processed'));
    if (result.ok === false) return fail(failure(result.reason));
    const hash = result.ok === 'known' ? result.hash : result.facts.hash;
    if (batchHashes.has(hash)) commit(); // the twin is in this batch: commit it so the report can name it
    if (result.ok === 'known' || knownHash(hash)) return duplicateOf(item.rel, hash);
    batch.push({ item, facts: result.facts });
    batchHashes.add(hash);
    if (batch.length >= batchSize || Date.now() - lastCommit > COMMIT_INTERVAL_MS) commit();
  };

  const limit = limiter(concurrency);
  const window = concurrency * 4;
  const pending: Promise<Done>[] = [];
  let processed = 0;
  const progressMessage = (): string =>
    `${added + batch.length} added${duplicateCount ? `, ${duplicateCount} duplicate${duplicateCount === 1 ? '' : 's'}` : ''}${failureCount ? `, ${failureCount} failed` : ''}`;
  const take = async (): Promise<void> => {
    const done = await pending.shift()!;
    if (done.fatal !== undefined) throw done.fatal;
    handle(done);
    processed++;
    ctx.progress(processed, total, progressMessage());
  };

  let cancelled = false;
  try {
    for await (const item of plan.items()) {
      if (ctx.signal.aborted) {
        cancelled = true;
        break;
      }
      pending.push(
        'fail' in item
          ? Promise.resolve({ item })
          : limit(async () => ({ item, result: await inspectImage(item.file, { thumbsDir, maxPixels, isKnown: knownHash, ...(plan.confine !== undefined ? { root: plan.confine } : {}) }) })).catch(
              (err: unknown): Done =>
                // A full disk fails the import when its turn comes (kept, not thrown: nothing awaits this promise yet).
                isDiskFull(err) ? { item, fatal: err } : { item, result: { ok: false, reason: `unexpected error (${err instanceof Error ? err.message : String(err)})` } },
            ),
      );
      if (pending.length >= window) await take();
    }
    // What is already being read finishes and is kept, even after a cancel.
    while (pending.length > 0) await take();
    commit();
  } finally {
    // On an unexpected error: let in-flight reads settle, commit the rows already accepted (whole
    // rows only, in one transaction), and drop the source row if nothing was added.
    await Promise.allSettled(pending);
    if (db.open) {
      try {
        commit();
      } catch {
        // The error that got us here is the one to report.
      }
      if (added === 0) dropSourceIfEmpty(db, sourceId);
    }
  }
  cancelled ||= ctx.signal.aborted;
  const keptSource = added > 0 || existingSource !== undefined;
  // Nothing references an extraction that added nothing: don't leave it in the project.
  if (!keptSource && extracted) fs.rmSync(extracted, { recursive: true, force: true });
  ctx.progress(processed, total, progressMessage());
  const warning = formulaWarning(classesCreated);
  return {
    sourceId: keptSource ? sourceId : null,
    root: plan.root,
    added,
    duplicateCount,
    duplicates,
    failureCount,
    failures,
    classesCreated,
    ...(warning ? { warnings: [warning] } : {}),
    cancelled,
    durationMs: Math.round(performance.now() - started),
  };
}
