/**
 * Safe extraction of a .zip into a folder inside the project. Entries whose names would leave
 * the folder (zip-slip: "../", absolute paths, drive letters) or are too long for a file system,
 * symbolic links and encrypted entries are skipped and reported (a long name shortened). Against zip bombs: every entry's compression ratio is checked
 * (one over the limit is skipped), the sizes of what would be extracted are added up from the
 * central directory before anything is written and refused past the limit or the free disk space,
 * and yauzl checks every entry's real size against its declared one while it streams.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { StudioError } from '../../shared/errors';
import { openUserFileSync, UserFileError } from '../../shared/node/user-file';
import { isJunkName } from './walk';

export interface ZipLimits {
  maxTotalBytes: number;
  maxEntries: number;
  /** Largest uncompressed/compressed ratio accepted for an entry (images barely compress; zeros do 1000:1). */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxTotalBytes: 20 * 1024 ** 3, maxEntries: 1_000_000, maxRatio: 200 };
/** Entries this small cannot make a bomb, whatever their ratio (a tiny file of zeros compresses 50:1). */
const SMALL_ENTRY = 64 * 1024;
/** Left free on the disk after an extraction: the project's database, thumbnails and caches need room too. */
const DISK_RESERVE = 512 * 1024 ** 2;

export interface ZipSkipped {
  file: string;
  reason: string;
}

export interface ZipResult {
  extracted: number;
  skipped: ZipSkipped[];
}

// The parts of yauzl 3 that @types/yauzl (2.x) does not describe.
const yz = yauzl as unknown as typeof yauzl & {
  getFileNameLowLevel(flags: number, name: Buffer, extraFields: unknown[], strict: boolean): string;
  validateFileName(name: string): string | null;
};

/** Opens a zip the user chose: a regular file (user-file.ts), read through its descriptor, which yauzl closes with the zip. */
function openZip(file: string): Promise<yauzl.ZipFile> {
  let fd: number;
  try {
    ({ fd } = openUserFileSync(file));
  } catch (err) {
    return Promise.reject(new StudioError('bad_input', `${path.basename(file)} cannot be read: ${err instanceof UserFileError ? err.reason : String(err)}.`, 'source'));
  }
  return new Promise((resolve, reject) => {
    yauzl.fromFd(fd, { lazyEntries: true, decodeStrings: false, autoClose: false }, (err, zf) => {
      if (err || !zf) {
        fs.closeSync(fd);
        reject(new StudioError('bad_input', `${path.basename(file)} is not a readable zip file (${err?.message ?? 'unknown error'}).`, 'source'));
      } else resolve(zf);
    });
  });
}

function nextEntry(zf: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const onEntry = (e: yauzl.Entry): void => {
      cleanup();
      resolve(e);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      zf.off('entry', onEntry);
      zf.off('end', onEnd);
      zf.off('error', onError);
    };
    zf.on('entry', onEntry);
    zf.on('end', onEnd);
    zf.on('error', onError);
    zf.readEntry();
  });
}

function openStream(zf: yauzl.ZipFile, e: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zf.openReadStream(e, (err, s) => (err || !s ? reject(err ?? new Error('no stream')) : resolve(s))));
}

/** File systems take names of 255 bytes per part (ext4, APFS, NTFS in UTF-16 units), paths of a few thousand. */
const MAX_NAME_PART_BYTES = 255;
const MAX_NAME_CHARS = 1024;
/** What a report shows of a long entry name (never the whole of a hostile one). */
const SHOWN_NAME_CHARS = 120;

/** An entry's name as reports show it: whole when short, else its start and its length. */
export function shownEntryName(name: string): string {
  return name.length <= SHOWN_NAME_CHARS ? name : `${name.slice(0, SHOWN_NAME_CHARS)}... (${name.length} characters)`;
}

/** Decoded entry name, or a reason to skip it. */
function entryName(e: yauzl.Entry): { name: string } | { name: string; reason: string } {
  const raw = e.fileName as unknown as Buffer;
  const name = yz.getFileNameLowLevel(e.generalPurposeBitFlag, raw, e.extraFields as unknown[], false);
  if (name.length > MAX_NAME_CHARS || name.split('/').some((part) => Buffer.byteLength(part) > MAX_NAME_PART_BYTES))
    return { name, reason: `name of ${name.length} characters is too long for a file system; skipped` };
  const why = yz.validateFileName(name);
  if (why !== null || name.split('/').includes('..') || path.isAbsolute(name) || /^[A-Za-z]:/.test(name))
    return { name, reason: 'path leaves the extraction folder (zip-slip); skipped' };
  return { name };
}

function isSymlink(e: yauzl.Entry): boolean {
  const madeByUnix = e.versionMadeBy >> 8 === 3;
  const mode = (e.externalFileAttributes >>> 16) & 0o170000;
  return madeByUnix && mode === 0o120000;
}

/** What to do with an entry: extract it (under `name`), skip it with a reason, or pass over it silently (folders, OS clutter). */
type Verdict = { extract: string } | { skip: string; reason: string } | { ignore: true };

