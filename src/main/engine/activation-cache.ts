/**
 * The activation cache of scenario 2: the frozen part's output at the freeze boundary, one row
 * per image content hash, in the same folder layout and key as the feature cache (FeatureCache's
 * segments, keyed by model, layer, input size and preprocessing) but never held in memory: an
 * activation is 100 KB-1 MB per image, so only the index (hash -> segment file, row) stays in
 * memory and batches are read from disk by offset. Memory does not grow with the number of images.
 */
import fs from 'node:fs/promises';
import { openCacheDir, validSegments, writeSegment, type FeatureKeyParts, type RowSink } from './feature-cache';

interface RowRef {
  file: string;
  row: number;
}

export class ActivationCache implements RowSink {
  private readonly index = new Map<string, RowRef>();
  private readonly handles = new Map<string, Promise<fs.FileHandle>>();

  private constructor(
    readonly dir: string,
    readonly dim: number,
  ) {}

  static async open(root: string, parts: FeatureKeyParts, dim: number): Promise<ActivationCache> {
    const cache = new ActivationCache(await openCacheDir(root, parts, dim), dim);
    await cache.load();
    return cache;
  }

  private async load(): Promise<void> {
    for (const { hashes, file } of await validSegments(this.dir, this.dim)) hashes.forEach((hash, row) => this.index.set(hash, { file, row }));
  }

  get size(): number {
    return this.index.size;
  }

  has(hash: string): boolean {
    return this.index.has(hash);
  }

  async append(entries: { hash: string; features: Float32Array }[]): Promise<void> {
    const fresh = entries.filter((e) => !this.index.has(e.hash));
    if (fresh.length === 0) return;
    const { file } = await writeSegment(this.dir, this.dim, fresh);
    fresh.forEach((e, row) => this.index.set(e.hash, { file, row }));
  }

  /** Rows of `hashes` into `out` (row i at i * dim); every hash must be cached. */
  async read(hashes: readonly string[], out: Float32Array): Promise<void> {
    const bytes = this.dim * 4;
    await Promise.all(
      hashes.map(async (hash, i) => {
        const ref = this.index.get(hash);
        if (!ref) throw new Error(`activation of ${hash} is not cached`);
        const handle = await this.handle(ref.file);
        const view = new Uint8Array(out.buffer, out.byteOffset + i * bytes, bytes);
        const { bytesRead } = await handle.read(view, 0, bytes, ref.row * bytes);
        if (bytesRead !== bytes) throw new Error(`activation cache segment ${ref.file} is truncated`);
      }),
    );
  }

  private handle(file: string): Promise<fs.FileHandle> {
    let h = this.handles.get(file);
    if (!h) {
      h = fs.open(file, 'r');
      this.handles.set(file, h);
    }
    return h;
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map(async (h) => (await h).close()));
    this.handles.clear();
  }
}
