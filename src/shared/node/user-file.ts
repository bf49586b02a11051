/**
 * Opening a file from a user-chosen place (an import source, a project folder, a model folder) as
 * what it claims to be: a regular file, inside the folder it was named from, of a bounded size.
 *
 * - A FIFO, device or socket is refused before it is opened (stat), and the open itself is
 *   non-blocking, so one swapped in between the two checks cannot block the open either: the
 *   descriptor's own fstat refuses it.
 * - Symbolic links are resolved with realpath; the target must stay inside `root` (a link in a
 *   shared dataset to /etc/shadow or ~/.ssh is refused, a link between files of the dataset is not).
 * - Reads stop at `maxBytes`: a file larger than declared, or growing while read, is refused
 *   rather than read without end.
 *
 * Node-only (src/shared/node/): imported by the host and by the engine process.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Why a user file was refused; `reason` is a short phrase for reports ("not a regular file (a FIFO)"). */
export class UserFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    /** The errno code behind it, when there was one (ENOENT, EACCES, ENOSPC...). */
    readonly code?: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'UserFileError';
  }
}

export interface UserFileOptions {
  /**
   * The folder the file was named from: after resolving links the file must be inside it. Omitted
   * for a file the user named on its own (a CSV, a Keras file): its links are still resolved.
   */
  root?: string;
  /** Largest size accepted, in bytes (default: no limit beyond the file's own size at open). */
  maxBytes?: number;
}

/**
 * The largest image file the studio reads (hashing, decoding): far above any photograph or scan it
 * can decode (100 megapixels), far below what would exhaust memory or time.
 */
export const MAX_IMAGE_BYTES = 1024 ** 3;

export interface OpenedUserFile {
  handle: fs.promises.FileHandle;
  /** The resolved path (no symbolic links). */
  realPath: string;
  size: number;
}

// Not defined on Windows, where FIFOs cannot be named in a folder and links are resolved by realpath.
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const OPEN_FLAGS = fs.constants.O_RDONLY | O_NONBLOCK | O_NOFOLLOW;

/** What a non-regular file is, for the reason given. */
export function specialKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/** A plain reason for a failed file-system call (missing, permission, a loop...). */
export function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'missing file';
    case 'EACCES':
    case 'EPERM':
      return 'unreadable (permission denied)';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'ELOOP':
      return 'unreadable (symbolic link loop)';
    case 'EIO':
      return 'unreadable (input/output error)';
    default:
      return `unreadable (${code ?? (err instanceof Error ? err.message : String(err))})`;
  }
}

const fail = (file: string, err: unknown): UserFileError =>
  err instanceof UserFileError ? err : new UserFileError(file, errnoReason(err), (err as NodeJS.ErrnoException | undefined)?.code);

/** True when `inner` is `outer` or below it (both absolute and resolved). */
export function isInside(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function checkStats(file: string, st: fs.Stats, maxBytes: number | undefined): void {
  if (!st.isFile()) throw new UserFileError(file, st.isDirectory() ? 'is a folder, not a file' : `not a regular file (${specialKind(st)})`);
  if (maxBytes !== undefined && st.size > maxBytes) throw new UserFileError(file, `too large (${st.size} bytes; the limit is ${maxBytes})`);
}

function checkInside(file: string, real: string, realRoot: string | undefined): void {
  if (realRoot !== undefined && !isInside(realRoot, real))
    throw new UserFileError(file, `outside its folder ${realRoot} (it resolves to ${real})`);
}

/** The resolved file, checked (inside root, regular, not too large) before anything opens it. */
async function resolveChecked(file: string, opts: UserFileOptions): Promise<{ real: string; st: fs.Stats }> {
  const realRoot = opts.root === undefined ? undefined : await fs.promises.realpath(opts.root);
  const real = await fs.promises.realpath(file);
  checkInside(file, real, realRoot);
  const st = await fs.promises.stat(real);
  checkStats(file, st, opts.maxBytes);
  return { real, st };
}

/**
 * Opens `file` for reading as a regular file (see the module comment); the caller closes the
 * handle. Throws UserFileError with the reason.
 */
export async function openUserFile(file: string, opts: UserFileOptions = {}): Promise<OpenedUserFile> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    const { real, st } = await resolveChecked(file, opts);
    handle = await fs.promises.open(real, OPEN_FLAGS);
    const fst = await handle.stat();
    // Swapped between the check and the open: a different file, or a special one.
    checkStats(file, fst, opts.maxBytes);
    if (fst.ino !== st.ino || fst.dev !== st.dev) throw new UserFileError(file, 'changed while being opened');
    return { handle, realPath: real, size: fst.size };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    throw fail(file, err);
  }
}