function verdict(e: yauzl.Entry, maxRatio: number, include: (name: string) => boolean): Verdict {
  const n = entryName(e);
  if ('reason' in n) return include(n.name) ? { skip: shownEntryName(n.name), reason: n.reason } : { ignore: true };
  const name = n.name;
  if (name.endsWith('/') || name.split('/').some((part) => isJunkName(part)) || !include(name)) return { ignore: true };
  if (isSymlink(e)) return { skip: name, reason: 'symbolic link in the zip; skipped' };
  if (e.isEncrypted()) return { skip: name, reason: 'encrypted entry; skipped' };
  const ratio = e.uncompressedSize / Math.max(1, e.compressedSize);
  if (e.uncompressedSize > SMALL_ENTRY && ratio > maxRatio)
    return { skip: name, reason: `compression ratio ${Math.round(ratio)}:1 is too high (more than ${maxRatio}:1; zip bomb?); skipped` };
  return { extract: name };
}

function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity; // a file system that cannot tell: the fixed limit still holds
  }
}

const gb = (n: number): string => `${(n / 1024 ** 3).toFixed(1)} GB`;

/**
 * Adds up what would be extracted, from the central directory alone (nothing is written), and
 * refuses the zip when that is over the limit or more than the disk has free.
 */
async function checkTotal(file: string, dest: string, limits: ZipLimits, include: (name: string) => boolean): Promise<void> {
  const zf = await openZip(file);
  try {
    let total = 0;
    for (let e = await readNext(zf, file); e !== null; e = await readNext(zf, file)) {
      const v = verdict(e, limits.maxRatio, include);
      if ('extract' in v) total += e.uncompressedSize;
    }
    const free = freeBytes(dest) - DISK_RESERVE;
    if (total > limits.maxTotalBytes)
      throw new StudioError('bad_input', `${path.basename(file)} would expand to more than ${gb(limits.maxTotalBytes)}; refused (zip bomb?).`, 'source');
    if (total > free)
      throw new StudioError('bad_input', `${path.basename(file)} would expand to ${gb(total)}, more than the ${gb(Math.max(0, free))} free on the project's disk; nothing was extracted.`, 'source');
  } finally {
    zf.close();
  }
}

async function readNext(zf: yauzl.ZipFile, file: string): Promise<yauzl.Entry | null> {
  try {
    return await nextEntry(zf);
  } catch (err) {
    throw new StudioError('bad_input', `${path.basename(file)} is damaged or not a valid zip (${(err as Error).message}); nothing was imported.`, 'source');
  }
}

export async function extractZip(
  file: string,
  dest: string,
  opts: {
    signal?: AbortSignal;
    limits?: Partial<ZipLimits>;
    onProgress?: (done: number, total: number) => void;
    /** Only the entries named so are extracted (and checked); the others are passed over silently. */
    include?: (name: string) => boolean;
  } = {},
): Promise<ZipResult> {
  const limits = { ...DEFAULT_ZIP_LIMITS, ...opts.limits };
  const include = opts.include ?? (() => true);
  fs.mkdirSync(dest, { recursive: true });
  const zf = await openZip(file);
  try {
    if (zf.entryCount > limits.maxEntries)
      throw new StudioError('bad_input', `${path.basename(file)} has ${zf.entryCount} entries (the limit is ${limits.maxEntries}); refused.`, 'source');
    await checkTotal(file, dest, limits, include);
    const destReal = fs.realpathSync(dest);
    const skipped: ZipSkipped[] = [];
    let extracted = 0;
    let index = 0;
    for (let e = await readNext(zf, file); e !== null; e = await readNext(zf, file)) {
      index++;
      opts.onProgress?.(index, zf.entryCount);
      if (opts.signal?.aborted) throw new StudioError('cancelled', 'Cancelled by the user.');
      const v = verdict(e, limits.maxRatio, include);
      if ('ignore' in v) continue;
      if ('skip' in v) {
        skipped.push({ file: v.skip, reason: v.reason });
        continue;
      }
      const name = v.extract;
      const target = path.resolve(destReal, ...name.split('/'));
      const rel = path.relative(destReal, target);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        skipped.push({ file: shownEntryName(name), reason: 'path leaves the extraction folder (zip-slip); skipped' });
        continue;
      }
      try {
        // In the try: a part that cannot be a folder (a file of that name came first) skips this entry only.
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const stream = await openStream(zf, e);
        // 'wx': never overwrite (two entries with one name): the second is reported.
        await pipeline(stream, fs.createWriteStream(target, { flags: 'wx' }));
        extracted++;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') await fs.promises.rm(target, { force: true }).catch(() => undefined);
        const why = code === 'EEXIST' ? 'a second entry with the same name' : `cannot extract (${code ?? (err as Error).message})`;
        skipped.push({ file: shownEntryName(name), reason: `${why}; skipped` });
      }
    }
    return { extracted, skipped };
  } finally {
    zf.close();
  }
}
