/**
 * Safe extraction of a .zip into a folder inside the project. Entries whose names would leave
 * the folder (zip-slip: "../", absolute paths, drive letters), symbolic links and encrypted
 * entries are skipped and reported; a zip bomb is refused by limits on the total declared size,
 * the entry count and the compression ratio, with yauzl checking every entry's real size
 * against its declared one while it streams.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { StudioError } from '../../shared/errors';
import { isJunkName } from './walk';

export interface ZipLimits {
  maxTotalBytes: number;
  maxEntries: number;
  /** Largest uncompressed/compressed ratio accepted for an entry bigger than 1 MB. */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxTotalBytes: 20 * 1024 ** 3, maxEntries: 1_000_000, maxRatio: 200 };

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

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, autoClose: false }, (err, zf) => {
      if (err || !zf) reject(new StudioError('bad_input', `${path.basename(file)} is not a readable zip file (${err?.message ?? 'unknown error'}).`, 'source'));
      else resolve(zf);
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

/** Decoded entry name, or a reason to skip it. */
function entryName(e: yauzl.Entry): { name: string } | { name: string; reason: string } {
  const raw = e.fileName as unknown as Buffer;
  const name = yz.getFileNameLowLevel(e.generalPurposeBitFlag, raw, e.extraFields as unknown[], false);
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

export async function extractZip(
  file: string,
  dest: string,
  opts: { signal?: AbortSignal; limits?: Partial<ZipLimits>; onProgress?: (done: number, total: number) => void } = {},
): Promise<ZipResult> {
  const limits = { ...DEFAULT_ZIP_LIMITS, ...opts.limits };
  const zf = await openZip(file);
  try {
    if (zf.entryCount > limits.maxEntries)
      throw new StudioError('bad_input', `${path.basename(file)} has ${zf.entryCount} entries (the limit is ${limits.maxEntries}); refused.`, 'source');
    fs.mkdirSync(dest, { recursive: true });
    const destReal = fs.realpathSync(dest);
    const skipped: ZipSkipped[] = [];
    let extracted = 0;
    let totalBytes = 0;
    let index = 0;
    const next = async (): Promise<yauzl.Entry | null> => {
      try {
        return await nextEntry(zf);
      } catch (err) {
        throw new StudioError('bad_input', `${path.basename(file)} is damaged or not a valid zip (${(err as Error).message}); nothing was imported.`, 'source');
      }
    };
    for (let e = await next(); e !== null; e = await next()) {
      index++;
      opts.onProgress?.(index, zf.entryCount);
      if (opts.signal?.aborted) throw new StudioError('cancelled', 'Cancelled by the user.');
      const n = entryName(e);
      if ('reason' in n) {
        skipped.push({ file: n.name, reason: n.reason });
        continue;
      }
      const name = n.name;
      if (name.endsWith('/')) continue; // a folder entry
      if (name.split('/').some((part) => isJunkName(part))) continue;
      if (isSymlink(e)) {
        skipped.push({ file: name, reason: 'symbolic link in the zip; skipped' });
        continue;
      }
      if (e.isEncrypted()) {
        skipped.push({ file: name, reason: 'encrypted entry; skipped' });
        continue;
      }
      totalBytes += e.uncompressedSize;
      if (totalBytes > limits.maxTotalBytes)
        throw new StudioError(
          'bad_input',
          `${path.basename(file)} would expand to more than ${(limits.maxTotalBytes / 1024 ** 3).toFixed(1)} GB; refused (zip bomb?).`,
          'source',
        );
      if (e.uncompressedSize > 1024 * 1024 && e.uncompressedSize / Math.max(1, e.compressedSize) > limits.maxRatio) {
        skipped.push({ file: name, reason: `compression ratio ${Math.round(e.uncompressedSize / Math.max(1, e.compressedSize))}:1 is too high (zip bomb?); skipped` });
        continue;
      }
      const target = path.resolve(destReal, ...name.split('/'));
      const rel = path.relative(destReal, target);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        skipped.push({ file: name, reason: 'path leaves the extraction folder (zip-slip); skipped' });
        continue;
      }
      fs.mkdirSync(path.dirname(target), { recursive: true });
      try {
        const stream = await openStream(zf, e);
        // 'wx': never overwrite (two entries with one name): the second is reported.
        await pipeline(stream, fs.createWriteStream(target, { flags: 'wx' }));
        extracted++;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') await fs.promises.rm(target, { force: true });
        skipped.push({ file: name, reason: code === 'EEXIST' ? 'a second entry with the same name; skipped' : `cannot extract (${(err as Error).message})` });
      }
    }
    return { extracted, skipped };
  } finally {
    zf.close();
  }
}
