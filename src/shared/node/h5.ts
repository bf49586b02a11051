/**
 * HDF5 files (Keras weights and models) read through h5wasm, the HDF5 C library compiled to
 * WebAssembly: never parsed by hand. This module turns the library's error stacks into the
 * studio's specific errors (not HDF5, truncated) and gives the few typed reads Keras files need.
 * Pure Node (no TensorFlow.js): the host inspects files with it, the engine loads weights with it.
 */
import fs from 'node:fs';
import type { Dataset, Group, File as H5File } from 'h5wasm/node';
import { ModelError } from '../model-errors';

type H5Wasm = (typeof import('h5wasm/node'))['default'];
let h5wasm: H5Wasm | null = null;
let readyPromise: Promise<H5Wasm> | null = null;

/**
 * h5wasm (4 MB of JavaScript and WebAssembly) is loaded on first use, not when the CLI or the app
 * starts; HDF5 errors then throw (with the library's stack) instead of printing.
 */
async function ready(): Promise<H5Wasm> {
  readyPromise ??= import('h5wasm/node').then(async (mod) => {
    const m = await mod.default.ready;
    (m as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
    h5wasm = mod.default;
    return mod.default;
  });
  return readyPromise;
}

/** The loaded library (every caller holds a file opened through openH5, so it is loaded). */
function lib(): H5Wasm {
  if (!h5wasm) throw new Error('h5wasm is used before a file was opened');
  return h5wasm;
}

/** HDF5's error stack as the studio's message about `file`. */
function openError(file: string, err: unknown): ModelError {
  const text = String((err as Error)?.message ?? err);
  if (/truncated file|File has been truncated/i.test(text)) {
    const m = /eof = (\d+).*stored_eof = (\d+)/.exec(text);
    const sizes = m ? ` (${m[1]} bytes of the ${m[2]} it declares)` : '';
    return new ModelError('MODEL_FILE_TRUNCATED', `${file} is a truncated HDF5 file${sizes}: the download or copy did not finish. Get the file again.`, { file });
  }
  if (/signature not found|Not an HDF5 file/i.test(text)) {
    return new ModelError('MODEL_NOT_HDF5', `${file} is not an HDF5 file, so it is not a Keras .h5 model or weights file.`, { file });
  }
  return new ModelError('MODEL_LOAD_FAILED', `${file} could not be read as HDF5: ${text.split('\n').filter((l) => /minor:|error/i.test(l)).slice(-1)[0]?.trim() ?? text.slice(0, 200)}`, { file });
}

/** Opens an HDF5 file for reading (or writing, tests), with specific errors for a missing, non-HDF5 or truncated file. */
export async function openH5(file: string, mode: 'r' | 'w' = 'r'): Promise<H5File> {
  const h5 = await ready();
  if (mode === 'r' && !fs.existsSync(file)) throw new ModelError('MODEL_DIR_MISSING', `${file} does not exist.`, { file });
  try {
    return new h5.File(file, mode);
  } catch (err) {
    throw openError(file, err);
  }
}

/** Runs `fn` on the open file and closes it whatever happens. */
export async function withH5<T>(file: string, fn: (f: H5File) => T | Promise<T>): Promise<T> {
  const f = await openH5(file);
  try {
    return await fn(f);
  } finally {
    f.close();
  }
}

/** A child group, or null (h5wasm's get throws for a missing path once HDF5 errors throw). */
export function childGroup(g: Group, name: string): Group | null {
  try {
    const e = g.get(name);
    return e instanceof lib().Group ? e : null;
  } catch {
    return null;
  }
}

export function childDataset(g: Group, name: string): Dataset | null {
  try {
    const e = g.get(name);
    return e instanceof lib().Dataset ? e : null;
  } catch {
    return null;
  }
}

export function hasAttr(g: Group, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(g.attrs, name);
}

/** A string attribute (h5py writes variable-length or fixed-length strings; both come back as text). */
export function stringAttr(g: Group, name: string): string | null {
  if (!hasAttr(g, name)) return null;
  const v = g.get_attribute(name, true);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return null;
}

/** A list-of-strings attribute (Keras' layer_names and weight_names). */
export function stringListAttr(g: Group, name: string): string[] | null {
  if (!hasAttr(g, name)) return null;
  const v = g.get_attribute(name, true);
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flat(8).map(String);
  return null;
}

/** A float dataset as float32 values with its shape; other dtypes are refused, naming the weight. */
export function readFloats(d: Dataset, what: string): { shape: number[]; values: Float32Array } {
  const shape = d.shape ?? [];
  const v = d.value;
  if (v instanceof Float32Array) return { shape, values: v };
  if (v instanceof Float64Array) return { shape, values: Float32Array.from(v) };
  if (typeof v === 'number') return { shape, values: Float32Array.of(v) };
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return { shape, values: Float32Array.from(v, (x) => Number(x)) };
  if (v instanceof Int32Array || v instanceof Uint32Array || v instanceof Int16Array || v instanceof Uint8Array) return { shape, values: Float32Array.from(v) };
  if (typeof v === 'bigint') return { shape, values: Float32Array.of(Number(v)) };
  throw new ModelError('MODEL_LOAD_FAILED', `The weight ${what} has the HDF5 type ${JSON.stringify(d.dtype)}, which the studio cannot read (float32 or float64 expected).`, { weight: what });
}
