/**
 * ONNX Runtime (onnxruntime-node) in the engine process: loaded once, its execution provider chosen
 * once. Automatic choice: CUDA on Linux, DirectML on Windows, CoreML on macOS, each only when a
 * probe session really starts on it (CUDA needs the provider library that a CUDA install of the
 * package downloads, and the CUDA libraries), else the CPU provider, which ships in the package.
 *   TRANSFER_STUDIO_ORT_PROVIDER=cpu|cuda|dml|coreml   forces one (falls back to cpu if it fails)
 *   TRANSFER_STUDIO_ONNXRUNTIME=off                     never loads onnxruntime (tests; the
 *                                                       TensorFlow.js path runs everything)
 *   ENGINE_THREADS                                      intra-op threads (default: all cores)
 *   TRANSFER_STUDIO_NCHWC=off                           training graphs without ONNX Runtime's
 *                                                       NCHWc convolutions (nchwcBlockSize)
 * When onnxruntime cannot load, InferenceInfo says why and frozen parts run on TensorFlow.js.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { InferenceInfo } from '../../../shared/domain';
import { emitOnnx, Graph } from './emit';
import { model, tensor } from './head-graph';

type OrtModule = typeof Ort;
type Provider = NonNullable<InferenceInfo['provider']>;

interface OrtState {
  ort: OrtModule | null;
  info: InferenceInfo;
}

let state: Promise<OrtState> | null = null;

const PLATFORM_PROVIDER: Partial<Record<NodeJS.Platform, Provider>> = { linux: 'cuda', win32: 'dml', darwin: 'coreml' };
const PROVIDERS: readonly Provider[] = ['cpu', 'cuda', 'dml', 'coreml'];

export function ortDisabled(): boolean {
  return /^(0|off|false|no)$/i.test(process.env['TRANSFER_STUDIO_ONNXRUNTIME'] ?? '');
}

function threadCount(): number {
  const env = Number(process.env['ENGINE_THREADS']);
  return env > 0 ? env : (os.availableParallelism?.() ?? os.cpus().length);
}

/** A one-node model (relu on a 2x2x3 image) that a provider must run before it is chosen. */
function probeModel(): Uint8Array {
  const shapes = new Map<number, (number | null)[]>([
    [0, [2, 2, 3]],
    [1, [2, 2, 3]],
  ]);
  return emitOnnx(
    { inputShape: [2, 2, 3], input: 0, output: 1, shapes, nodes: [{ name: 'probe', inputs: [0], output: 1, op: 'act', act: { kind: 'relu' } }] },
    { pool: 'none', inputSize: 2, description: 'provider probe' },
  );
}

export function sessionOptions(provider: Provider, threads: number): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * The CUDA provider is a separate library that only a CUDA install of onnxruntime-node downloads
 * (README: "CUDA"); without it there is nothing to probe (and ORT would log a load error).
 */
function cudaLibraryPresent(): boolean {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    const bin = path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return true; // cannot tell: let the probe decide
  }
}

async function probe(ort: OrtModule, provider: Provider, threads: number): Promise<void> {
  if (provider === 'cuda' && !cudaLibraryPresent()) throw new Error('onnxruntime-node was installed without its CUDA provider');
  const session = await ort.InferenceSession.create(probeModel(), { ...sessionOptions(provider, threads), logSeverityLevel: 4 });
  try {
    const x = new ort.Tensor('float32', Float32Array.from({ length: 12 }, (_, i) => i - 6), [1, 2, 2, 3]);
    const out = (await session.run({ input: x }))['output'];
    if (!out || (out.data as Float32Array)[0] !== 0) throw new Error('the probe model gave a wrong result');
  } finally {
    await session.release();
  }
}

