/**
 * Write to a temporary name, then rename: a file or folder appears at its path complete or not at
 * all, and a crash or a failed write leaves the previous one (or nothing). The temporary sits
 * beside the target, so the rename stays on one file system, under a hidden name; it is removed
 * when writing fails. The one implementation for the host and the engine process.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A hidden name beside `target` for its temporary file or folder (unique per process and call). */
export function tempPathBeside(target: string, suffix = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.${suffix}`);
}

export interface AtomicOptions {
  /**
   * Flush the file and its folder to disk before and after the rename, so the result survives a
   * power cut (what the user exports); caches and metadata that can be rebuilt skip the cost.
   */
  durable?: boolean;
}

/** Makes a rename durable on POSIX; a folder cannot be opened on Windows, where it is not needed. */
function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fs.promises.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `target` atomically: `data` as it is, or whatever `fill` writes to the temporary path it
 * is given (a stream, a file handle). An existing `target` is replaced only when writing succeeded.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array | ((tmp: string) => Promise<void>), options: AtomicOptions = {}): Promise<void> {
  const tmp = tempPathBeside(target);
  try {
    if (typeof data === 'function') await data(tmp);
    else await fs.promises.writeFile(tmp, data);
    if (options.durable) await fsyncFile(tmp);
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  if (options.durable) fsyncDir(path.dirname(target));
}

/** writeFileAtomic for callers that are synchronous (small settings files). */
export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  const tmp = tempPathBeside(target);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Builds the folder `target` atomically: `fill` fills a new temporary folder beside it, which is
 * renamed to `target` only when `fill` resolves. `replace`: 'any' removes an existing `target`
 * first; 'empty' (the default) removes it only if it is an empty folder and fails otherwise, so a
 * user's folder is never lost.
 */
export async function buildFolderAtomic<T>(target: string, fill: (tmpDir: string) => Promise<T>, options: AtomicOptions & { replace?: 'any' | 'empty' } = {}): Promise<T> {
  const tmp = tempPathBeside(target, 'partial');
  await fs.promises.mkdir(tmp);
  try {
    const result = await fill(tmp);
    if (options.replace === 'any') await fs.promises.rm(target, { recursive: true, force: true });
    else if (fs.existsSync(target)) await fs.promises.rmdir(target); // refuses a folder that is not empty
    await fs.promises.rename(tmp, target);
    if (options.durable) fsyncDir(path.dirname(target));
    return result;
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}
