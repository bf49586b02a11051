/**
 * The cache folder of an engine on a server (`transfer-studio engine --stdio`): the only place it
 * reads and writes for its host. The host sends images and model folders once, by content hash;
 * they are kept under blobs/<sha256> and models/<folder hash>, least recently used evicted past a
 * size limit (the ones the current job uses are kept even then). Feature caches, run folders and
 * files a call writes live under projects/<key>/. Every path a call carries must be one of these
 * references (protocol.ts mapParamPaths); anything else is refused with PATH_REFUSED.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { folderHash, sha256 } from '../../shared/node/folder-hash';
import type { EngineParams, EngineResult, PathRole } from './protocol';
import { EngineJobError } from './job-error';
import { writeFileAtomic } from '../../shared/node/atomic-write';

const HEX64 = '[0-9a-f]{64}';
const KEY = '[A-Za-z0-9_-]{1,64}';
/** A folder or file name: not '.' or '..' (names end their references). */
const NAME = '(?!\\.\\.?$)[A-Za-z0-9_.-]{1,128}';
/** The reference each role may name. */
const ROLE_REF: Record<PathRole, RegExp> = {
  image: new RegExp(`^blobs/${HEX64}$`),
  file: new RegExp(`^blobs/${HEX64}$`),
  model: new RegExp(`^models/${HEX64}$`),
  project: new RegExp(`^projects/${KEY}$`),
  cache: new RegExp(`^projects/${KEY}/cache$`),
  run: new RegExp(`^projects/${KEY}/runs/${NAME}$`),
  output: new RegExp(`^projects/${KEY}/out/${NAME}$`),
  root: /^blobs$/,
};
const WRITE_CONCURRENCY = 16;
/** Folders the host may send files into (then cacheCommit) or read files from. */
const UPLOAD_REF = [ROLE_REF.model, ROLE_REF.run];
const READ_REF = [ROLE_REF.run, ROLE_REF.output];

interface Entry {
  bytes: number;
  /** Order of last use (higher: more recent). */
  used: number;
}

function refused(p: string, what = 'a reference into its cache'): EngineJobError {
  return new EngineJobError('PATH_REFUSED', `The server engine reads and writes only its own cache folder: ${JSON.stringify(p)} is not ${what}.`);
}

/** A relative file path inside a folder (no '..', not absolute, no empty or dot-only parts). */
function checkRelative(file: string): string {
  const parts = file.split('/');
  if (!file || path.isAbsolute(file) || file.includes('\\') || parts.some((s) => s === '' || s === '.' || s === '..')) throw refused(file, 'a file inside a folder of its cache');
  return file;
}

export class RemoteCache {
  private readonly entries = new Map<string, Entry>();
  private clock = 0;
  /** Entries used at or after this tick belong to the current job and are not evicted. */
  private jobStart = 0;
  private total = 0;
  /** Blobs the host said it is sending (cacheMissing expect), by absolute path: readers wait for them. */
  private readonly expected = new Map<string, { arrived: Promise<void>; resolve: () => void }>();

  constructor(
    readonly root: string,
    readonly limitBytes: number,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    for (const area of ['blobs', 'models', 'projects', 'incoming']) fs.mkdirSync(path.join(root, area), { recursive: true });
    // Staged uploads of an engine that stopped are never committed.
    fs.rmSync(path.join(root, 'incoming'), { recursive: true, force: true });
    fs.mkdirSync(path.join(root, 'incoming'));
    const found: { ref: string; bytes: number; mtime: number }[] = [];
    for (const name of fs.readdirSync(path.join(root, 'blobs'))) {
      const st = fs.statSync(path.join(root, 'blobs', name));
      if (st.isFile()) found.push({ ref: `blobs/${name}`, bytes: st.size, mtime: st.mtimeMs });
    }
    for (const name of fs.readdirSync(path.join(root, 'models'))) {
      const dir = path.join(root, 'models', name);
      let bytes = 0;
      for (const f of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) if (f.isFile()) bytes += fs.statSync(path.join(f.parentPath, f.name)).size;
      found.push({ ref: `models/${name}`, bytes, mtime: fs.statSync(dir).mtimeMs });
    }
    for (const f of found.sort((a, b) => a.mtime - b.mtime)) this.add(f.ref, f.bytes);
  }

