/**
 * The frozen part of a pretrained network (input .. cut layer), run for inference only, behind one
 * interface: a batch of images in, a batch of rows out. The part becomes a fold plan (frozen/plan.ts:
 * BatchNorm folded, activations fused, any DAG), which runs
 *  - on ONNX Runtime (onnx/) where it loads and can express every node: `frozenForward` picks it;
 *  - else on TensorFlow.js (`foldedForward`, frozen/tfjs-plan.ts), with the reason in `kind`.
 * `layersForward` (the tf.layers model truncated at the cut) is the reference both are tested against.
 * Frozen BatchNorm always runs in inference mode here (moving statistics), never batch statistics.
 */
import * as tf from '@tensorflow/tfjs';
import type { InferenceInfo } from '../../shared/domain';
import { requireLayer } from './model-layers';
import { engineStartOf } from './protocol';
import { onnxForward, type OnnxForward } from './onnx/forward';
import { buildFoldPlan, unfoldedLayers, type FoldPlan } from './frozen/plan';
import { TfPlan } from './frozen/tfjs-plan';

export interface FrozenForward {
  /** Output shape of one image, e.g. [256] or [7, 7, 256]. */
  readonly outputShape: number[];
  /** Which runtime runs it and how (for logs, benchmarks and the run record's frozenKind). */
  readonly kind: string;
  /** The runtime as the run record shows it (ONNX Runtime's provider and threads, or why TensorFlow.js). */
  readonly inference: InferenceInfo;
  /**
   * n images [n, size, size, 3] (NHWC, scaled to the model's input range) -> n rows, row-major.
   * `handOver`: the caller is done with `images`, which may then move to ONNX Runtime's thread
   * without a copy (it must not be used afterwards).
   */
  runBatch(images: Float32Array, n: number, size: number, handOver?: boolean): Promise<Float32Array>;
  /**
   * ONNX Runtime only: n squares [n, side, side, 3] (side <= the input size, already scaled), which
   * the runtime upscales to the input size itself (preprocess.ts' upscale, in the graph); equal to
   * runBatch on the upscaled images. One such model is kept, for the last side seen.
   */
  runSquares?(squares: Float32Array, n: number, side: number, handOver?: boolean): Promise<Float32Array>;
  dispose(): void;
}

/** runSquares could not build its model (nothing was run, the squares are still the caller's). */
export class SquaresUnavailableError extends Error {}

/** A frozen part on TensorFlow.js, which can also run on tensors (the trainable net's input). */
export interface TfForward extends FrozenForward {
  /** Run a batch [N, H, W, 3]; the caller disposes the result. */
  run(batch: tf.Tensor4D): tf.Tensor;
}

export type Pooling = 'none' | 'avg';

export interface FrozenOptions {
  /** Global average pooling appended when the cut layer's output is 4-D ('avg'), or not. */
  pool?: Pooling;
}