async function load(log: (m: string) => void): Promise<OrtState> {
  if (ortDisabled()) return { ort: null, info: { runtime: 'tfjs', reason: 'onnxruntime is turned off (TRANSFER_STUDIO_ONNXRUNTIME=off)' } };
  let ort: OrtModule;
  try {
    const mod = (await import('onnxruntime-node')) as OrtModule & { default?: OrtModule };
    ort = mod.InferenceSession ? mod : (mod.default as OrtModule);
  } catch (e) {
    const reason = `onnxruntime-node could not be loaded (${(e as Error).message.split('\n')[0]})`;
    log(reason);
    return { ort: null, info: { runtime: 'tfjs', reason } };
  }
  const threads = threadCount();
  const forced = (process.env['TRANSFER_STUDIO_ORT_PROVIDER'] ?? 'auto').toLowerCase();
  const wanted = (PROVIDERS as readonly string[]).includes(forced) ? (forced as Provider) : (PLATFORM_PROVIDER[process.platform] ?? 'cpu');
  const tried: string[] = [];
  for (const provider of wanted === 'cpu' ? (['cpu'] as Provider[]) : [wanted, 'cpu' as const]) {
    try {
      await probe(ort, provider, threads);
      const note = tried.length ? { note: tried.join('; ') } : {};
      return { ort, info: { runtime: 'onnxruntime', provider, threads, version: ort.env.versions?.node ?? 'unknown', ...note } };
    } catch (e) {
      const msg = `the ${provider} execution provider did not start (${(e as Error).message.split('\n')[0]})`;
      tried.push(msg);
      if (forced !== 'auto') log(msg);
    }
  }
  const reason = `onnxruntime-node loaded but no execution provider started: ${tried.join('; ')}`;
  log(reason);
  return { ort: null, info: { runtime: 'tfjs', reason } };
}

/**
 * A one-node model: ONNX Runtime's ReorderInput (com.microsoft.nchwc) of a [1, 4, 1, 1] tensor,
 * whose output has the channels rounded up to MLAS' NCHWc block.
 */
function blockProbeModel(): Uint8Array {
  const g = new Graph();
  g.nodes.push({ name: 'reorder', opType: 'ReorderInput', input: ['input'], output: ['output'], attribute: [], domain: 'com.microsoft.nchwc' });
  return model('nchwc_probe', g, [tensor('input', [1, 4, 1, 1])], ['output'], 'NCHWc block probe');
}

let blockProbe: Promise<number> | null = null;

/**
 * The NCHWc block of this machine's MLAS build (8 with AVX2, 16 with AVX-512), which the training
 * graphs' blocked convolutions (onnx/train/nchwc.ts) are written for: what ONNX Runtime's own
 * ReorderInput does to four channels. 0 when its NCHWc kernels are absent (the op is refused:
 * a CPU without AVX2, an ARM build), on another provider than the CPU's, or with
 * TRANSFER_STUDIO_NCHWC=off: the graphs then use standard ONNX convolutions.
 */
export function nchwcBlockSize(): Promise<number> {
  blockProbe ??= (async () => {
    if (/^(0|off|false|no)$/i.test(process.env['TRANSFER_STUDIO_NCHWC'] ?? '')) return 0;
    const rt = await onnxRuntime();
    if (!rt || rt.provider !== 'cpu') return 0;
    try {
      const session = await rt.ort.InferenceSession.create(blockProbeModel(), { ...sessionOptions('cpu', 1), logSeverityLevel: 4 });
      try {
        const out = (await session.run({ input: new rt.ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [1, 4, 1, 1]) }))['output'];
        const block = Number(out?.dims[1] ?? 0);
        const data = out?.data as Float32Array | undefined;
        // Blocked [1, 1, 1, 1, block]: the four channels then zeros.
        return block >= 4 && (block & (block - 1)) === 0 && data?.[3] === 4 ? block : 0;
      } finally {
        await session.release();
      }
    } catch {
      return 0;
    }
  })();
  return blockProbe;
}

/** Loads onnxruntime and picks the provider once per process; later calls return the same answer. */
export async function initOnnxRuntime(log: (m: string) => void = () => undefined): Promise<InferenceInfo> {
  state ??= load(log);
  return (await state).info;
}

/** The loaded module and its provider, or null when frozen parts must run on TensorFlow.js. */
export async function onnxRuntime(): Promise<{ ort: OrtModule; provider: Provider; threads: number } | null> {
  const s = await (state ??= load(() => undefined));
  if (!s.ort || s.info.runtime !== 'onnxruntime') return null;
  return { ort: s.ort, provider: s.info.provider ?? 'cpu', threads: s.info.threads ?? 1 };
}
