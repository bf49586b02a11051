/**
 * The trainable part of a network (scenarios 2-4) as a list of nodes the training-graph emitter
 * (train-graph.ts) writes forward and backward: walked like trainable-net.ts (from the freeze
 * boundary's output, or the input, to the cut layer) but with every weight a reference to the
 * clone's tf.Variable (the parameters travel into each step as a flat vector), BatchNorm kept as its
 * own node (gamma and beta train; its statistics are a second flat vector, fixed or moved by the
 * trainer) and then merged into the convolution before it, so that a conv + BatchNorm + activation
 * runs as one fused ONNX Conv and its backward needs no pass of its own for the BatchNorm.
 * Weightless layers are the fold plan's ops (frozen/plan.ts layerOp). Shapes are NCHW without the
 * batch, computed for the run's input size.
 */
import type * as tf from '@tensorflow/tfjs';
import { activationNamed, GraphWalker, layerOp, outputTensor, type Activation, type InboundNode, type PlanOp } from '../../frozen/plan';
import { OnnxUnsupportedError } from '../emit';

/** A parameter: the clone's variable and where it sits in the flat vector. */
export interface ParamRef {
  variable: tf.Variable;
  offset: number;
  /** tf.layers' shape (HWIO, [kh, kw, C, M], [in, out], [C]). */
  shape: number[];
}

export interface BatchNormRef {
  gamma: ParamRef | null;
  beta: ParamRef | null;
  /** Offsets of the moving mean and variance in the statistics vector (each C long). */
  mean: tf.Variable;
  variance: tf.Variable;
  statsOffset: number;
  channels: number;
  epsilon: number;
  momentum: number;
}

export type TrainOp =
  | {
      op: 'conv';
      depthwise: boolean;
      kernel: ParamRef;
      bias: ParamRef | null;
      /** A BatchNorm after the convolution (merged into it). */
      bn: BatchNormRef | null;
      strides: [number, number];
      dilations: [number, number];
      /** [top, left, bottom, right] of the input. */
      pads: [number, number, number, number];
      act: Activation;
    }
  | { op: 'dense'; kernel: ParamRef; bias: ParamRef | null; act: Activation }
  | { op: 'bn'; bn: BatchNormRef }
  | Exclude<PlanOp, { op: 'conv' } | { op: 'dense' } | { op: 'layer' }>;

export type TrainNode = TrainOp & { name: string; inputs: number[]; output: number };

export interface TrainPlan {
  nodes: TrainNode[];
  output: number;
  /** Shape of each value without the batch: [C, H, W] for images (NCHW), [D] otherwise. */
  shapes: Map<number, number[]>;
  /** Every trainable parameter of the part, in flat-vector order. */
  params: ParamRef[];
  paramCount: number;
  batchNorms: BatchNormRef[];
  statsCount: number;
  /** The pooled feature width that feeds the head. */
  outputDim: number;
}

