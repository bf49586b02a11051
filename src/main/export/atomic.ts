/**
 * Writing exports without ever leaving half a file: everything is written under a temporary
 * name in the target's own folder (so the final rename stays on one filesystem), flushed to
 * disk, then renamed over the target. On failure or cancel the temporary file or folder is
 * removed and the target is untouched.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../shared/errors';

/** Checks that the target's folder exists and the target itself is usable. */
export function checkTarget(target: string, opts: { kind: 'file' | 'folder'; overwrite: boolean }): string {
  const abs = path.resolve(target);
  const parent = path.dirname(abs);
  let parentStat: fs.Stats;
  try {
    parentStat = fs.statSync(parent);
  } catch {
    throw new StudioError('bad_input', `The folder ${parent} does not exist.`, 'out');
  }
  if (!parentStat.isDirectory()) throw new StudioError('bad_input', `${parent} is not a folder.`, 'out');
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st && opts.kind === 'file') {
    if (st.isDirectory()) throw new StudioError('bad_input', `${abs} is a folder; give a file name for the CSV.`, 'out');
    if (!opts.overwrite) throw new StudioError('conflict', `${abs} already exists; choose another name or allow overwriting (--force).`, 'out');
  }
  if (st && opts.kind === 'folder') {
    if (!st.isDirectory()) throw new StudioError('bad_input', `${abs} is a file; give a new or empty folder.`, 'out');
    if (fs.readdirSync(abs).length > 0) throw new StudioError('not_empty', `${abs} is not empty; give a new or empty folder.`, 'out');
  }
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new StudioError('read_only', `Cannot write in ${parent} (permission denied).`, 'out');
  }
  return abs;
}

function tempName(target: string, suffix: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.${suffix}`);
}

function fsyncDir(dir: string): void {
  // Makes the rename durable on POSIX; opening a folder is not possible on Windows, where it is not needed.
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

/** A buffered text sink handed to the producer of an atomic file. */
export interface TextSink {
  write(text: string): Promise<void>;
}

const FLUSH_AT = 256 * 1024;

/**
 * Writes `target` atomically: `produce` writes text to the sink; the file appears complete at
 * `target` only when `produce` resolves. Returns the number of bytes written.
 */
export async function writeFileAtomic(target: string, produce: (sink: TextSink) => Promise<void>): Promise<number> {
  const tmp = tempName(target, 'tmp');
  let fh: fs.promises.FileHandle | undefined;
  let bytes = 0;
  try {
    fh = await fs.promises.open(tmp, 'wx');
    const handle = fh;
    let pending = '';
    const flush = async (): Promise<void> => {
      if (pending === '') return;
      const buf = Buffer.from(pending, 'utf8');
      pending = '';
      bytes += buf.length;
      await handle.write(buf);
    };
    await produce({
      async write(text) {
        pending += text;
        if (pending.length >= FLUSH_AT) await flush();
      },
    });
    await flush();
    await handle.sync();
    await handle.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
    fsyncDir(path.dirname(target));
    return bytes;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Builds the folder `target` atomically: `produce` fills a temporary folder beside it, which is
 * renamed to `target` (an empty `target` is replaced) only when `produce` resolves.
 */
export async function buildFolderAtomic<T>(target: string, produce: (tmpDir: string) => Promise<T>): Promise<T> {
  const tmp = tempName(target, 'partial');
  await fs.promises.mkdir(tmp);
  try {
    const result = await produce(tmp);
    if (fs.existsSync(target)) await fs.promises.rmdir(target); // only ever empty (checked before and rmdir refuses otherwise)
    await fs.promises.rename(tmp, target);
    fsyncDir(path.dirname(target));
    return result;
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}
