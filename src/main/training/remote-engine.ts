/**
 * The engine on another machine, as the host's services see any engine (one generic call): an
 * EngineClient over ssh (ssh-channel.ts) plus what makes a remote engine look local.
 *  - Before a call: every path it carries (protocol.ts mapParamPaths) is turned into a reference
 *    into the server's cache. Images and other files go by content hash, model folders by the hash
 *    of their files, and only what the server reports missing is sent (an 'upload' phase with its
 *    own progress; a second run on the same images sends none). A run folder the server lacks
 *    (predicting with a run trained here, resuming one) is sent file by file, never overwriting
 *    what the server has (its checkpoint may be newer).
 *  - After a call: a training run's folder (run.json, the model, metrics, the checkpoint) comes
 *    home into the project's run folder, an exported file to its local path, and results name the
 *    caller's own paths again; the backend says which server ran it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendInfo } from '../../shared/domain';
import { fileHash, folderFiles, folderHash } from '../../shared/node/folder-hash';
import { mapParamPaths, type CallOptions, type Engine, type EngineEvent, type EngineMethod, type EngineParams, type EngineResult, type PathRole } from '../engine/protocol';
import { EngineClient, EngineError, type EngineChannel, type EngineReady } from './engine-client';
import { sshEngineChannel, sshTarget, type SshAddress } from './ssh-channel';

/** Bytes per upload or download message (well below the frame limit). */
const CHUNK_BYTES = 8 * 1024 * 1024;
/** Images per upload message at most. */
const BATCH_FILES = 256;
/** References per cacheMissing call. */
const REFS_PER_CALL = 20_000;
/** The reference of a file that could not be read here: the server has no such blob, so the item fails as an unreadable image. */
const UNREADABLE = '0'.repeat(64);

/** What a call sent to the server (tests and the benchmark read it). */
export interface UploadStats {
  images: number;
  imagesPresent: number;
  bytes: number;
  models: number;
  ms: number;
}