  /** Bytes of the images and models kept (what the limit bounds). */
  get sizeBytes(): number {
    return this.total;
  }

  /** The absolute path of a call's reference, or PATH_REFUSED; blobs and models it names count as used. */
  resolve(ref: string, role: PathRole): string {
    if (!ROLE_REF[role].test(ref)) throw refused(ref);
    const abs = path.join(this.root, ref);
    if (role === 'run' || role === 'cache' || role === 'project') fs.mkdirSync(abs, { recursive: true });
    else if (role === 'output') fs.mkdirSync(path.dirname(abs), { recursive: true });
    else this.touch(ref);
    return abs;
  }

  missing({ refs, expect }: EngineParams<'cacheMissing'>): EngineResult<'cacheMissing'> {
    this.jobStart = this.clock + 1;
    const missing: string[] = [];
    for (const ref of refs) {
      if (!ROLE_REF.image.test(ref) && !ROLE_REF.model.test(ref)) throw refused(ref);
      if (this.entries.has(ref) && fs.existsSync(path.join(this.root, ref))) this.touch(ref);
      else {
        this.forget(ref);
        missing.push(ref);
        if (expect && ROLE_REF.image.test(ref)) this.expect(path.join(this.root, ref));
      }
    }
    return { missing };
  }

  /** Resolves when the blob at `file` has arrived (or will not); at once for anything not expected. */
  arrival(file: string): Promise<void> {
    return this.expected.get(file)?.arrived ?? Promise.resolve();
  }

  /** The host is gone: nothing more will arrive, and nobody may wait for it. */
  giveUpWaiting(): void {
    for (const file of [...this.expected.keys()]) this.arrived(file);
  }

  private expect(file: string): void {
    if (this.expected.has(file)) return;
    let resolve!: () => void;
    const arrived = new Promise<void>((r) => (resolve = r));
    this.expected.set(file, { arrived, resolve });
  }

  private arrived(file: string): void {
    this.expected.get(file)?.resolve();
    this.expected.delete(file);
  }

  async putBlobs({ blobs, skipped = [] }: EngineParams<'cachePutBlobs'>): Promise<EngineResult<'cachePutBlobs'>> {
    const rejected: string[] = [];
    let stored = 0;
    for (const hash of [...blobs.map((b) => b.hash), ...skipped]) if (!ROLE_REF.image.test(`blobs/${hash}`)) throw refused(`blobs/${hash}`);
    for (const hash of skipped) this.arrived(path.join(this.root, 'blobs', hash));
    // Several files at a time: each write is a few file-system calls on the thread pool.
    for (let i = 0; i < blobs.length; i += WRITE_CONCURRENCY) {
      await Promise.all(
        blobs.slice(i, i + WRITE_CONCURRENCY).map(async ({ hash, bytes }) => {
          const file = path.join(this.root, 'blobs', hash);
          if (sha256(bytes) !== hash) {
            rejected.push(hash);
          } else {
            await writeFileAtomic(file, bytes);
            this.add(`blobs/${hash}`, bytes.length);
            stored++;
          }
          this.arrived(file);
        }),
      );
    }
    await this.evict();
    return { stored, rejected };
  }

  async putFile({ ref, file, offset, bytes }: EngineParams<'cachePutFile'>): Promise<EngineResult<'cachePutFile'>> {
    if (!UPLOAD_REF.some((r) => r.test(ref))) throw refused(ref, 'a model or run folder of its cache');
    const target = path.join(this.root, 'incoming', ref, checkRelative(file));
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const handle = await fsp.open(target, offset === 0 ? 'w' : 'r+');
    try {
      await handle.write(bytes, 0, bytes.length, offset);
    } finally {
      await handle.close();
    }
    return { bytes: bytes.length };
  }