type Config = Record<string, unknown>;

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function variable(layer: tf.layers.Layer, suffix: string): tf.Variable | null {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`) || v.name.endsWith(`/${suffix}`));
  return w ? (w.read() as tf.Variable) : null;
}

/** Output length and [before, after] padding of a convolution or pooling along one axis (TensorFlow's rules). */
export function convAxis(size: number, k: number, s: number, d: number, padding: 'same' | 'valid'): { out: number; pads: [number, number] } {
  const span = (k - 1) * d + 1;
  if (padding === 'valid') return { out: Math.floor((size - span) / s) + 1, pads: [0, 0] };
  const out = Math.ceil(size / s);
  const total = Math.max(0, (out - 1) * s + span - size);
  return { out, pads: [Math.floor(total / 2), total - Math.floor(total / 2)] };
}

class TrainPlanBuilder extends GraphWalker {
  readonly nodes: TrainNode[] = [];
  readonly shapes = new Map<number, number[]>();
  readonly params: ParamRef[] = [];
  readonly batchNorms: BatchNormRef[] = [];
  paramCount = 0;
  statsCount = 0;
  private next = 1;

  constructor(
    private readonly cut: tf.SymbolicTensor | null,
    private readonly from: string | null,
    private readonly to: string,
    private readonly statsMomentum: number | undefined,
  ) {
    super();
  }

  protected override stopAt(t: tf.SymbolicTensor): number | null {
    return this.cut && t.id === this.cut.id ? 0 : null;
  }

  protected input(): number {
    // trainableNet (which the scenario builds first) says this to the user as NotACutError.
    if (this.cut) throw new OnnxUnsupportedError(`${this.to} can be reached from the input without crossing ${this.from}`);
    return 0;
  }

  protected error(message: string): Error {
    return new OnnxUnsupportedError(message);
  }

  private param(v: tf.Variable | null): ParamRef | null {
    if (!v) return null;
    const known = this.params.find((p) => p.variable === v);
    if (known) return known;
    const ref = { variable: v, offset: this.paramCount, shape: v.shape.slice() };
    this.params.push(ref);
    this.paramCount += v.size;
    return ref;
  }

  protected call(layer: tf.layers.Layer, inputs: number[], _t: tf.SymbolicTensor, _node: InboundNode): number {
    const inShapes = inputs.map((i) => this.shapes.get(i) as number[]);
    const op = this.opOf(layer, inShapes);
    const out = this.next++;
    this.shapes.set(out, outShape(op, inShapes));
    this.nodes.push({ ...op, name: layer.name, inputs, output: out } as TrainNode);
    return out;
  }

  private opOf(layer: tf.layers.Layer, inShapes: number[][]): TrainOp {
    const cls = layer.getClassName();
    const c = layer.getConfig() as Config;
    const act = () => {
      const a = activationNamed(c['activation']);
      if (!a) throw new OnnxUnsupportedError(`${layer.name}: activation "${String(c['activation'])}" has no training graph`);
      return a;
    };
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      const format = String(c['dataFormat'] ?? c['data_format'] ?? 'channelsLast');
      if (format !== 'channelsLast' && format !== 'channels_last') throw new OnnxUnsupportedError(`${layer.name}: only channels-last convolutions train`);
      if (Number(c['groups'] ?? 1) !== 1) throw new OnnxUnsupportedError(`${layer.name}: grouped convolutions have no training graph`);
      const depthwise = cls === 'DepthwiseConv2D';
      const kernel = this.param(variable(layer, depthwise ? 'depthwise_kernel' : 'kernel'));
      if (!kernel) throw new OnnxUnsupportedError(`${layer.name}: no kernel`);
      if (depthwise && kernel.shape[3] !== 1) throw new OnnxUnsupportedError(`${layer.name}: depth multiplier ${kernel.shape[3]} has no training graph`);
      const bias = c['useBias'] === false ? null : this.param(variable(layer, 'bias'));
      const strides = pair(c['strides'], 1);
      const dilations = pair(c['dilationRate'] ?? c['dilation_rate'], 1);
      const padding = c['padding'] === 'same' ? 'same' : 'valid';
      const [, h = 1, w = 1] = inShapes[0] ?? [];
      const ah = convAxis(h, kernel.shape[0] as number, strides[0], dilations[0], padding);
      const aw = convAxis(w, kernel.shape[1] as number, strides[1], dilations[1], padding);
      return { op: 'conv', depthwise, kernel, bias, bn: null, strides, dilations, pads: [ah.pads[0], aw.pads[0], ah.pads[1], aw.pads[1]], act: act() };
    }
    if (cls === 'Dense') {
      if ((inShapes[0]?.length ?? 0) !== 1) throw new OnnxUnsupportedError(`${layer.name}: a Dense layer on a ${inShapes[0]?.length ?? 0}-D value has no training graph`);
      const kernel = this.param(variable(layer, 'kernel'));
      if (!kernel) throw new OnnxUnsupportedError(`${layer.name}: no kernel`);
      return { op: 'dense', kernel, bias: c['useBias'] === false ? null : this.param(variable(layer, 'bias')), act: act() };
    }
    if (cls === 'BatchNormalization') {
      const axis = Number(Array.isArray(c['axis']) ? c['axis'][0] : (c['axis'] ?? -1));
      const rank = (inShapes[0]?.length ?? 0) + 1;
      if (axis !== -1 && axis !== rank - 1) throw new OnnxUnsupportedError(`${layer.name}: BatchNorm over axis ${axis} has no training graph`);
      const mean = variable(layer, 'moving_mean');
      const variance = variable(layer, 'moving_variance');
      if (!mean || !variance) throw new OnnxUnsupportedError(`${layer.name}: no moving statistics`);
      const bn: BatchNormRef = {
        gamma: this.param(variable(layer, 'gamma')),
        beta: this.param(variable(layer, 'beta')),
        mean,
        variance,
        statsOffset: this.statsCount,
        channels: mean.size,
        epsilon: Number(c['epsilon'] ?? 1e-3),
        momentum: this.statsMomentum ?? Number(c['momentum'] ?? 0.99),
      };
      this.statsCount += 2 * mean.size;
      this.batchNorms.push(bn);
      return { op: 'bn', bn };
    }
    const op = layerOp(layer, inShapes.map(nhwcOf));
    if (op.op === 'layer' || op.op === 'conv' || op.op === 'dense' || layer.trainableWeights.length > 0) {
      throw new OnnxUnsupportedError(`${layer.name} (${cls}) has no training graph`);
    }
    if (op.op === 'concat') return { op: 'concat', axis: inShapes[0]?.length === 3 ? ([0, 2, 3, 1][op.axis] ?? op.axis) : op.axis };
    return op;
  }
}

/** NHWC shape (what layerOp reads) of an NCHW one. */
function nhwcOf(s: number[]): number[] {
  return s.length === 3 ? [s[1] as number, s[2] as number, s[0] as number] : s;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function outShape(op: TrainOp, inShapes: number[][]): number[] {
  const x = inShapes[0] as number[];
  switch (op.op) {
    case 'conv': {
      const [, h = 1, w = 1] = x;
      const [kh, kw, , co] = op.kernel.shape as [number, number, number, number];
      const outC = op.depthwise ? (x[0] as number) : co;
      const oh = Math.floor((h + op.pads[0] + op.pads[2] - ((kh - 1) * op.dilations[0] + 1)) / op.strides[0]) + 1;
      const ow = Math.floor((w + op.pads[1] + op.pads[3] - ((kw - 1) * op.dilations[1] + 1)) / op.strides[1]) + 1;
      return [outC, oh, ow];
    }
    case 'dense':
      return [op.kernel.shape[1] as number];
    case 'pad':
      return [x[0] as number, (x[1] as number) + op.pads[0] + op.pads[1], (x[2] as number) + op.pads[2] + op.pads[3]];
    case 'pool': {
      const ah = convAxis(x[1] as number, op.size[0], op.strides[0], 1, op.padding);
      const aw = convAxis(x[2] as number, op.size[1], op.strides[1], 1, op.padding);
      return [x[0] as number, ah.out, aw.out];
    }
    case 'globalPool':
      return op.keepDims ? [x[0] as number, 1, 1] : [x[0] as number];
    case 'flatten':
      return [prod(x)];
    case 'reshape': {
      const known = prod(op.shape.filter((d) => d > 0));
      const nhwc = op.shape.map((d) => (d > 0 ? d : prod(x) / known));
      return nhwc.length === 3 ? [nhwc[2] as number, nhwc[0] as number, nhwc[1] as number] : nhwc;
    }
    case 'concat': {
      const s = x.slice();
      s[op.axis - 1] = inShapes.reduce((a, t) => a + (t[op.axis - 1] as number), 0);
      return s;
    }
    default:
      return x.slice();
  }
}

type Conv = Extract<TrainNode, { op: 'conv' }>;

/**
 * Folds each `op` node whose input is a linear convolution consumed by it alone into that
 * convolution (`take` moves what the node does onto it), the node's output and name becoming the conv's.
 */
function foldIntoConvs<O extends TrainNode['op']>(nodes: TrainNode[], output: number, op: O, take: (conv: Conv, n: Extract<TrainNode, { op: O }>) => boolean): void {
  const uses = new Map<number, number>([[output, 1]]);
  for (const n of nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as TrainNode;
    if (n.op !== op) continue;
    const src = nodes.find((m) => m.output === n.inputs[0]);
    if (!src || src.op !== 'conv' || src.act.kind !== 'linear' || uses.get(src.output) !== 1) continue;
    if (!take(src, n as Extract<TrainNode, { op: O }>)) continue;
    src.output = n.output;
    src.name = n.name;
    nodes.splice(i, 1);
  }
}

/** Merges each BatchNorm that is the only consumer of a linear convolution into it. */
function mergeBatchNorms(nodes: TrainNode[], output: number): void {
  foldIntoConvs(nodes, output, 'bn', (conv, n) => {
    if (conv.bn) return false;
    conv.bn = n.bn;
    return true;
  });
  // An activation right after a merged conv (its only consumer) becomes the conv's own.
  foldIntoConvs(nodes, output, 'act', (conv, n) => {
    conv.act = n.act;
    return true;
  });
}

/**
 * The part of `model` after `from` (null: from the input, of `inputShape` NHWC) up to `to`.
 * Throws OnnxUnsupportedError for a layer without a training graph or a boundary that is not a cut.
 */
export function buildTrainPlan(
  model: tf.LayersModel,
  options: { from: string | null; to: string; inputShape: number[]; mode: 'inference' | 'batch'; statsMomentum?: number },
): TrainPlan {
  const cut = options.from === null ? null : outputTensor(model, model.getLayer(options.from));
  const b = new TrainPlanBuilder(cut, options.from, options.to, options.statsMomentum);
  const s = options.inputShape;
  b.shapes.set(0, s.length === 3 ? [s[2] as number, s[0] as number, s[1] as number] : s);
  const output = b.visit(outputTensor(model, model.getLayer(options.to)), new Map());
  // Batch statistics cannot be folded into the weights: such a BatchNorm stays its own node.
  if (options.mode === 'inference') mergeBatchNorms(b.nodes, output);
  const outShape = b.shapes.get(output) as number[];
  if (outShape.length !== 3 && outShape.length !== 1) throw new OnnxUnsupportedError(`the part's output has ${outShape.length} dimensions`);
  return {
    nodes: b.nodes,
    output,
    shapes: b.shapes,
    params: b.params,
    paramCount: b.paramCount,
    batchNorms: b.batchNorms,
    statsCount: b.statsCount,
    outputDim: outShape[0] as number,
  };
}

/** Values per image the part produces (the activations its backward keeps and the gradients beside them). */
export function activationElements(plan: TrainPlan): number {
  return plan.nodes.reduce((a, n) => a + prod(plan.shapes.get(n.output) ?? []), 0);
}
