/**
 * Running an import job: a zip is extracted into the project, then the request's plan
 * (import-plan.ts) is read. Files stream through a bounded pool of sharp operations; results are committed in order, in batches of `batchSize` rows per
 * transaction, so a cancel or a crash keeps every committed batch and the store is always
 * consistent. Nothing grows with the number of files except counters: failures and duplicates
 * listed in the report are capped (their counts are exact). One bad file never stops the rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImportDuplicate, ImportFailure, ImportReport, ImportRequest } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { formulaWarning } from '../../shared/names';
import { isDiskFull } from '../../shared/node/disk-full';
import type { JobContext } from '../jobs/job-manager';
import { imageByHash } from '../store/image-files';
import { addImages } from '../store/images';
import type { ProjectStore } from '../store/project-store';
import { addSource, dropSourceIfEmpty, findSource } from '../store/sources';
import { isZipImport, planImport, requireExisting, type ImportItem, type ImportPlan } from './import-plan';
import { DEFAULT_MAX_PIXELS, inspectImage, type ImageFacts, type InspectResult } from './inspect';
import { THUMBS_FOLDER } from './thumbs';
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

/** A zip is extracted into imported/<n>, a new folder of the project for each import. */
function nextImportFolder(store: ProjectStore): string {
  const base = store.folder('imported');
  const used = fs.readdirSync(base).map(Number).filter((n) => Number.isInteger(n));
  const n = used.length ? Math.max(...used) + 1 : 1;
  return path.join(base, String(n));
}

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
  item: ImportItem;
  result?: InspectResult;
  /** A failure that ends the import (a full disk), not just this file. */
  fatal?: unknown;
}

interface PendingRow {
  item: Extract<ImportItem, { file: string }>;
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
  const isZip = isZipImport(request);
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

  let plan: ImportPlan;
  try {
    plan = planImport({ ...request, ...(isZip ? { kind: 'zip' as const } : {}) }, store.dir, extracted);
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
