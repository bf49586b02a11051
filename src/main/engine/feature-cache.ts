/**
 * Cached features of the frozen part, keyed by (model id, cut layer, pooling, input size,
 * preprocessing version) -> one folder, and inside it by image content hash.
 *
 * Layout: <root>/<key>/meta.json and segments: seg-<stamp>.f32 (rows of `dim` float32, little
 * endian) with seg-<stamp>.json ({ dim, hashes }) listing the hash of each row. A segment becomes
 * visible only when its index is renamed into place, after its data file was written (temp name +
 * rename for both), so a crash or a cancel mid-write leaves at worst an orphan temp file, never a
 * half-valid entry. Appends never rewrite existing files; many small segments are compacted into one.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../shared/node/atomic-write';

export interface FeatureKeyParts {
  modelId: string;
  cutLayer: string;
  pool: string;
  inputSize: number;
  preprocess: string;
}

export function featureKey(parts: FeatureKeyParts): string {
  const text = JSON.stringify([parts.modelId, parts.cutLayer, parts.pool, parts.inputSize, parts.preprocess]);
  const safe = `${parts.modelId}-${parts.cutLayer}`.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
  return `${safe}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

export interface SegmentIndex {
  dim: number;
  hashes: string[];
}

/** Where rows are written by the caches (FeatureCache, ActivationCache); they are pushed as they come. */
export interface RowSink {
  append(entries: { hash: string; features: Float32Array }[]): Promise<void>;
}

/** The cache folder for these key parts under `root`, created with its meta.json if missing. */
export async function openCacheDir(root: string, parts: FeatureKeyParts, dim: number): Promise<string> {
  const dir = path.join(root, featureKey(parts));
  await fs.mkdir(dir, { recursive: true });
  const metaPath = path.join(dir, 'meta.json');
  try {
    await fs.access(metaPath);
  } catch {
    await writeFileAtomic(metaPath, JSON.stringify({ ...parts, dim, format: 'f32-segments-v1' }, null, 2));
  }
  return dir;
}

/** Writes rows as one new segment (data first, then its index) and returns its data and file name. */
export async function writeSegment(dir: string, dim: number, rows: { hash: string; features: Float32Array }[]): Promise<{ data: Float32Array; file: string }> {
  const data = new Float32Array(rows.length * dim);
  rows.forEach((e, i) => {
    if (e.features.length !== dim) throw new Error(`feature length ${e.features.length} != ${dim}`);
    data.set(e.features, i * dim);
  });
  const stamp = `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
  const file = path.join(dir, `seg-${stamp}.f32`);
  await writeFileAtomic(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const index: SegmentIndex = { dim, hashes: rows.map((e) => e.hash) };
  await writeFileAtomic(path.join(dir, `seg-${stamp}.json`), JSON.stringify(index));
  return { data, file };
}

/**
 * The segments of a cache folder, oldest first, whose index and data file agree with `dim`: a
 * foreign, damaged or unreadable segment is left out (a cache miss, not an error).
 */
export async function validSegments(dir: string, dim: number): Promise<{ hashes: string[]; file: string }[]> {
  const names = (await fs.readdir(dir)).filter((n) => /^seg-[\w-]+\.json$/.test(n)).sort();
  const valid: { hashes: string[]; file: string }[] = [];
  for (const name of names) {
    try {
      const index = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as SegmentIndex;
      const file = path.join(dir, name.replace(/\.json$/, '.f32'));
      const { size } = await fs.stat(file);
      if (index.dim === dim && size === index.hashes.length * dim * 4) valid.push({ hashes: index.hashes, file });
    } catch {
      // unreadable: a miss
    }
  }
  return valid;
}

export class FeatureCache implements RowSink {
  private readonly rows = new Map<string, Float32Array>();
  private segments = 0;

  private constructor(
    readonly dir: string,
    readonly dim: number,
  ) {}

  /** Open (creating if needed) the cache folder for these key parts under `root`. */
  static async open(root: string, parts: FeatureKeyParts, dim: number): Promise<FeatureCache> {
    const cache = new FeatureCache(await openCacheDir(root, parts, dim), dim);
    await cache.load();
    return cache;
  }

  private async load(): Promise<void> {
    for (const seg of await validSegments(this.dir, this.dim)) {
      try {
        const buf = await fs.readFile(seg.file);
        const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4).slice();
        seg.hashes.forEach((h, i) => this.rows.set(h, all.subarray(i * this.dim, (i + 1) * this.dim)));
        this.segments++;
      } catch {
        // An unreadable segment is a cache miss, not an error.
      }
    }
    if (this.segments > 32) await this.compact();
  }

  get size(): number {
    return this.rows.size;
  }

  has(hash: string): boolean {
    return this.rows.has(hash);
  }

  get(hash: string): Float32Array | undefined {
    return this.rows.get(hash);
  }

  /** Persist a batch of rows as one new segment (data first, then its index). */
  async append(entries: { hash: string; features: Float32Array }[]): Promise<void> {
    const fresh = entries.filter((e) => !this.rows.has(e.hash));
    if (fresh.length === 0) return;
    const { data } = await writeSegment(this.dir, this.dim, fresh);
    fresh.forEach((e, i) => this.rows.set(e.hash, data.subarray(i * this.dim, (i + 1) * this.dim)));
    this.segments++;
  }

  /** Rewrite all rows as one segment, then remove the old ones. */
  private async compact(): Promise<void> {
    const old = (await fs.readdir(this.dir)).filter((n) => /^seg-.*\.(json|f32)$/.test(n));
    const entries = [...this.rows.entries()].map(([hash, features]) => ({ hash, features }));
    this.rows.clear();
    await this.append(entries);
    const keep = new Set((await fs.readdir(this.dir)).filter((n) => !old.includes(n)));
    // Index files first, so a crash in between leaves data without index (ignored), never the reverse.
    for (const n of old.filter((n) => n.endsWith('.json') && !keep.has(n))) await fs.rm(path.join(this.dir, n), { force: true });
    for (const n of old.filter((n) => n.endsWith('.f32') && !keep.has(n))) await fs.rm(path.join(this.dir, n), { force: true });
    this.segments = 1;
  }
}
