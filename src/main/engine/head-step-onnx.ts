/**
 * The head's training step on ONNX Runtime: one session.run per batch of the graph in head-graph.ts
 * (forward and hand-written gradients), then the optimiser's update in one pass over the flat
 * parameter vector (Adam in WebAssembly SIMD, adam-simd.ts; momentum, or Adam without SIMD, in a
 * JavaScript loop), with the mathematics of tf.train.adam / tf.train.momentum (as head-step.ts).
 * Always on the CPU provider with one intra-op thread: the matrices are small, so a device copy or a
 * thread hand-off per operation would cost more than the arithmetic (measured on 2 loaded cores:
 * 2 threads used more CPU per step than 1).
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import type { TrainConfig } from '../../shared/domain';
import { seededRandom } from '../../shared/random';
import { batchScore, type HeadStep, type StepResult } from './head-step';
import { ADAM, adamSimd, type AdamSimd } from './onnx/adam-simd';
import { emitHeadStep, headParamCount, headParamShapes } from './onnx/head-graph';
import { onnxRuntime, sessionOptions } from './onnx/runtime';

/**
 * Inverted-dropout masks (0 or 1 / (1 - rate)) for each hidden layer of n rows, seeded per layer.
 * Each 32-bit draw decides two units (16 bits each: the rate is kept to 1 / 65,536).
 */
export function dropoutMasks(n: number, hidden: number[], rate: number, seed: number): Float32Array[] {
  const keep = 1 / (1 - rate);
  const threshold = Math.round(rate * 65536);
  return hidden.map((units, l) => {
    const random = seededRandom(seed + l);
    const mask = new Float32Array(n * units);
    for (let i = 0; i < mask.length; i += 2) {
      const r = (random() * 4294967296) >>> 0;
      if ((r & 0xffff) >= threshold) mask[i] = keep;
      if (r >>> 16 >= threshold && i + 1 < mask.length) mask[i + 1] = keep;
    }
    return mask;
  });
}

/**
 * The loss inputs of the ONNX training graphs (head-graph.ts): rowWeight [n, 1] = w_y / n and target
 * [n, k] = onehot(y) w_y / n, w_y the class weight (1 without). `rows` (>= n) pads with zero rows,
 * which add nothing to the loss or any gradient.
 */
export function lossTargets(yb: Int32Array, k: number, classWeights: Float32Array | null, rows = yb.length): { rowWeight: Float32Array; target: Float32Array } {
  const n = yb.length;
  const rowWeight = new Float32Array(rows);
  const target = new Float32Array(rows * k);
  for (let i = 0; i < n; i++) {
    const y = yb[i] as number;
    const w = (classWeights ? (classWeights[y] as number) : 1) / n;
    rowWeight[i] = w;
    target[i * k + y] = w;
  }
  return { rowWeight, target };
}

const MOMENTUM = 0.9;

/** Optimiser state of the flat parameter vector: step count and slots (m, and v for Adam). */
export interface OptimizerState {
  t: number;
  m: Float32Array;
  v: Float32Array | null;
}

/**
 * One update of `flat` in place from `grad`, in a single pass. Adam: m = b1 m + (1 - b1) g;
 * v = b2 v + (1 - b2) g^2; p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). Momentum:
 * m = 0.9 m + g; p -= lr m.
 */
export function optimizerUpdate(flat: Float32Array, grad: Float32Array, s: OptimizerState, optimizer: TrainConfig['optimizer'], lr: number): void {
  const { m, v } = s;
  s.t++;
  if (optimizer === 'sgd' || !v) {
    for (let i = 0; i < flat.length; i++) {
      const mi = MOMENTUM * (m[i] as number) + (grad[i] as number);
      m[i] = mi;
      flat[i] = (flat[i] as number) - lr * mi;
    }
    return;
  }
  adamUpdate(flat, grad, m, v, lr / (1 - ADAM.beta1 ** s.t), 1 / Math.sqrt(1 - ADAM.beta2 ** s.t));
}

/** The Adam loop on its own, with only numbers and typed arrays in scope (V8 keeps it tight). */
function adamUpdate(flat: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, a: number, ic2: number): void {
  // lr (m / c1) / (sqrt(v / c2) + eps) with a = lr / c1 and ic2 = 1 / sqrt(c2): one sqrt, one division.
  const { beta1: b1, beta2: b2, epsilon } = ADAM;
  const n = flat.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i] as number;
    const mi = b1 * (m[i] as number) + (1 - b1) * g;
    const vi = b2 * (v[i] as number) + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    flat[i] = (flat[i] as number) - (a * mi) / (Math.sqrt(vi) * ic2 + epsilon);
  }
}

