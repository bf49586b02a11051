/**
 * A write that failed for lack of space (SQLite's SQLITE_FULL, the file system's ENOSPC or EDQUOT),
 * told apart from other failures so that it fails its job with a message saying which disk is full
 * and how much is free, instead of "database or disk is full" (or an uncaught exception).
 */
import fs from 'node:fs';
import { StudioError } from '../errors';

const FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);
/** The same failures once they crossed a process boundary as text (the engine's errors, already StudioErrors). */
const FULL_TEXT = /\b(ENOSPC|EDQUOT|SQLITE_FULL)\b|database or disk is full|no space left on device|disk quota exceeded/i;

/** Whether `err` is a write that failed for lack of space (or already the studio's disk_full error). */
export function isDiskFull(err: unknown): boolean {
  if (err instanceof StudioError && err.code === 'disk_full') return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && FULL_CODES.has(code)) return true;
  return err instanceof Error && FULL_TEXT.test(err.message);
}

const mb = (n: number): string => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : `${(n / 1024 ** 2).toFixed(1)} MB`);

/** Free bytes on the disk holding `dir`, or null when it cannot be asked. */
export function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/**
 * The studio's error for a write into `dir` that failed for lack of space; null for any other
 * failure. `needed`: the bytes the write needed, when known.
 */
export function diskFullError(err: unknown, dir: string, needed?: number): StudioError | null {
  if (!isDiskFull(err)) return null;
  if (err instanceof StudioError && err.code === 'disk_full') return err;
  const free = freeBytes(dir);
  const room = free === null ? '' : ` (${mb(free)} free${needed !== undefined ? `, ${mb(needed)} needed` : ''})`;
  return new StudioError(
    'disk_full',
    `The disk holding ${dir} is full${room}: the write failed and was undone, so the project is as it was before it. Free some space and run it again.`,
  );
}