interface FoundPath {
  p: string;
  role: PathRole;
  hash?: string;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export class RemoteEngine implements Engine {
  readonly client: EngineClient;
  /** Model folder hashes by folder, with the sizes and times they were computed from. */
  private readonly modelHashes = new Map<string, { stamp: string; hash: string }>();
  lastUpload: UploadStats | null = null;

  constructor(
    readonly address: SshAddress,
    readonly version: string,
    channel: () => EngineChannel = () => sshEngineChannel(address, { version }),
  ) {
    this.client = new EngineClient(channel);
  }

  /** What the server said of itself when it started (null before the first call). */
  get readyInfo(): EngineReady | null {
    return this.client.readyInfo;
  }

  dispose(): void {
    this.client.dispose();
  }

  async call<M extends EngineMethod>(method: M, params: EngineParams<M>, options: CallOptions = {}): Promise<EngineResult<M>> {
    const found: FoundPath[] = [];
    mapParamPaths(method, params, (p, role, hash) => {
      found.push({ p, role, ...(hash ? { hash } : {}) });
      return p;
    });
    // The upload's progress is shown until the engine's own phases begin (they then wait for the images).
    let uploading = true;
    const onEvent = options.onEvent;
    const uploadEvents: CallOptions = { ...options, ...(onEvent ? { onEvent: (e: EngineEvent) => (uploading || e.type === 'log') && onEvent(e) } : {}) };
    const { hashes, images } = found.length ? await this.send(method, params, found, uploadEvents) : { hashes: new Map<string, string>(), images: Promise.resolve() };
    const remote = found.length ? mapParamPaths(method, params, (p, role) => this.ref(p, role, hashes)) : params;
    const events = onEvent
      ? (e: EngineEvent) => {
          if (e.type === 'phase' || e.type === 'progress') uploading = false;
          onEvent(e.type === 'backend' ? { ...e, backend: this.withServer(e.backend) } : e);
        }
      : undefined;
    let connected = true;
    try {
      // The images the server lacks travel beside the call (answered at once there), which reads each as it lands.
      const [result] = await Promise.all([this.client.call(method, remote, { ...options, ...(events ? { onEvent: events } : {}) }), images]);
      return this.localResult(method, params, result);
    } catch (e) {
      if (e instanceof EngineError && (e.code === 'ENGINE_CRASHED' || e.code === 'ENGINE_STOPPED' || e.code === 'ENGINE_START_FAILED')) connected = false;
      throw e;
    } finally {
      // A dropped connection leaves the run on the server: a resume continues from there.
      if (connected) await this.fetchResults(method, params, remote);
    }
  }

  // ---- paths to references ---------------------------------------------------------------

  /** A key for a project folder of this machine (the server keeps each project's caches and runs apart). */
  private projectKey(dir: string): string {
    return sha(`${os.hostname()}\0${path.resolve(dir)}`).slice(0, 32);
  }

  private ref(p: string, role: PathRole, hashes: Map<string, string>): string {
    switch (role) {
      case 'image':
      case 'file':
        return `blobs/${hashes.get(p) ?? UNREADABLE}`;
      case 'model':
        return `models/${hashes.get(p) ?? UNREADABLE}`;
      case 'project':
        return `projects/${this.projectKey(p)}`;
      case 'cache':
        return `projects/${this.projectKey(path.dirname(p))}/cache`;
      case 'run':
        return `projects/${this.projectKey(path.dirname(path.dirname(p)))}/runs/${path.basename(p)}`;
      case 'root':
        return 'blobs';
      case 'output':
        return `projects/${this.projectKey(path.dirname(p))}/out/${sha(path.resolve(p)).slice(0, 16)}-${path.basename(p).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100)}`;
    }
  }

  // ---- sending what the server lacks ------------------------------------------------------

  /**
   * Sends the model folders and run folder the server lacks, and asks which images it lacks; the
   * hashes of every path, and the upload of those images (started, to run beside the call).
   */
  private async send<M extends EngineMethod>(method: M, params: EngineParams<M>, found: FoundPath[], options: CallOptions): Promise<{ hashes: Map<string, string>; images: Promise<void> }> {
    const started = Date.now();
    const hashes = new Map<string, string>();
    for (const f of found) {
      if (hashes.has(f.p)) continue;
      if (f.role === 'image' || f.role === 'file') {
        const hash = f.hash ?? (await fileHash(f.p).catch(() => null));
        if (hash) hashes.set(f.p, hash);
      } else if (f.role === 'model') {
        hashes.set(f.p, await this.modelHash(f.p));
      }
    }
    const blobPaths = new Map<string, string>();
    const modelDirs = new Map<string, string>();
    for (const f of found) {
      const hash = hashes.get(f.p);
      if (!hash) continue;
      if (f.role === 'model') modelDirs.set(`models/${hash}`, f.p);
      else if (f.role === 'image' || f.role === 'file') blobPaths.set(`blobs/${hash}`, f.p);
    }
    const refs = [...modelDirs.keys(), ...blobPaths.keys()];
    const missing: string[] = [];
    for (let i = 0; i < refs.length; i += REFS_PER_CALL) missing.push(...(await this.client.call('cacheMissing', { refs: refs.slice(i, i + REFS_PER_CALL), expect: true })).missing);
    const missingBlobs = missing.filter((r) => blobPaths.has(r));
    const stats: UploadStats = { images: 0, imagesPresent: blobPaths.size - missingBlobs.length, bytes: 0, models: 0, ms: 0 };
    if (missing.length) options.onEvent?.({ type: 'phase', phase: 'upload' });
    for (const ref of missing.filter((r) => modelDirs.has(r))) {
      stats.bytes += await this.sendFolder(modelDirs.get(ref)!, ref, () => true, options.signal);
      stats.models++;
    }
    await this.sendRunFolder(method, params);
    const images = this.sendBlobs(missingBlobs.map((r) => ({ hash: r.slice('blobs/'.length), file: blobPaths.get(r)! })), stats, options).then(() => {
      stats.ms = Date.now() - started;
      this.lastUpload = stats;
      if (blobPaths.size || modelDirs.size)
        options.onEvent?.({
          type: 'log',
          message: `Sent ${stats.images} image(s) and ${stats.models} model(s) (${(stats.bytes / 2 ** 20).toFixed(1)} MB) to ${sshTarget(this.address)}; ${stats.imagesPresent} image(s) were there already.`,
        });
    });
    // Awaited with the call; until then a failure here must not count as unhandled.
    images.catch(() => undefined);
    return { hashes, images };
  }

  private async modelHash(dir: string): Promise<string> {
    const files = await folderFiles(dir);
    const stats = await Promise.all(files.map((f) => fsp.stat(path.join(dir, f))));
    const stamp = files.map((f, i) => `${f}:${stats[i]!.size}:${stats[i]!.mtimeMs}`).join('|');
    const known = this.modelHashes.get(dir);
    if (known?.stamp === stamp) return known.hash;
    const hash = await folderHash(dir);
    this.modelHashes.set(dir, { stamp, hash });
    return hash;
  }

  /**
   * Images in the order the call reads them, in batches, the next one read while the last one
   * travels; progress counts images. One that cannot be read here, and after a cancel all the rest,
   * are sent as skipped: the server stops waiting for them (and reports them unreadable).
   */
  private async sendBlobs(items: { hash: string; file: string }[], stats: UploadStats, options: CallOptions): Promise<void> {
    let inFlight: Promise<unknown> = Promise.resolve();
    let done = 0;
    for (let i = 0; i < items.length; ) {
      const batch: { hash: string; bytes: Uint8Array }[] = [];
      const skipped: string[] = [];
      let bytes = 0;
      if (options.signal?.aborted) {
        skipped.push(...items.slice(i).map((item) => item.hash));
        i = items.length;
      }
      while (i < items.length && batch.length < BATCH_FILES && bytes < CHUNK_BYTES) {
        const item = items[i++]!;
        const data = await fsp.readFile(item.file).catch(() => null);
        // A file gone or changed since import: the server cannot have it and reports the image unreadable.
        if (!data) skipped.push(item.hash);
        else {
          batch.push({ hash: item.hash, bytes: data });
          bytes += data.length;
        }
      }
      await inFlight;
      const count = batch.length;
      inFlight = this.client.call('cachePutBlobs', { blobs: batch, ...(skipped.length ? { skipped } : {}) }).then(() => {
        done += count;
        stats.images += count;
        stats.bytes += bytes;
        options.onEvent?.({ type: 'progress', done, total: items.length });
      });
    }
    await inFlight;
  }

  /** Files of a local folder that `want` accepts, in chunks, then committed on the server; returns the bytes sent. */
  private async sendFolder(dir: string, ref: string, want: (file: string) => boolean, signal?: AbortSignal): Promise<number> {
    let bytes = 0;
    for (const file of await folderFiles(dir)) {
      if (!want(file)) continue;
      const handle = await fsp.open(path.join(dir, file), 'r');
      try {
        const size = (await handle.stat()).size;
        for (let offset = 0; offset === 0 || offset < size; offset += CHUNK_BYTES) {
          if (signal?.aborted) throw new EngineError('CANCELLED', 'Cancelled while sending files to the server.');
          const chunk = new Uint8Array(Math.min(CHUNK_BYTES, size - offset));
          await handle.read(chunk, 0, chunk.length, offset);
          await this.client.call('cachePutFile', { ref, file, offset, bytes: chunk });
          bytes += chunk.length;
        }
      } finally {
        await handle.close();
      }
    }
    await this.client.call('cacheCommit', { ref });
    return bytes;
  }

  /** Calls that read a run folder find it on the server: its files the server lacks are sent. */
  private async sendRunFolder<M extends EngineMethod>(method: M, params: EngineParams<M>): Promise<void> {
    const runDir =
      method === 'predict' || method === 'exportOnnx' || method === 'gradCam'
        ? (params as EngineParams<'predict'>).runDir
        : method === 'train' && (params as EngineParams<'train'>).job.resume
          ? (params as EngineParams<'train'>).job.runDir
          : null;
    if (!runDir || !fs.existsSync(runDir)) return;
    const ref = this.ref(runDir, 'run', new Map());
    const there = new Set((await this.client.call('cacheList', { ref })).files.map((f) => f.path));
    const local = await folderFiles(runDir);
    if (local.every((f) => there.has(f))) return;
    await this.sendFolder(runDir, ref, (f) => !there.has(f));
  }

  // ---- results home -----------------------------------------------------------------------

  private async fetchResults<M extends EngineMethod>(method: M, params: EngineParams<M>, remote: EngineParams<M>): Promise<void> {
    if (method === 'train') {
      const local = (params as EngineParams<'train'>).job.runDir;
      await this.fetch((remote as EngineParams<'train'>).job.runDir, local);
    } else if (method === 'exportOnnx') {
      await this.fetch((remote as EngineParams<'exportOnnx'>).out, (params as EngineParams<'exportOnnx'>).out);
    }
  }

  /** A run folder (or one output file) of the server into `local`, each file written whole then renamed. */
  private async fetch(ref: string, local: string): Promise<void> {
    const { files } = await this.client.call('cacheList', { ref });
    for (const f of files) {
      const target = f.path === '' ? local : path.join(local, ...f.path.split('/'));
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.download`;
      const handle = await fsp.open(tmp, 'w');
      try {
        for (let offset = 0; offset < f.size; offset += CHUNK_BYTES) {
          const { bytes } = await this.client.call('cacheRead', { ref, file: f.path, offset, length: Math.min(CHUNK_BYTES, f.size - offset) });
          await handle.write(bytes, 0, bytes.length, offset);
        }
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, target);
    }
  }

  /** The result as the caller's own paths name it, and the backend with the server it ran on. */
  private localResult<M extends EngineMethod>(method: M, params: EngineParams<M>, result: EngineResult<M>): EngineResult<M> {
    switch (method) {
      case 'predict': {
        const r = result as EngineResult<'predict'>;
        const items = (params as EngineParams<'predict'>).items;
        return { ...r, items: r.items.map((item, i) => ({ ...item, path: items[i]?.path ?? item.path })) } as EngineResult<M>;
      }
      case 'gradCam': {
        const r = result as EngineResult<'gradCam'>;
        const items = (params as EngineParams<'gradCam'>).items;
        return { ...r, items: r.items.map((item, i) => ({ ...item, path: items[i]?.path ?? item.path })) } as EngineResult<M>;
      }
      case 'classify': {
        const paths = (params as EngineParams<'classify'>).imagePaths;
        return (result as EngineResult<'classify'>).map((r, i) => ({ ...r, path: paths[i] ?? r.path })) as EngineResult<M>;
      }
      case 'train': {
        const r = result as EngineResult<'train'>;
        const runDir = (params as EngineParams<'train'>).job.runDir;
        const runRef = `/${this.ref(runDir, 'run', new Map())}/`;
        // The server's paths of the files written, as the copies in the local run folder.
        const modelFiles = r.modelFiles.map((f) => (f.includes(runRef) ? path.join(runDir, ...f.slice(f.indexOf(runRef) + runRef.length).split('/')) : f));
        return { ...r, modelFiles, backend: this.withServer(r.backend) } as EngineResult<M>;
      }
      case 'backend':
        return this.withServer(result as BackendInfo) as EngineResult<M>;
      default:
        return result;
    }
  }

  private withServer(backend: BackendInfo): BackendInfo {
    const ready = this.client.readyInfo;
    return { ...backend, server: { address: this.address.address, hostname: ready?.machine?.hostname ?? this.address.host, version: ready?.version ?? this.version } };
  }
}
