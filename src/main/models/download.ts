/**
 * Download a catalog model into a per-machine cache.
 * - TensorFlow.js models: model.json and every shard it names are fetched into a temp folder inside
 *   the cache, verified (the same validation as an imported folder, plus the model.json sha256 when
 *   the catalog knows it), then renamed into <cacheDir>/<model id>/.
 * - Keras weights (one .h5): streamed into a partial file that survives a cancel or a dropped
 *   connection and is resumed with an HTTP Range request, then checked against the md5 Keras pins
 *   (a mismatch is refused and the partial file removed) and read as a weights file of the entry's
 *   architecture; the caller installs it.
 * A failed or cancelled download leaves nothing in place of the model.
 * No TensorFlow.js here; `fetch` is injectable (tests serve files from disk).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { KerasCatalogModel, TfjsCatalogModel } from './catalog';
import { buildFolderAtomic } from '../../shared/node/atomic-write';
import { ModelError } from '../../shared/model-errors';
import { readModelFolder, type ModelFolder } from '../../shared/node/model-folder';
import { md5File } from './keras-file';

export interface DownloadOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** done/total: files (TensorFlow.js folders) or bytes (a Keras file). */
  onProgress?: (p: { done: number; total: number; bytes: number }) => void;
  /** Re-download even when the cache holds a valid copy. */
  force?: boolean;
}

async function fetchBytes(f: typeof fetch, url: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await f(url, signal ? { signal } : {});
  } catch (e) {
    // fetch says only "fetch failed"; the reason (ENOTFOUND, ECONNREFUSED, a timeout) is its cause.
    const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
    const why = cause?.code ?? cause?.message;
    throw new ModelError('DOWNLOAD_FAILED', `Could not download ${url}: ${(e as Error).message}${why ? ` (${why})` : ''}`, { url });
  }
  if (!res.ok) throw new ModelError('DOWNLOAD_FAILED', `Could not download ${url}: HTTP ${res.status}`, { url, status: res.status });
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Where a shard named by model.json is fetched from: beside model.json, on the catalog's own host.
 * A manifest that names another host (or scheme), an absolute path or a way out of the folder is
 * refused, so a tampered model.json cannot send the studio to fetch, or write, anything else.
 */
export function shardUrl(shard: string, modelJsonUrl: string): string {
  const base = new URL(modelJsonUrl);
  let url: URL | null = null;
  try {
    url = new URL(shard, base);
  } catch {
    url = null;
  }
  const folder = base.href.slice(0, base.href.lastIndexOf('/') + 1);
  if (!url || path.isAbsolute(shard) || shard.split(/[\\/]/).includes('..') || url.origin !== base.origin || !url.href.startsWith(folder))
    throw new ModelError('MODEL_MANIFEST_INVALID', `model.json names a shard outside its folder on ${base.host}: "${shard}".`, { shard });
  return url.toString();
}

/** The model's folder in the cache, downloading it first when it is not there (or not valid). */
export async function downloadModel(entry: TfjsCatalogModel, cacheDir: string, options: DownloadOptions = {}): Promise<ModelFolder> {
  const f = options.fetch ?? fetch;
  const target = path.join(cacheDir, entry.id);
  if (!options.force) {
    try {
      return await readModelFolder(target);
    } catch {
      // not cached or damaged: download
    }
  }
  await fs.mkdir(cacheDir, { recursive: true });
  await buildFolderAtomic(
    target,
    async (tmp) => {
      const jsonBytes = await fetchBytes(f, entry.url, options.signal);
      if (entry.modelJsonSha256) {
        const got = createHash('sha256').update(jsonBytes).digest('hex');
        if (got !== entry.modelJsonSha256) {
          throw new ModelError('CHECKSUM_MISMATCH', `model.json of ${entry.name} from ${entry.url} has sha256 ${got}, expected ${entry.modelJsonSha256}.`, { url: entry.url });
        }
      }
      await fs.writeFile(path.join(tmp, 'model.json'), jsonBytes);
      let manifest: { paths: string[] }[];
      try {
        manifest = (JSON.parse(Buffer.from(jsonBytes).toString('utf8')) as { weightsManifest: { paths: string[] }[] }).weightsManifest;
      } catch (e) {
        throw new ModelError('MODEL_JSON_INVALID', `model.json from ${entry.url} is not valid JSON (${(e as Error).message}).`, { url: entry.url });
      }
      const files = (manifest ?? []).flatMap((g) => g.paths);
      let bytes = jsonBytes.length;
      let done = 0;
      const queue = [...files];
      // A few shards at a time.
      let stop = false;
      const worker = async () => {
        try {
          await fetchAll();
        } catch (e) {
          stop = true;
          throw e;
        }
      };
      const fetchAll = async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          if (stop) return;
          const url = shardUrl(p, entry.url);
          const data = await fetchBytes(f, url, options.signal);
          await fs.mkdir(path.dirname(path.join(tmp, p)), { recursive: true });
          await fs.writeFile(path.join(tmp, p), data);
          bytes += data.length;
          options.onProgress?.({ done: ++done, total: files.length, bytes });
        }
      };
      // allSettled: when one shard fails, the others finish before the temp folder is removed.
      const settled = await Promise.allSettled([worker(), worker(), worker(), worker()]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await readModelFolder(tmp); // structural verification: every shard, exact sizes, layer classes
    },
    { replace: 'any' },
  );
  return await readModelFolder(target);
}

