/**
 * A fold plan run by ONNX Runtime: emitted to ONNX (or read from the machine's cache), one
 * InferenceSession on the chosen execution provider, on its own thread (session-thread.ts), batches
 * in and out as float32 arrays.
 */
import type { InferenceInfo } from '../../../shared/domain';
import type { FoldPlan } from '../frozen/plan';
import { cachedOnnx, planKey, writeCached } from './cache';
import { emitOnnx, OnnxUnsupportedError } from './emit';
import { initOnnxRuntime, onnxRuntime, sessionOptions } from './runtime';
import { SessionThread } from './session-thread';

export interface OnnxForward {
  kind: string;
  inference: InferenceInfo;
  /** With `handOver`, `images` moves to the session's thread (session-thread.ts) and must not be used afterwards. */
  run(images: Float32Array, n: number, size: number, handOver?: boolean): Promise<{ data: Float32Array; dims: number[] }>;
  dispose(): Promise<void>;
}

export interface OnnxForwardOptions {
  pool: 'none' | 'avg';
  inputSize: number;
  /** Takes squares of this side and upscales them to inputSize in the graph (emit.ts). */
  upscaleFrom?: number;
  /** File name stem in the machine's ONNX cache (model and cut), or null: emitted in memory only. */
  cacheAs: string | null;
  /** The machine's ONNX cache folder (EngineStart's onnxCacheDir), or null: nothing cached on disk. */
  cacheDir: string | null;
  description: string;
  log?: (message: string) => void;
}

/** The plan on ONNX Runtime, or the reason it cannot run there (not loaded, a layer ONNX lacks). */
export async function onnxForward(plan: FoldPlan, options: OnnxForwardOptions): Promise<OnnxForward | { unavailable: string }> {
  const rt = await onnxRuntime();
  if (!rt) return { unavailable: (await initOnnxRuntime()).reason ?? 'onnxruntime is not available' };
  const shape = { pool: options.pool, inputSize: options.inputSize, ...(options.upscaleFrom === undefined ? {} : { upscaleFrom: options.upscaleFrom }) };
  const emit = () => emitOnnx(plan, { ...shape, description: options.description });
  const { cacheDir } = options;
  const name = cacheDir && options.cacheAs && `${options.cacheAs.replace(/[^\w.-]+/g, '_').slice(0, 80)}-${planKey(plan, shape)}`;
  let model: { bytes: Uint8Array; state: string; problem?: string };
  try {
    model = cacheDir && name ? await cachedOnnx(cacheDir, name, options.description, emit) : { bytes: emit(), state: 'memory' };
  } catch (e) {
    if (e instanceof OnnxUnsupportedError) return { unavailable: e.message };
    throw e;
  }
  if (model.problem) options.log?.(`The cached ONNX model was corrupt and has been rebuilt: ${model.problem}.`);
  const init = (bytes: Uint8Array) => SessionThread.open({ model: bytes, options: sessionOptions(rt.provider, rt.threads) });
  let session: SessionThread;
  try {
    session = await init(model.bytes);
  } catch (e) {
    if (!cacheDir || !name || model.state !== 'hit') return { unavailable: `ONNX Runtime refused the model (${(e as Error).message.split('\n')[0]})` };
    // Checksum fine but unloadable (an older emitter's graph?): replaced by a fresh one, once.
    options.log?.(`The cached ONNX model ${name} could not be loaded (${(e as Error).message.split('\n')[0]}); rebuilt.`);
    model = { bytes: await writeCached(cacheDir, name, options.description, emit()), state: 'rebuilt' };
    session = await init(model.bytes);
  }
  return {
    inference: await initOnnxRuntime(),
    kind: `onnxruntime ${rt.provider} x${rt.threads}, ${plan.nodes.length} nodes${name ? ` (cache ${model.state})` : ''}`,
    run: (images, n, size, handOver) => session.run(images, [n, size, size, images.length / (n * size * size)], handOver),
    dispose: () => session.release(),
  };
}
