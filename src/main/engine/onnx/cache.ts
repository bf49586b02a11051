/**
 * The emitted ONNX models of frozen parts, cached once per machine beside the installed models
 * (<userData>/models/.onnx/, a dot folder the model library does not list; the host names it when
 * it starts the engine, EngineStart): one
 * <model>-<cut>-<key>.onnx per plan, whose key hashes everything the graph is made of (weights,
 * operations, pooling, input size, emitter version), with <same>.json holding the file's sha256
 * and size. A file that does not match its checksum (torn write, disk fault, tampering) is
 * reported and rebuilt; both files are written under temp names and renamed, the .json last.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../../shared/node/atomic-write';
import { sha256 } from '../../../shared/node/folder-hash';
import type { FoldPlan } from '../frozen/plan';
import { EMITTER_VERSION } from './emit';

/** A content key of the plan as it would be emitted. */
export function planKey(plan: FoldPlan, extra: Record<string, unknown>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ emitter: EMITTER_VERSION, input: plan.inputShape, output: plan.output, ...extra }));
  for (const n of plan.nodes) {
    // Structure as JSON (weights by length, a 'layer' node by its name), then the weights' bytes.
    h.update(JSON.stringify(n, (k, v: unknown) => (v instanceof Float32Array ? v.length : k === 'layer' ? n.name : v)));
    for (const v of Object.values(n)) if (v instanceof Float32Array) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest('hex').slice(0, 24);
}

interface CacheMeta {
  sha256: string;
  bytes: number;
  emitter: string;
  description: string;
}

export interface CachedModel {
  file: string;
  bytes: Uint8Array;
  /** 'hit', 'built' (not there) or 'rebuilt' (there but corrupt). */
  state: 'hit' | 'built' | 'rebuilt';
  problem?: string;
}

/** The cached model `name` from `dir`, checked against its checksum; `build` makes it when missing or corrupt. */
export async function cachedOnnx(dir: string, name: string, description: string, build: () => Uint8Array): Promise<CachedModel> {
  const file = path.join(dir, `${name}.onnx`);
  const metaFile = path.join(dir, `${name}.json`);
  let problem: string | undefined;
  try {
    const meta = JSON.parse(await fs.readFile(metaFile, 'utf8')) as CacheMeta;
    const bytes = new Uint8Array(await fs.readFile(file));
    if (bytes.length !== meta.bytes) problem = `${file} has ${bytes.length} bytes, ${meta.bytes} were written`;
    else if (sha256(bytes) !== meta.sha256) problem = `${file} does not match its checksum`;
    else return { file, bytes, state: 'hit' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problem = `${file} could not be read (${(e as Error).message})`;
  }
  const bytes = await writeCached(dir, name, description, build());
  return { file, bytes, state: problem ? 'rebuilt' : 'built', ...(problem ? { problem } : {}) };
}

/** Writes model `name` and its checksum file (the checksum last, so a crash leaves no stale one). */
export async function writeCached(dir: string, name: string, description: string, bytes: Uint8Array): Promise<Uint8Array> {
  const file = path.join(dir, `${name}.onnx`);
  const metaFile = path.join(dir, `${name}.json`);
  await fs.mkdir(dir, { recursive: true });
  await fs.rm(metaFile, { force: true });
  await writeFileAtomic(file, bytes);
  const meta: CacheMeta = { sha256: sha256(bytes), bytes: bytes.length, emitter: EMITTER_VERSION, description };
  await writeFileAtomic(metaFile, JSON.stringify(meta, null, 2));
  return bytes;
}
