/**
 * The trainable part of a pretrained network (scenarios 2-4): the sub-graph from the freeze
 * boundary's output (or the network's input) to the cut layer's output, with every skip
 * connection, squeeze-excite multiply and branch in between, run by our own forward so that
 * BatchNorm does what the plan says. tfjs' BatchNormalization normalises with batch statistics
 * and moves its averages in training even when trainable=false; here a BatchNorm layer is either
 *  - 'inference' mode (default): a fixed affine op from the moving statistics, y = x*s + b with
 *    s = gamma/sqrt(var+eps), b = beta - mean*s; gamma and beta train, the statistics never move;
 *  - 'batch' mode (trainBatchNorm, and scenario 3 which has no statistics to keep): batch
 *    statistics in training, and the moving averages updated after each step.
 * The variables are the cloned model's own LayerVariables, so the trained clone is the model
 * that is saved. Convolutions and dense layers are plain ops (not the fused ones: their gradients
 * only support linear/relu); weightless layers are the fold plan's ops (frozen/plan.ts layerOp,
 * the same definitions the frozen part runs), fixed-weight ones (Keras' Normalization) too.
 * Also used, in inference mode, to run a pretrained network's own classifier from a cut on.
 */
import * as tf from '@tensorflow/tfjs';
import { activationNamed, GraphWalker, layerOp, outputTensor, type InboundNode } from './frozen/plan';
import { applyActivation, stepOf } from './frozen/tfjs-plan';

export type BatchNormMode = 'inference' | 'batch';

export interface TrainableNet {
  /** The weights that train (kernels, biases, BatchNorm gamma/beta), never the moving statistics. */
  readonly variables: tf.Variable[];
  /** Every layer of the part in the order it runs (He initialisation, the memory estimate). */
  readonly layers: tf.layers.Layer[];
  /** Size of the pooled output that feeds the head. */
  readonly outputDim: number;
  /** Pooled features [N, outputDim]; `training` selects batch statistics for 'batch'-mode BatchNorm. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor2D;
  /** Moves the moving averages by the statistics of the last training forward ('batch' mode). */
  commitStatistics(): void;
  /** Frees the constants the part uploaded (not the model's variables). */
  dispose(): void;
}

export class UnsupportedLayerError extends Error {}
/** The freeze boundary is not a cut of the graph: a path from the input reaches the output without crossing it. */
export class NotACutError extends Error {}

export interface PartOptions {
  /** The layer whose output is the part's input (the freeze boundary), or null: the network's input. */
  from: string | null;
  /** The layer whose output is the part's output (the cut layer). */
  to: string;
  mode: BatchNormMode;
  /**
   * Overrides the layers' own moving-average momentum (Keras' 0.99): statistics that start from
   * nothing (scenario 3) need a faster average, or the first epochs validate against init values.
   */
  statsMomentum?: number;
}

type Config = Record<string, unknown>;
type Step = (inputs: tf.Tensor[], training: boolean) => tf.Tensor;