/** The partial file of a Keras download, kept between attempts so the next one resumes. */
export function partialPath(cacheDir: string, entry: KerasCatalogModel): string {
  return path.join(cacheDir, `.partial-${entry.id}-${entry.fileName}`);
}

/** Appends the response body to `file`, reporting bytes; stops (keeping what arrived) on abort. */
async function appendBody(res: Response, file: string, start: number, total: number, options: DownloadOptions): Promise<void> {
  const out = await fs.open(file, start > 0 ? 'a' : 'w');
  let bytes = start;
  let last = 0;
  try {
    const reader = res.body?.getReader();
    if (!reader) return;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (options.signal?.aborted) throw e;
        throw new ModelError('DOWNLOAD_FAILED', `The connection dropped after ${bytes} of ${total || '?'} bytes (${(e as Error).message}); ${bytes} bytes are kept, and the next download resumes from there.`, { bytes });
      }
      const { done, value } = chunk;
      if (done) break;
      await out.write(value);
      bytes += value.length;
      if (Date.now() - last > 100) {
        last = Date.now();
        options.onProgress?.({ done: bytes, total, bytes });
      }
    }
    options.onProgress?.({ done: bytes, total: Math.max(total, bytes), bytes });
  } finally {
    await out.close();
  }
}

/**
 * Downloads a Keras catalog file into <cacheDir>/.partial-..., resuming what an earlier attempt
 * left, and verifies it (`verify` reads it as a weights file of the entry's architecture). Returns
 * the verified file's path; the caller moves it into place.
 */
export async function downloadKerasFile(
  entry: KerasCatalogModel,
  cacheDir: string,
  verify: (file: string) => Promise<void>,
  options: DownloadOptions = {},
): Promise<{ file: string; md5: string; resumedFrom: number }> {
  const f = options.fetch ?? fetch;
  await fs.mkdir(cacheDir, { recursive: true });
  const partial = partialPath(cacheDir, entry);
  const have = await fs.stat(partial).then((s) => s.size, () => 0);
  let res: Response;
  try {
    res = await f(entry.url, { ...(options.signal ? { signal: options.signal } : {}), ...(have > 0 ? { headers: { Range: `bytes=${have}-` } } : {}) });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
    const why = cause?.code ?? cause?.message;
    throw new ModelError('DOWNLOAD_FAILED', `Could not download ${entry.url}: ${(e as Error).message}${why ? ` (${why})` : ''}`, { url: entry.url });
  }
  let start = 0;
  if (res.status === 206 && have > 0) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    start = range && Number(range[1]) === have ? have : 0;
    if (start === 0) {
      await res.body?.cancel();
      throw new ModelError('DOWNLOAD_FAILED', `${entry.url} answered a resume request with another range (${res.headers.get('content-range') ?? 'none'}); the partial file was kept.`, { url: entry.url });
    }
  } else if (res.status === 416 && have > 0) {
    start = have; // the partial file is already complete: verify it
  } else if (!res.ok) {
    throw new ModelError('DOWNLOAD_FAILED', `Could not download ${entry.url}: HTTP ${res.status}`, { url: entry.url, status: res.status });
  }
  if (res.status !== 416) {
    const length = Number(res.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? start + length : (entry.sizeBytes ?? 0);
    await appendBody(res, partial, start, total, options);
    if (options.signal?.aborted) throw new ModelError('DOWNLOAD_FAILED', `The download of ${entry.fileName} was cancelled; ${(await fs.stat(partial)).size} bytes are kept to resume from.`, { url: entry.url });
  }
  const size = (await fs.stat(partial)).size;
  const md5 = await md5File(partial);
  const accepted = [entry.hash?.value, ...entry.alsoAccepted].filter((h): h is string => typeof h === 'string');
  if (accepted.length > 0 && !accepted.includes(md5)) {
    await fs.rm(partial, { force: true });
    throw new ModelError('CHECKSUM_MISMATCH', `${entry.fileName} from ${entry.url} has md5 ${md5}, but Keras pins ${entry.hash?.value ?? accepted[0]} (${entry.hash?.pinnedIn ?? 'keras'}): refused, not installed.`, { url: entry.url, md5 });
  }
  if (accepted.length === 0 && entry.sizeExact && entry.sizeBytes !== undefined && size !== entry.sizeBytes) {
    await fs.rm(partial, { force: true });
    throw new ModelError('CHECKSUM_MISMATCH', `${entry.fileName} from ${entry.url} is ${size} bytes, but the published file is ${entry.sizeBytes} bytes (Keras pins no hash for it): refused, not installed.`, { url: entry.url, size });
  }
  try {
    await verify(partial);
  } catch (e) {
    await fs.rm(partial, { force: true });
    throw e;
  }
  return { file: partial, md5, resumedFrom: start };
}