  async commit({ ref }: EngineParams<'cacheCommit'>): Promise<EngineResult<'cacheCommit'>> {
    if (!UPLOAD_REF.some((r) => r.test(ref))) throw refused(ref, 'a model or run folder of its cache');
    const staged = path.join(this.root, 'incoming', ref);
    const target = path.join(this.root, ref);
    const files = fs.existsSync(staged) ? (await fsp.readdir(staged, { recursive: true, withFileTypes: true })).filter((f) => f.isFile()) : [];
    if (ROLE_REF.model.test(ref)) {
      const hash = await folderHash(staged);
      if (`models/${hash}` !== ref) {
        await fsp.rm(staged, { recursive: true, force: true });
        throw new EngineJobError('BAD_JOB', `The model folder sent does not match its hash (${ref}): it changed while it was sent; try again.`);
      }
      if (fs.existsSync(target)) await fsp.rm(staged, { recursive: true, force: true });
      else await fsp.rename(staged, target);
      let bytes = 0;
      for (const f of files) bytes += (await fsp.stat(path.join(target, path.relative(staged, path.join(f.parentPath, f.name))))).size;
      this.add(ref, bytes);
      await this.evict();
      return { files: files.length };
    }
    // A run folder: what the server already has (a newer checkpoint, say) wins over the host's copy.
    let moved = 0;
    for (const f of files) {
      const rel = path.relative(staged, path.join(f.parentPath, f.name));
      const dest = path.join(target, rel);
      if (fs.existsSync(dest)) continue;
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      await fsp.rename(path.join(f.parentPath, f.name), dest);
      moved++;
    }
    await fsp.rm(staged, { recursive: true, force: true });
    return { files: moved };
  }

  async list({ ref }: EngineParams<'cacheList'>): Promise<EngineResult<'cacheList'>> {
    if (!READ_REF.some((r) => r.test(ref))) throw refused(ref, 'a run folder or output of its cache');
    const abs = path.join(this.root, ref);
    const st = await fsp.stat(abs).catch(() => null);
    if (!st) return { files: [] };
    if (st.isFile()) return { files: [{ path: '', size: st.size }] };
    const files: { path: string; size: number }[] = [];
    for (const f of await fsp.readdir(abs, { recursive: true, withFileTypes: true })) {
      if (!f.isFile() || f.name.endsWith('.tmp')) continue;
      const full = path.join(f.parentPath, f.name);
      files.push({ path: path.relative(abs, full).split(path.sep).join('/'), size: (await fsp.stat(full)).size });
    }
    return { files: files.sort((a, b) => a.path.localeCompare(b.path)) };
  }

  async read({ ref, file, offset, length }: EngineParams<'cacheRead'>): Promise<EngineResult<'cacheRead'>> {
    if (!READ_REF.some((r) => r.test(ref))) throw refused(ref, 'a run folder or output of its cache');
    const abs = file === '' ? path.join(this.root, ref) : path.join(this.root, ref, checkRelative(file));
    const handle = await fsp.open(abs, 'r');
    try {
      const bytes = new Uint8Array(Math.max(0, length));
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, offset);
      return { bytes: bytes.subarray(0, bytesRead) };
    } finally {
      await handle.close();
    }
  }

  /**
   * Holds a run folder for one engine at a time: an engine whose connection dropped may still be
   * stopping at its checkpoint when the resumed run's engine starts. Waits (up to `waitMs`) while a
   * live process holds it; returns the release.
   */
  async holdRun(runDir: string, waitMs = 60_000): Promise<() => void> {
    const lock = `${runDir}.lock`;
    const until = Date.now() + waitMs;
    for (;;) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
        return () => fs.rmSync(lock, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (!isAlive(holder) || Date.now() > until) fs.rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }

  private add(ref: string, bytes: number): void {
    this.forget(ref);
    this.entries.set(ref, { bytes, used: ++this.clock });
    this.total += bytes;
  }

  private forget(ref: string): void {
    const e = this.entries.get(ref);
    if (!e) return;
    this.total -= e.bytes;
    this.entries.delete(ref);
  }

  private touch(ref: string): void {
    const e = this.entries.get(ref);
    if (!e) return;
    e.used = ++this.clock;
    // The order survives a restart through the files' times.
    const now = new Date();
    fs.utimes(path.join(this.root, ref), now, now, () => undefined);
  }

  /** Least recently used first, until under the limit; never what the current job uses. */
  private async evict(): Promise<void> {
    if (this.total <= this.limitBytes) return;
    const old = [...this.entries].filter(([, e]) => e.used < this.jobStart).sort((a, b) => a[1].used - b[1].used);
    for (const [ref] of old) {
      if (this.total <= this.limitBytes) break;
      await fsp.rm(path.join(this.root, ref), { recursive: true, force: true });
      this.forget(ref);
    }
    if (this.total > this.limitBytes) this.log(`The cache holds ${this.total} bytes, over its limit of ${this.limitBytes}: the current job needs them all.`);
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
