/**
 * Download a catalog model into a per-machine cache: model.json and every shard it names are
 * fetched into a temp folder inside the cache, verified (the same validation as an imported
 * folder, plus the model.json sha256 when the catalog knows it), then renamed into
 * <cacheDir>/<model id>/. A failed or cancelled download leaves nothing in place of the model.
 * No TensorFlow.js here; `fetch` is injectable (tests serve files from disk).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CatalogModel } from './catalog';
import { ModelError } from './errors';
import { readModelFolder, type ModelFolder } from './folder';

export interface DownloadOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: { doneFiles: number; totalFiles: number; bytes: number }) => void;
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
export async function downloadModel(entry: CatalogModel, cacheDir: string, options: DownloadOptions = {}): Promise<ModelFolder> {
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
  const tmp = path.join(cacheDir, `.download-${entry.id}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
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
        options.onProgress?.({ doneFiles: ++done, totalFiles: files.length, bytes });
      }
    };
    // allSettled: when one shard fails, the others finish before the temp folder is removed.
    const settled = await Promise.allSettled([worker(), worker(), worker(), worker()]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await readModelFolder(tmp); // structural verification: every shard, exact sizes, layer classes
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target);
    return await readModelFolder(target);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