function cutShape(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape;
  const first = (Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
  return first.slice(1).map((d) => d ?? -1);
}

function pooledShape(shape: number[], pool: Pooling): number[] {
  return pool === 'avg' && shape.length === 3 ? [shape[2] ?? -1] : shape;
}

function maybePool(y: tf.Tensor, pool: Pooling): tf.Tensor {
  return pool === 'avg' && y.rank === 4 ? tf.mean(y, [1, 2]) : y;
}

function tfForward(outputShape: number[], kind: string, reason: string, run: (batch: tf.Tensor4D) => tf.Tensor, dispose: () => void): TfForward {
  return {
    outputShape,
    kind,
    inference: { runtime: 'tfjs', reason },
    run,
    runBatch: async (images, n, size) => {
      const out = tf.tidy(() => run(tf.tensor4d(images, [n, size, size, images.length / (n * size * size)])));
      const data = (await out.data()) as Float32Array;
      out.dispose();
      return data;
    },
    dispose,
  };
}

/** The reference path: the layers model truncated at the cut layer. */
export function layersForward(model: tf.LayersModel, cutLayer: string, options: FrozenOptions = {}): TfForward {
  const pool = options.pool ?? 'avg';
  const layer = requireLayer(model, cutLayer);
  const truncated = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  return tfForward(
    pooledShape(cutShape(layer), pool),
    'layers',
    'the layers model was asked for',
    (batch) => tf.tidy(() => maybePool(truncated.predict(batch) as tf.Tensor, pool)),
    () => undefined, // shares the weights of `model`, which the caller owns
  );
}

function planOf(model: tf.LayersModel, cutLayer: string): { plan: FoldPlan; shape: number[] } {
  const cut = requireLayer(model, cutLayer);
  return { plan: buildFoldPlan(model, cutLayer), shape: cutShape(cut) };
}

function tfPlanForward(plan: FoldPlan, shape: number[], pool: Pooling, reason: string): TfForward {
  const runner = new TfPlan(plan);
  const unfolded = unfoldedLayers(plan);
  const kind = `folded${unfolded.length ? ` (${unfolded.length} layers unfolded: ${unfolded.join(', ')})` : ''}`;
  return tfForward(pooledShape(shape, pool), kind, reason, (batch) => tf.tidy(() => maybePool(runner.run(batch), pool)), () => runner.dispose());
}

/** The fold plan up to `cutLayer` on TensorFlow.js (BatchNorm folded, conv + bias + activation fused). */
export function foldedForward(model: tf.LayersModel, cutLayer: string, options: FrozenOptions = {}): TfForward {
  const { plan, shape } = planOf(model, cutLayer);
  return tfPlanForward(plan, shape, options.pool ?? 'avg', 'the TensorFlow.js path was asked for');
}

export interface ForwardOptions extends FrozenOptions {
  /** Input height = width (default: the model's own). */
  inputSize?: number;
  /** Name of the ONNX file in the machine's cache (e.g. the model's), or null: not cached (a run's own weights). */
  cacheAs: string | null;
  log?: (message: string) => void;
}

/**
 * The frozen part on the fastest runtime: ONNX Runtime where it loaded and can express every node,
 * else TensorFlow.js (kind says why). outputShape is measured at the requested input size.
 */
export async function frozenForward(model: tf.LayersModel, cutLayer: string, options: ForwardOptions): Promise<FrozenForward> {
  const pool = options.pool ?? 'avg';
  const { plan, shape } = planOf(model, cutLayer);
  const declared = model.inputs[0]?.shape[1];
  const size = options.inputSize ?? (typeof declared === 'number' ? declared : 224);
  const channels = plan.inputShape[2] ?? 3;
  const onnxOptions = {
    pool,
    inputSize: size,
    cacheAs: options.cacheAs && `${options.cacheAs}-${cutLayer}-${pool}-${size}`,
    cacheDir: engineStartOf(process.env).onnxCacheDir ?? null,
    description: `${model.name} from its input to ${cutLayer}, pooling ${pool}, ${size}x${size}`,
    ...(options.log ? { log: options.log } : {}),
  };
  const ort = await onnxForward(plan, onnxOptions);
  let forward: FrozenForward;
  if ('unavailable' in ort) {
    forward = tfPlanForward(plan, shape, pool, ort.unavailable);
  } else {
    let squares: { side: number; forward: Promise<OnnxForward | { unavailable: string }> } | null = null;
    const dropSquares = () => void squares?.forward.then((f) => ('unavailable' in f ? undefined : f.dispose()));
    const squaresOf = (side: number) => {
      if (squares?.side !== side) {
        dropSquares();
        squares = { side, forward: onnxForward(plan, { ...onnxOptions, upscaleFrom: side }) };
      }
      return squares.forward;
    };
    forward = {
      outputShape: pooledShape(shape, pool),
      kind: ort.kind,
      inference: ort.inference,
      runBatch: async (images, n, sz, handOver) => (await ort.run(images, n, sz, handOver)).data,
      runSquares: async (images, n, side, handOver) => {
        const f = await squaresOf(side);
        if ('unavailable' in f) throw new SquaresUnavailableError(`ONNX Runtime cannot upscale ${side}x${side} images in its graph (${f.unavailable}); they are upscaled in JavaScript instead.`);
        return (await f.run(images, n, side, handOver)).data;
      },
      dispose: () => {
        void ort.dispose();
        dropSquares();
      },
    };
  }
  if (size === declared) return forward;
  // Another input size: the declared shapes do not hold; one zero image says what comes out.
  const probe = await forwardShape(forward, size, channels);
  return { ...forward, outputShape: probe };
}

async function forwardShape(forward: FrozenForward, size: number, channels: number): Promise<number[]> {
  const out = await forward.runBatch(new Float32Array(size * size * channels), 1, size);
  const s = forward.outputShape;
  if (s.length !== 3) return s.map((d) => (d === -1 ? out.length : d));
  // Spatial dims scale with the input; channels stay.
  const c = s[2] ?? 1;
  const hw = out.length / c;
  const h = Math.round(Math.sqrt(hw));
  return [h, hw / h, c];
}
