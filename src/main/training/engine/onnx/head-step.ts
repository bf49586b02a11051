/**
 * The head's training step on ONNX Runtime: one session.run per batch of the graph in head-graph.ts
 * (forward, hand-written gradients, Adam / momentum update). The parameter vector and its optimiser
 * slots stay ONNX tensors between steps: each run's outputs are the next run's inputs.
 * Always on the CPU provider with one intra-op thread: the matrices are small, so a device copy or a
 * thread hand-off per operation would cost more than the arithmetic (measured: 2 threads used more
 * CPU per step than 1).
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import type { TrainConfig } from '../../../../shared/domain';
import { seededRandom } from '../../../../shared/random';
import { batchScore, type HeadStep, type StepResult } from '../head-step';
import { ADAM, emitHeadStep, headParamCount, headParamShapes, slotNames } from './head-graph';
import { onnxRuntime, sessionOptions } from './runtime';

/** Inverted-dropout masks (0 or 1 / (1 - rate)) for each hidden layer of n rows, seeded per layer. */
export function dropoutMasks(n: number, hidden: number[], rate: number, seed: number): Float32Array[] {
  const keep = 1 / (1 - rate);
  return hidden.map((units, l) => {
    const random = seededRandom(seed + l);
    const mask = new Float32Array(n * units);
    for (let i = 0; i < mask.length; i++) if (random() >= rate) mask[i] = keep;
    return mask;
  });
}

class OnnxHeadStepper implements HeadStep {
  readonly kind: string;
  private state: Record<string, Ort.Tensor>;
  private t = 0;
  private readonly k: number;

  constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly units: number[],
    private readonly config: TrainConfig,
    private readonly classWeights: Float32Array | null,
    flat: Float32Array,
  ) {
    this.kind = `ONNX Runtime (CPU, 1 thread)`;
    this.k = units[units.length - 1] as number;
    const count = flat.length;
    const vec = (data: Float32Array) => new ort.Tensor('float32', data, [count]);
    this.state = { flat: vec(flat) };
    for (const s of slotNames(config.optimizer)) this.state[s] = vec(new Float32Array(count));
  }

  async step(xb: Float32Array, yb: Int32Array, dropSeed: number, masks?: Float32Array[]): Promise<StepResult> {
    const { ort, k } = this;
    const n = yb.length;
    const dim = this.units[0] as number;
    const hidden = this.units.slice(1, -1);
    const rowWeight = new Float32Array(n);
    const target = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      const y = yb[i] as number;
      const w = (this.classWeights ? (this.classWeights[y] as number) : 1) / n;
      rowWeight[i] = w;
      target[i * k + y] = w;
    }
    const feeds: Record<string, Ort.Tensor> = {
      ...this.state,
      x: new ort.Tensor('float32', xb, [n, dim]),
      rowWeight: new ort.Tensor('float32', rowWeight, [n, 1]),
      target: new ort.Tensor('float32', target, [n, k]),
    };
    const rate = this.config.head.dropout;
    if (rate > 0) {
      (masks ?? dropoutMasks(n, hidden, rate, dropSeed)).forEach((m, l) => (feeds[`mask${l}`] = new ort.Tensor('float32', m, [n, hidden[l] as number])));
    }
    this.t++;
    if (this.config.optimizer === 'adam') {
      feeds['c1'] = new ort.Tensor('float32', Float32Array.of(1 - ADAM.beta1 ** this.t), []);
      feeds['c2'] = new ort.Tensor('float32', Float32Array.of(1 - ADAM.beta2 ** this.t), []);
    }
    const out = await this.session.run(feeds);
    const next: Record<string, Ort.Tensor> = {};
    for (const name of Object.keys(this.state)) next[name] = out[`${name}_out`] as Ort.Tensor;
    this.state = next;
    return batchScore((out['logp'] as Ort.Tensor).data as Float32Array, yb, k, this.classWeights);
  }

  weights(): tf.Tensor[] {
    const flat = this.state['flat']?.data as Float32Array;
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
  const spec = { units, activation: config.head.activation, dropout: config.head.dropout > 0, optimizer: config.optimizer, lr: config.lr };
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