function tooLarge(file: string, maxBytes: number): UserFileError {
  return new UserFileError(file, `too large (more than ${maxBytes} bytes)`);
}

/** Where a whole read goes: one byte more than expected tells a file that grew since fstat from one that did not. */
function readTarget(size: number, maxBytes: number | undefined): { buf: Buffer; limit: number } {
  const limit = maxBytes ?? size;
  return { buf: Buffer.allocUnsafe(Math.min(size, limit) + 1), limit };
}

function readResult(file: string, buf: Buffer, got: number, limit: number): Buffer {
  if (got > limit) throw tooLarge(file, limit);
  return buf.subarray(0, got);
}

/** The whole content of a regular user file, at most `maxBytes` (it is refused, not cut, past that). */
export async function readUserFile(file: string, opts: UserFileOptions = {}): Promise<Buffer> {
  const { handle, size } = await openUserFile(file, opts);
  try {
    const { buf, limit } = readTarget(size, opts.maxBytes);
    let got = 0;
    for (let n = -1; n !== 0 && got < buf.length; got += n) n = (await handle.read(buf, got, buf.length - got, got)).bytesRead;
    return readResult(file, buf, got, limit);
  } catch (err) {
    throw fail(file, err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * `openUserFile` for callers that need a plain descriptor (a library reading through an fd); the
 * caller closes `fd`.
 */
export function openUserFileSync(file: string, opts: UserFileOptions = {}): { fd: number; realPath: string; size: number } {
  let fd: number | undefined;
  try {
    const realRoot = opts.root === undefined ? undefined : fs.realpathSync(opts.root);
    const real = fs.realpathSync(file);
    checkInside(file, real, realRoot);
    const st = fs.statSync(real);
    checkStats(file, st, opts.maxBytes);
    fd = fs.openSync(real, OPEN_FLAGS);
    const fst = fs.fstatSync(fd);
    checkStats(file, fst, opts.maxBytes);
    if (fst.ino !== st.ino || fst.dev !== st.dev) throw new UserFileError(file, 'changed while being opened');
    return { fd, realPath: real, size: fst.size };
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    throw fail(file, err);
  }
}

/** `readUserFile` for callers that cannot wait (small files: configs, manifests). */
export function readUserFileSync(file: string, opts: UserFileOptions = {}): Buffer {
  const { fd, size } = openUserFileSync(file, opts);
  try {
    const { buf, limit } = readTarget(size, opts.maxBytes);
    let got = 0;
    for (let n = -1; n !== 0 && got < buf.length; got += n) n = fs.readSync(fd, buf, got, buf.length - got, got);
    return readResult(file, buf, got, limit);
  } catch (err) {
    throw fail(file, err);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Streams a regular user file in chunks (hashing, copying), stopping with UserFileError past
 * `maxBytes` (default: its size when opened). The handle is closed when the iteration ends, however it ends.
 */
export async function* streamUserFile(file: string, opts: UserFileOptions & { chunkBytes?: number } = {}): AsyncGenerator<Buffer> {
  const { handle, size } = await openUserFile(file, opts);
  try {
    const chunk = opts.chunkBytes ?? 1 << 20;
    // A file that grows while read stops at its size at open, or the limit if one is given.
    const limit = opts.maxBytes ?? size;
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(chunk);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buf, 0, chunk, total));
      } catch (err) {
        throw fail(file, err);
      }
      if (bytesRead === 0) return;
      total += bytesRead;
      if (total > limit) throw tooLarge(file, limit);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Checks that `file` is a regular file inside `root` without reading it, for code that hands the
 * path to a library which opens it itself (libvips): returns the resolved path to give it.
 */
export async function checkUserFile(file: string, opts: UserFileOptions = {}): Promise<{ realPath: string; size: number }> {
  try {
    const { real, st } = await resolveChecked(file, opts);
    return { realPath: real, size: st.size };
  } catch (err) {
    throw fail(file, err);
  }
}