class OnnxHeadStepper implements HeadStep {
  readonly kind = 'ONNX Runtime (CPU, 1 thread)';
  private readonly opt: OptimizerState;
  private readonly k: number;
  /** Adam in WebAssembly SIMD (the parameters live in its memory), else the JavaScript loop. */
  private readonly simd: AdamSimd | null;
  private readonly flat: Float32Array;

  constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly units: number[],
    private readonly config: TrainConfig,
    private readonly classWeights: Float32Array | null,
    initial: Float32Array,
  ) {
    this.k = units[units.length - 1] as number;
    this.simd = config.optimizer === 'adam' ? adamSimd(initial.length) : null;
    this.flat = this.simd?.flat ?? initial;
    this.flat.set(initial);
    const slot = () => new Float32Array(this.simd ? 0 : initial.length);
    this.opt = { t: 0, m: slot(), v: config.optimizer === 'adam' ? slot() : null };
  }

  async step(xb: Float32Array, yb: Int32Array, dropSeed: number, masks?: Float32Array[]): Promise<StepResult> {
    const { ort, k } = this;
    const n = yb.length;
    const dim = this.units[0] as number;
    const hidden = this.units.slice(1, -1);
    const { rowWeight, target } = lossTargets(yb, k, this.classWeights);
    const feeds: Record<string, Ort.Tensor> = {
      flat: new ort.Tensor('float32', this.flat, [this.flat.length]),
      x: new ort.Tensor('float32', xb, [n, dim]),
      rowWeight: new ort.Tensor('float32', rowWeight, [n, 1]),
      target: new ort.Tensor('float32', target, [n, k]),
    };
    const rate = this.config.head.dropout;
    if (rate > 0) {
      (masks ?? dropoutMasks(n, hidden, rate, dropSeed)).forEach((m, l) => (feeds[`mask${l}`] = new ort.Tensor('float32', m, [n, hidden[l] as number])));
    }
    const out = await this.session.run(feeds);
    const grad = (out['grad'] as Ort.Tensor).data as Float32Array;
    if (this.simd) {
      const t = ++this.opt.t;
      this.simd.grad.set(grad);
      this.simd.update(this.config.lr / (1 - ADAM.beta1 ** t), 1 / Math.sqrt(1 - ADAM.beta2 ** t));
    } else {
      optimizerUpdate(this.flat, grad, this.opt, this.config.optimizer, this.config.lr);
    }
    return batchScore((out['logp'] as Ort.Tensor).data as Float32Array, yb, k, this.classWeights);
  }

  /** The step's graph as a forward pass: no dropout (masks of ones), zero loss weights (its gradient unused). */
  async logProbs(x: Float32Array, n: number): Promise<Float32Array> {
    const { ort, k } = this;
    const hidden = this.units.slice(1, -1);
    const feeds: Record<string, Ort.Tensor> = {
      flat: new ort.Tensor('float32', this.flat, [this.flat.length]),
      x: new ort.Tensor('float32', x, [n, this.units[0] as number]),
      rowWeight: new ort.Tensor('float32', new Float32Array(n), [n, 1]),
      target: new ort.Tensor('float32', new Float32Array(n * k), [n, k]),
    };
    if (this.config.head.dropout > 0) hidden.forEach((u, l) => (feeds[`mask${l}`] = new ort.Tensor('float32', new Float32Array(n * u).fill(1), [n, u])));
    return (await this.session.run(feeds, ['logp']))['logp']?.data as Float32Array;
  }

  weights(): tf.Tensor[] {
    const flat = this.flat;
    let offset = 0;
    return headParamShapes(this.units).map((shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const w = tf.tensor(flat.slice(offset, offset + size), shape);
      offset += size;
      return w;
    });
  }

  dispose(): void {
    void this.session.release().catch(() => undefined);
  }
}

/**
 * The head's step on ONNX Runtime from its initial weights (kernel, bias per dense layer), or the
 * reason it cannot run there (onnxruntime not loaded or turned off: the caller uses TensorFlow.js).
 */
export async function onnxHeadStep(
  initial: Float32Array[],
  units: number[],
  config: TrainConfig,
  classWeights: Float32Array | null,
): Promise<HeadStep | { unavailable: string }> {
  const rt = await onnxRuntime();
  if (!rt) return { unavailable: 'onnxruntime is not available' };
  const spec = { units, activation: config.head.activation, dropout: config.head.dropout > 0 };
  let session: Ort.InferenceSession;
  try {
    session = await rt.ort.InferenceSession.create(emitHeadStep(spec), sessionOptions('cpu', 1));
  } catch (e) {
    return { unavailable: `ONNX Runtime refused the head's training graph (${(e as Error).message.split('\n')[0]})` };
  }
  const flat = new Float32Array(headParamCount(units));
  let offset = 0;
  for (const w of initial) {
    flat.set(w, offset);
    offset += w.length;
  }
  return new OnnxHeadStepper(rt.ort, session, units, config, classWeights, flat);
}
