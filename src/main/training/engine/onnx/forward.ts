/**
 * A fold plan run by ONNX Runtime: emitted to ONNX (or read from the machine's cache), one
 * InferenceSession on the chosen execution provider, batches in and out as float32 arrays.
 */
import type * as Ort from 'onnxruntime-node';
import type { InferenceInfo } from '../../../../shared/domain';
import type { FoldPlan } from '../frozen/plan';
import { cachedOnnx, onnxCacheDir, planKey, writeCached } from './cache';
import { emitOnnx, OnnxUnsupportedError } from './emit';
import { initOnnxRuntime, onnxRuntime, sessionOptions } from './runtime';

export interface OnnxForward {
  kind: string;
  inference: InferenceInfo;
  run(images: Float32Array, n: number, size: number): Promise<{ data: Float32Array; dims: number[] }>;
  dispose(): Promise<void>;
}

export interface OnnxForwardOptions {
  pool: 'none' | 'avg';
  inputSize: number;
  /** File name stem in the machine's ONNX cache (model and cut), or null: emitted in memory only. */
  cacheAs: string | null;
  description: string;
  log?: (message: string) => void;
}

/** The plan on ONNX Runtime, or the reason it cannot run there (not loaded, a layer ONNX lacks). */
export async function onnxForward(plan: FoldPlan, options: OnnxForwardOptions): Promise<OnnxForward | { unavailable: string }> {
  const rt = await onnxRuntime();
  if (!rt) return { unavailable: (await initOnnxRuntime()).reason ?? 'onnxruntime is not available' };
  const emit = () => emitOnnx(plan, { pool: options.pool, inputSize: options.inputSize, description: options.description });
  const name = options.cacheAs && `${options.cacheAs.replace(/[^\w.-]+/g, '_').slice(0, 80)}-${planKey(plan, { pool: options.pool, inputSize: options.inputSize })}`;
  let model: { bytes: Uint8Array; state: string; problem?: string };
  try {
    model = name ? await cachedOnnx(onnxCacheDir(), name, options.description, emit) : { bytes: emit(), state: 'memory' };
  } catch (e) {
    if (e instanceof OnnxUnsupportedError) return { unavailable: e.message };
    throw e;
  }
  if (model.problem) options.log?.(`The cached ONNX model was corrupt and has been rebuilt: ${model.problem}.`);
  const opts = sessionOptions(rt.provider, rt.threads);
  let session: Ort.InferenceSession;
  try {
    session = await rt.ort.InferenceSession.create(model.bytes, opts);
  } catch (e) {
    if (!name || model.state !== 'hit') return { unavailable: `ONNX Runtime refused the model (${(e as Error).message.split('\n')[0]})` };
    // Checksum fine but unloadable (an older emitter's graph?): replaced by a fresh one, once.
    options.log?.(`The cached ONNX model ${name} could not be loaded (${(e as Error).message.split('\n')[0]}); rebuilt.`);
    model = { bytes: await writeCached(onnxCacheDir(), name, options.description, emit()), state: 'rebuilt' };
    session = await rt.ort.InferenceSession.create(model.bytes, opts);
  }
  const ort = rt.ort;
  return {
    inference: await initOnnxRuntime(),
    kind: `onnxruntime ${rt.provider} x${rt.threads}, ${plan.nodes.length} nodes${name ? ` (cache ${model.state})` : ''}`,
    run: async (images, n, size) => {
      const input = new ort.Tensor('float32', images, [n, size, size, images.length / (n * size * size)]);
      const out = (await session.run({ input }))['output'] as Ort.Tensor;
      const data = out.data as Float32Array;
      return { data, dims: out.dims.map(Number) };
    },
    dispose: () => session.release(),
  };
}