function variable(layer: tf.layers.Layer, suffix: string): tf.Variable | null {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`) || v.name.endsWith(`/${suffix}`));
  // LayerVariable.read() returns its tf.Variable itself: gradients and assignments reach the layer.
  return w ? (w.read() as tf.Variable) : null;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function ownActivation(layer: tf.layers.Layer, c: Config): Parameters<typeof applyActivation>[1] {
  const act = activationNamed(c['activation']);
  if (!act) throw new UnsupportedLayerError(`${layer.name}: activation "${String(c['activation'])}" is not supported for training.`);
  return act;
}

function outputSize(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape;
  return ((Array.isArray(s[0]) ? s[0] : s) as (number | null)[]).slice(1).map((d) => d ?? -1);
}

/** Walks the symbolic graph back from the part's output to its input, one step per layer call. */
class PartBuilder extends GraphWalker {
  readonly steps: { step: Step; inputs: number[]; output: number }[] = [];
  readonly layers: tf.layers.Layer[] = [];
  readonly variables = new Set<tf.Variable>();
  /** Constants uploaded by the fold plan's steps. */
  readonly owned: tf.Tensor[] = [];
  /** Batch statistics of the last training forward, committed by commitStatistics. */
  readonly pending: [tf.Variable, tf.Tensor, number][] = [];
  private next = 1;

  constructor(
    private readonly cut: tf.SymbolicTensor | null,
    private readonly options: PartOptions,
  ) {
    super();
  }

  protected override stopAt(t: tf.SymbolicTensor): number | null {
    return this.cut && t.id === this.cut.id ? 0 : null;
  }

  protected input(): number {
    if (this.cut) throw new NotACutError(`${this.options.to} can be reached from the input without crossing ${this.options.from} (a skip connection goes around it).`);
    return 0;
  }

  protected call(layer: tf.layers.Layer, inputs: number[], _t: tf.SymbolicTensor, node: InboundNode): number {
    const out = this.next++;
    const shapes = node.inputTensors.map((x) => x.shape.slice(1));
    this.steps.push({ step: this.stepFor(layer, shapes), inputs, output: out });
    if (!this.layers.includes(layer)) this.layers.push(layer);
    return out;
  }

  protected error(message: string): Error {
    return new UnsupportedLayerError(message);
  }

  private trains(...vars: (tf.Variable | null)[]): void {
    for (const v of vars) if (v) this.variables.add(v);
  }

  private stepFor(layer: tf.layers.Layer, inShapes: (number | null)[][]): Step {
    const cls = layer.getClassName();
    const c = layer.getConfig() as Config;
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      const format = String(c['dataFormat'] ?? c['data_format'] ?? 'channelsLast');
      if (format !== 'channelsLast' && format !== 'channels_last') throw new UnsupportedLayerError(`${layer.name}: only channels-last convolutions train.`);
      if (Number(c['groups'] ?? 1) !== 1) throw new UnsupportedLayerError(`${layer.name}: grouped convolutions are not supported for training.`);
      const depthwise = cls === 'DepthwiseConv2D';
      const kernel = variable(layer, depthwise ? 'depthwise_kernel' : 'kernel');
      if (!kernel) throw new UnsupportedLayerError(`${layer.name}: no kernel.`);
      const bias = c['useBias'] === false ? null : variable(layer, 'bias');
      this.trains(kernel, bias);
      const strides = pair(c['strides'], 1);
      const dilations = pair(c['dilationRate'], 1);
      const pad = c['padding'] === 'same' ? 'same' : 'valid';
      const act = ownActivation(layer, c);
      return ([x]) => {
        let y = depthwise
          ? tf.depthwiseConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, pad, 'NHWC', dilations)
          : tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, pad, 'NHWC', dilations);
        if (bias) y = tf.add(y, bias);
        return applyActivation(y, act);
      };
    }
    if (cls === 'Dense') {
      const kernel = variable(layer, 'kernel');
      if (!kernel) throw new UnsupportedLayerError(`${layer.name}: no kernel.`);
      const bias = c['useBias'] === false ? null : variable(layer, 'bias');
      this.trains(kernel, bias);
      const act = ownActivation(layer, c);
      const [din = 1, dout = 1] = kernel.shape;
      return ([x]) => {
        const v = x as tf.Tensor;
        let y: tf.Tensor = tf.matMul(v.rank === 2 ? (v as tf.Tensor2D) : tf.reshape(v, [-1, din]), kernel as tf.Tensor2D);
        if (bias) y = tf.add(y, bias);
        y = applyActivation(y, act);
        return v.rank === 2 ? y : tf.reshape(y, [...v.shape.slice(0, -1), dout]);
      };
    }
    if (cls === 'BatchNormalization') return this.batchNorm(layer, c);
    const op = layerOp(layer, inShapes);
    if (op.op === 'layer' || op.op === 'conv' || op.op === 'dense' || layer.trainableWeights.length > 0) {
      if (layer.weights.length > 0) throw new UnsupportedLayerError(`${layer.name} (${cls}) has weights and cannot be trained by this engine yet.`);
      return (xs) => layer.apply(xs.length === 1 ? (xs[0] as tf.Tensor) : xs, { training: false }) as tf.Tensor;
    }
    const step = stepOf(op, this.owned);
    return (xs) => step(xs);
  }

  private batchNorm(layer: tf.layers.Layer, c: Config): Step {
    const axis = Number(Array.isArray(c['axis']) ? c['axis'][0] : (c['axis'] ?? -1));
    const rank = outputSize(layer).length + 1;
    if (axis !== -1 && axis !== rank - 1) throw new UnsupportedLayerError(`${layer.name}: BatchNorm over axis ${axis} is not supported.`);
    const eps = Number(c['epsilon'] ?? 1e-3);
    const momentum = this.options.statsMomentum ?? Number(c['momentum'] ?? 0.99);
    const gamma = variable(layer, 'gamma');
    const beta = variable(layer, 'beta');
    const mean = variable(layer, 'moving_mean');
    const variance = variable(layer, 'moving_variance');
    if (!mean || !variance) throw new UnsupportedLayerError(`${layer.name}: no moving statistics.`);
    this.trains(gamma, beta);
    const affine = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => {
      const s = gamma ? tf.mul(tf.rsqrt(tf.add(v, eps)), gamma) : tf.rsqrt(tf.add(v, eps));
      const b = beta ? tf.sub(beta, tf.mul(m, s)) : tf.neg(tf.mul(m, s));
      return tf.add(tf.mul(x, s), b);
    };
    const mode = this.options.mode;
    return ([x], training) => {
      const v = x as tf.Tensor;
      if (mode === 'inference' || !training) return affine(v, mean, variance);
      const moments = tf.moments(v, Array.from({ length: v.rank - 1 }, (_, i) => i));
      // Kept past the step's tidy; committed (and disposed) by commitStatistics.
      this.pending.push([mean, tf.keep(moments.mean), momentum], [variance, tf.keep(moments.variance), momentum]);
      return affine(v, moments.mean, moments.variance);
    };
  }
}

/**
 * The part of `model` between `options.from` (exclusive) and `options.to` as a trainable net. Throws
 * NotACutError when `from` is not a cut of the graph before `to`, UnsupportedLayerError for a layer
 * it cannot train.
 */
export function trainableNet(model: tf.LayersModel, options: PartOptions): TrainableNet {
  const to = model.getLayer(options.to);
  const cut = options.from === null ? null : outputTensor(model, model.getLayer(options.from));
  const b = new PartBuilder(cut, options);
  const output = b.visit(outputTensor(model, to), new Map());
  const shape = outputSize(to);
  const outputDim = shape.length === 3 ? (shape[2] ?? 0) : shape.reduce((a, d) => a * d, 1);
  return {
    variables: [...b.variables],
    layers: b.layers,
    outputDim,
    forward: (x, training) => {
      const values = new Map<number, tf.Tensor>([[0, x]]);
      for (const s of b.steps) values.set(s.output, s.step(s.inputs.map((v) => values.get(v) as tf.Tensor), training));
      const y = values.get(output) as tf.Tensor;
      return (y.rank === 4 ? tf.mean(y, [1, 2]) : tf.reshape(y, [y.shape[0] ?? -1, outputDim])) as tf.Tensor2D;
    },
    commitStatistics: () => {
      for (const [v, batchValue, m] of b.pending.splice(0)) {
        tf.tidy(() => v.assign(tf.add(tf.mul(v, m), tf.mul(batchValue, 1 - m))));
        batchValue.dispose();
      }
    },
    dispose: () => {
      for (const t of b.owned.splice(0)) t.dispose();
    },
  };
}

/** He (Kaiming) normal initialisation of every conv and dense kernel, zero biases, identity BatchNorm (scenario 3). */
export function heInitialise(layers: readonly tf.layers.Layer[], seed: number): void {
  layers.forEach((layer, i) => {
    const cls = layer.getClassName();
    tf.tidy(() => {
      for (const w of layer.weights) {
        const v = w.read() as tf.Variable;
        const name = w.originalName.split('/').pop() ?? '';
        if (name === 'kernel' || name === 'depthwise_kernel') {
          const [kh = 1, kw = 1, inC = 1] = v.shape;
          const fanIn = v.rank === 2 ? kh : cls === 'DepthwiseConv2D' ? kh * kw : kh * kw * inC;
          v.assign(tf.mul(tf.truncatedNormal(v.shape, 0, 1, 'float32', seed + 31 * i), Math.sqrt(2 / fanIn) / 0.8796));
        } else if (name === 'bias' || name === 'beta' || name === 'moving_mean') {
          v.assign(tf.zerosLike(v));
        } else if (name === 'gamma' || name === 'moving_variance') {
          v.assign(tf.onesLike(v));
        }
      }
    });
  });
}
