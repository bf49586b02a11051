/**
 * The fold plan: the frozen part of a tf.LayersModel (its input up to a cut layer) as a
 * runtime-neutral graph of inference operations with their weights, in topological order. Built
 * by walking the symbolic graph back from the cut (so DAGs with skip connections, squeeze-excite
 * multiplies and nested models are covered), then simplified:
 *  - BatchNormalization becomes a per-channel affine y = x*scale + shift (inference mode: moving
 *    statistics, scale = gamma / sqrt(var + eps), shift = beta - mean*scale) and is folded into
 *    the conv / depthwise / dense before it (W' = W*scale, b' = b*scale + shift) when that layer
 *    has no activation of its own and nothing else reads its output;
 *  - an activation that follows such a layer is fused into it (relu/relu6 become one fused op).
 * Dropout, noise and InputLayer are identities. A layer the plan does not know becomes a 'layer'
 * node: the TensorFlow.js executor applies it in inference mode, the ONNX emitter refuses the plan.
 * Shapes are NHWC without the batch dimension, as TensorFlow.js declares them.
 */
import * as tf from '@tensorflow/tfjs';

export type ActKind =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'clip'
  | 'elu'
  | 'selu'
  | 'sigmoid'
  | 'hardSigmoid'
  | 'hardSwish'
  | 'tanh'
  | 'swish'
  | 'mish'
  | 'gelu'
  | 'softplus'
  | 'softsign'
  | 'softmax';

export interface Activation {
  kind: ActKind;
  /** leakyRelu's slope, elu's alpha. */
  alpha?: number;
  /** clip's bounds (ReLU with another max value or a threshold-free clip). */
  min?: number;
  max?: number;
}

interface NodeBase {
  /** The Keras layer this node came from (the last one when layers were folded into it). */
  name: string;
  inputs: number[];
  output: number;
}

export type PlanOp =
  | {
      op: 'conv';
      depthwise: boolean;
      /** HWIO (conv) or [kh, kw, C, multiplier] (depthwise), as TensorFlow.js stores them. */
      kernel: Float32Array;
      kernelShape: [number, number, number, number];
      bias: Float32Array | null;
      strides: [number, number];
      dilations: [number, number];
      padding: 'same' | 'valid';
      act: Activation;
    }
  | { op: 'dense'; kernel: Float32Array; kernelShape: [number, number]; bias: Float32Array | null; act: Activation }
  /** Per-channel (last axis) y = x*scale + shift; scale/shift of length 1 broadcast to every channel. */
  | { op: 'affine'; scale: Float32Array; shift: Float32Array }
  | { op: 'act'; act: Activation }
  | { op: 'add' | 'sub' | 'mul' | 'avg' | 'max' | 'min' }
  /** Axis of the NHWC value including the batch (1..rank-1). */
  | { op: 'concat'; axis: number }
  | { op: 'pool'; kind: 'max' | 'avg'; size: [number, number]; strides: [number, number]; padding: 'same' | 'valid' }
  | { op: 'globalPool'; kind: 'max' | 'avg'; keepDims: boolean }
  /** Zero padding [top, bottom, left, right]. */
  | { op: 'pad'; pads: [number, number, number, number] }
  /** Target shape without the batch dimension (may hold one -1). */
  | { op: 'reshape'; shape: number[] }
  | { op: 'flatten' }
  /** Not folded: TensorFlow.js applies the layer itself (inference mode); ONNX cannot. */
  | { op: 'layer'; layer: tf.layers.Layer };

export type PlanNode = NodeBase & PlanOp;

export interface FoldPlan {
  /** Input shape without the batch, e.g. [224, 224, 3] (nulls where the model leaves it open). */
  inputShape: (number | null)[];
  nodes: PlanNode[];
  /** Value id of the input (0) and of the output. */
  input: number;
  output: number;
  /** Declared shape of every value (without the batch). */
  shapes: Map<number, (number | null)[]>;
}

/** A frozen part that cannot be written as a fold plan (the message says why). */
export class FoldPlanError extends Error {}

type Config = Record<string, unknown>;

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function cfg(c: Config, camel: string, snake: string): unknown {
  return c[camel] ?? c[snake];
}

function weightOf(layer: tf.layers.Layer, suffix: string): Float32Array | null {
  const v = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.name.endsWith(`/${suffix}`) || w.name === suffix);
  return v ? Float32Array.from(v.read().dataSync()) : null;
}

function weightShape(layer: tf.layers.Layer, suffix: string): number[] {
  const v = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.name.endsWith(`/${suffix}`) || w.name === suffix);
  return v ? v.shape.map((d) => d ?? 1) : [];
}

/** A Keras activation name (tfjs camelCase or Keras snake_case) as an Activation, or null when unknown. */
export function activationNamed(name: unknown): Activation | null {
  const n = String(name ?? 'linear').toLowerCase().replace(/_/g, '');
  const table: Record<string, ActKind> = {
    linear: 'linear',
    relu: 'relu',
    relu6: 'relu6',
    elu: 'elu',
    selu: 'selu',
    sigmoid: 'sigmoid',
    hardsigmoid: 'hardSigmoid',
    hardswish: 'hardSwish',
    hardsilu: 'hardSwish',
    tanh: 'tanh',
    swish: 'swish',
    silu: 'swish',
    mish: 'mish',
    gelu: 'gelu',
    softplus: 'softplus',
    softsign: 'softsign',
    softmax: 'softmax',
  };
  const kind = table[n];
  return kind ? { kind, ...(kind === 'elu' ? { alpha: 1 } : {}) } : null;
}

/** The activation a standalone activation layer computes, or null when it is not one (or not supported). */
function activationLayer(layer: tf.layers.Layer): Activation | null {
  const cls = layer.getClassName();
  const c = layer.getConfig() as Config;
  switch (cls) {
    case 'Activation':
      return activationNamed(c['activation']);
    case 'ReLU': {
      const max = cfg(c, 'maxValue', 'max_value');
      const slope = Number(cfg(c, 'negativeSlope', 'negative_slope') ?? 0);
      const threshold = Number(c['threshold'] ?? 0);
      if (threshold !== 0) return null;
      if (slope !== 0) return max == null ? { kind: 'leakyRelu', alpha: slope } : null;
      if (max == null) return { kind: 'relu' };
      return Number(max) === 6 ? { kind: 'relu6' } : { kind: 'clip', min: 0, max: Number(max) };
    }
    case 'LeakyReLU':
      return { kind: 'leakyRelu', alpha: Number(c['alpha'] ?? 0.3) };
    case 'ELU':
      return { kind: 'elu', alpha: Number(c['alpha'] ?? 1) };
    case 'Softmax': {
      const axis = c['axis'];
      const a = Array.isArray(axis) ? axis : [axis ?? -1];
      return a.length === 1 && Number(a[0]) === -1 ? { kind: 'softmax' } : null;
    }
    default:
      return null;
  }
}

/** Layers that pass their input through at inference. */
export const IDENTITY = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);
const MERGE: Record<string, 'add' | 'sub' | 'mul' | 'avg' | 'max' | 'min'> = {
  Add: 'add',
  Subtract: 'sub',
  Multiply: 'mul',
  Average: 'avg',
  Maximum: 'max',
  Minimum: 'min',
};
/** Classes of a model used as a layer (walked into, not run as one node). */
export const NESTED = new Set(['Model', 'Functional', 'Sequential']);

/** The op of one layer (not a nested model, not an identity), given its input shapes. */
export function layerOp(layer: tf.layers.Layer, inShapes: (number | null)[][]): PlanOp {
  const cls = layer.getClassName();
  const c = layer.getConfig() as Config;
  const channelsLast = (cfg(c, 'dataFormat', 'data_format') ?? 'channelsLast') !== 'channelsFirst' && cfg(c, 'dataFormat', 'data_format') !== 'channels_first';
  const fallback: PlanOp = { op: 'layer', layer };
  const act = activationLayer(layer);
  if (act) return { op: 'act', act };
  if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
    const depthwise = cls === 'DepthwiseConv2D';
    const kernel = weightOf(layer, depthwise ? 'depthwise_kernel' : 'kernel');
    const ownAct = activationNamed(c['activation']);
    const groups = Number(c['groups'] ?? 1);
    if (!kernel || !ownAct || !channelsLast || groups !== 1) return fallback;
    const shape = weightShape(layer, depthwise ? 'depthwise_kernel' : 'kernel') as [number, number, number, number];
    return {
      op: 'conv',
      depthwise,
      kernel,
      kernelShape: shape,
      bias: cfg(c, 'useBias', 'use_bias') === false ? null : weightOf(layer, 'bias'),
      strides: pair(c['strides'], 1),
      dilations: pair(cfg(c, 'dilationRate', 'dilation_rate'), 1),
      padding: String(c['padding'] ?? 'valid') === 'same' ? 'same' : 'valid',
      act: ownAct,
    };
  }
  if (cls === 'Dense') {
    const kernel = weightOf(layer, 'kernel');
    const ownAct = activationNamed(c['activation']);
    if (!kernel || !ownAct) return fallback;
    return { op: 'dense', kernel, kernelShape: weightShape(layer, 'kernel') as [number, number], bias: cfg(c, 'useBias', 'use_bias') === false ? null : weightOf(layer, 'bias'), act: ownAct };
  }
  if (cls === 'BatchNormalization') {
    const axis = c['axis'];
    const a = Number(Array.isArray(axis) ? axis[0] : (axis ?? -1));
    const rank = (inShapes[0]?.length ?? 0) + 1;
    if (a !== -1 && a !== rank - 1) return fallback;
    const mean = weightOf(layer, 'moving_mean');
    const variance = weightOf(layer, 'moving_variance');
    if (!mean || !variance) return fallback;
    const gamma = weightOf(layer, 'gamma');
    const beta = weightOf(layer, 'beta');
    const eps = Number(c['epsilon'] ?? 1e-3);
    const scale = Float32Array.from(variance, (v, i) => (gamma ? (gamma[i] as number) : 1) / Math.sqrt(v + eps));
    const shift = Float32Array.from(mean, (m, i) => (beta ? (beta[i] as number) : 0) - m * (scale[i] as number));
    return { op: 'affine', scale, shift };
  }
  if (cls === 'Rescaling') {
    const vec = (v: unknown) => Float32Array.from(Array.isArray(v) ? (v as number[]).flat(4).map(Number) : [Number(v ?? 0)]);
    return { op: 'affine', scale: vec(c['scale'] ?? 1), shift: vec(c['offset'] ?? 0) };
  }
  if (cls === 'Normalization') {
    // Keras' Normalization (the model library registers it): (x - mean) / max(sqrt(variance), 1e-7), or inverted.
    const axis = c['axis'];
    const a = Number(Array.isArray(axis) ? (axis.length === 1 ? axis[0] : NaN) : (axis ?? -1));
    const rank = (inShapes[0]?.length ?? 0) + 1;
    const vec = (v: unknown) => (v == null ? null : Float32Array.from((Array.isArray(v) ? v : [v]).map(Number)));
    const mean = weightOf(layer, 'mean') ?? vec(c['mean']);
    const variance = weightOf(layer, 'variance') ?? vec(c['variance']);
    if ((a !== -1 && a !== rank - 1) || !mean || !variance) return fallback;
    const n = Math.max(mean.length, variance.length);
    const at = (v: Float32Array, i: number) => (v.length === 1 ? (v[0] as number) : (v[i] as number));
    const std = Float32Array.from({ length: n }, (_, i) => Math.max(Math.sqrt(at(variance, i)), 1e-7));
    const m = Float32Array.from({ length: n }, (_, i) => at(mean, i));
    if (c['invert'] === true) return { op: 'affine', scale: std, shift: m };
    return { op: 'affine', scale: std.map((d) => 1 / d), shift: m.map((v, i) => -v / (std[i] as number)) };
  }
  if (MERGE[cls]) {
    const ranks = new Set(inShapes.map((s) => s.length));
    return ranks.size === 1 ? { op: MERGE[cls] } : fallback;
  }
  if (cls === 'Concatenate') {
    const rank = (inShapes[0]?.length ?? 0) + 1;
    const axis = Number(c['axis'] ?? -1);
    return { op: 'concat', axis: axis < 0 ? rank + axis : axis };
  }
  if ((cls === 'MaxPooling2D' || cls === 'AveragePooling2D') && channelsLast) {
    const size = pair(cfg(c, 'poolSize', 'pool_size'), 2);
    const strides = c['strides'] == null ? size : pair(c['strides'], 1);
    return { op: 'pool', kind: cls === 'MaxPooling2D' ? 'max' : 'avg', size, strides, padding: String(c['padding'] ?? 'valid') === 'same' ? 'same' : 'valid' };
  }
  if ((cls === 'GlobalAveragePooling2D' || cls === 'GlobalMaxPooling2D') && channelsLast) {
    return { op: 'globalPool', kind: cls === 'GlobalMaxPooling2D' ? 'max' : 'avg', keepDims: Boolean(cfg(c, 'keepDims', 'keepdims')) };
  }
  if (cls === 'ZeroPadding2D' && channelsLast) {
    const p = c['padding'];
    let pads: [number, number, number, number];
    if (typeof p === 'number') pads = [p, p, p, p];
    else if (Array.isArray(p) && Array.isArray(p[0])) pads = [Number(p[0][0]), Number(p[0][1]), Number((p[1] as number[])[0]), Number((p[1] as number[])[1])];
    else if (Array.isArray(p)) pads = [Number(p[0]), Number(p[0]), Number(p[1]), Number(p[1])];
    else pads = [1, 1, 1, 1];
    return { op: 'pad', pads };
  }
  if (cls === 'Reshape') {
    const target = (cfg(c, 'targetShape', 'target_shape') as number[] | undefined) ?? [];
    return { op: 'reshape', shape: target.map((d) => (d == null ? -1 : Number(d))) };
  }
  if (cls === 'Flatten') return { op: 'flatten' };
  return fallback;
}

function outputShapeOf(layer: tf.layers.Layer, tensorIndex: number): (number | null)[] {
  const s = layer.outputShape;
  const one = (Array.isArray(s[0]) ? s[tensorIndex] : s) as (number | null)[];
  return one.slice(1);
}

export type InboundNode = tf.layers.Layer['inboundNodes'][number];

/**
 * Walks a tf.layers graph back from a symbolic tensor, one value id per tensor: nested models are
 * walked into (their inputs bound to the values they were called with) and identities pass their
 * input through. Subclasses say what an input and a layer call become (the fold plan, the
 * trainable part).
 */
export abstract class GraphWalker {
  private readonly nestedInputs = new Map<tf.layers.Layer, number>();

  /** The value of a tensor the walk stops at before its layer (e.g. a cut), or null to walk on. */
  protected stopAt(_t: tf.SymbolicTensor): number | null {
    return null;
  }
  /** The value of the network's input tensor. */
  protected abstract input(t: tf.SymbolicTensor): number;
  /** The value of a call of `layer` (not nested, not an identity) on the values `inputs`. */
  protected abstract call(layer: tf.layers.Layer, inputs: number[], t: tf.SymbolicTensor, node: InboundNode): number;
  protected abstract error(message: string): Error;

  /** Value id of symbolic tensor `t`; `scope` maps the tensors already known (inputs of a nested model). */
  visit(t: tf.SymbolicTensor, scope: Map<number, number>): number {
    const known = scope.get(t.id);
    if (known !== undefined) return known;
    const stop = this.stopAt(t);
    if (stop !== null) {
      scope.set(t.id, stop);
      return stop;
    }
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    if (cls === 'InputLayer') {
      // A nested model's input (its symbolic tensor may differ from the one it was called with).
      const nested = this.nestedInputs.get(layer);
      if (nested !== undefined) return nested;
      const v = this.input(t);
      scope.set(t.id, v);
      return v;
    }
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node) throw this.error(`layer ${layer.name} has no inbound node ${t.nodeIndex}`);
    const inputs = node.inputTensors.map((x) => this.visit(x, scope));
    let out: number;
    if (NESTED.has(cls)) {
      const inner = layer as unknown as tf.LayersModel;
      const innerScope = new Map<number, number>();
      inner.inputs.forEach((x, i) => {
        innerScope.set(x.id, inputs[i] as number);
        this.nestedInputs.set(x.sourceLayer, inputs[i] as number);
      });
      out = this.visit(inner.outputs[t.tensorIndex] as tf.SymbolicTensor, innerScope);
    } else if (IDENTITY.has(cls)) {
      // Dropout and noise are off at inference, and in the pretrained part of a trainable net.
      out = inputs[0] as number;
    } else {
      out = this.call(layer, inputs, t, node);
    }
    scope.set(t.id, out);
    return out;
  }
}

/** Walks the symbolic graph from `outputs` back to the model input. */
class Builder extends GraphWalker {
  readonly nodes: PlanNode[] = [];
  readonly shapes = new Map<number, (number | null)[]>();
  private next = 1;
  inputShape: (number | null)[] | null = null;

  value(shape: (number | null)[]): number {
    const id = this.next++;
    this.shapes.set(id, shape);
    return id;
  }

  protected input(t: tf.SymbolicTensor): number {
    if (this.inputShape) throw new FoldPlanError('the frozen part has more than one input');
    this.inputShape = t.shape.slice(1);
    this.shapes.set(0, this.inputShape);
    return 0;
  }

  protected call(layer: tf.layers.Layer, inputs: number[], t: tf.SymbolicTensor): number {
    const op = layerOp(
      layer,
      inputs.map((i) => this.shapes.get(i) ?? []),
    );
    if (op.op === 'act' && op.act.kind === 'linear') return inputs[0] as number;
    const out = this.value(outputShapeOf(layer, t.tensorIndex));
    this.nodes.push({ name: layer.name, inputs, output: out, ...op } as PlanNode);
    return out;
  }

  protected error(message: string): Error {
    return new FoldPlanError(message);
  }
}

/** Every symbolic tensor of `model`'s top-level graph, once, from its outputs back to its inputs (depth first). */
export function* tensorsFromOutputs(model: tf.LayersModel): Generator<tf.SymbolicTensor> {
  const seen = new Set<number>();
  const stack = [...model.outputs];
  while (stack.length) {
    const t = stack.pop() as tf.SymbolicTensor;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    yield t;
    stack.push(...(t.sourceLayer.inboundNodes[t.nodeIndex]?.inputTensors ?? []));
  }
}

/**
 * The output tensor of `layer` in `model`'s graph (found from the model's outputs back): a nested
 * model's first inbound node is its own inner graph, not the call inside `model`.
 */
export function outputTensor(model: tf.LayersModel, layer: tf.layers.Layer): tf.SymbolicTensor {
  for (const t of tensorsFromOutputs(model)) if (t.sourceLayer === layer) return t;
  // Not on the way to the outputs (a side branch): its first node.
  const t = layer.inboundNodes[0]?.outputTensors[0];
  if (!t) throw new FoldPlanError(`layer ${layer.name} is not connected`);
  return t;
}

function consumers(nodes: PlanNode[], output: number): Map<number, number> {
  const count = new Map<number, number>([[output, 1]]);
  for (const n of nodes) for (const i of n.inputs) count.set(i, (count.get(i) ?? 0) + 1);
  return count;
}

/** Folds affines (BatchNorm) into the conv / dense before them and fuses the activations that follow. */
function simplify(plan: FoldPlan): void {
  let changed = true;
  while (changed) {
    changed = false;
    const uses = consumers(plan.nodes, plan.output);
    const producer = new Map(plan.nodes.map((n) => [n.output, n]));
    for (const n of plan.nodes) {
      if (n.op !== 'affine' && n.op !== 'act') continue;
      const src = producer.get(n.inputs[0] as number);
      if (!src || (src.op !== 'conv' && src.op !== 'dense') || src.act.kind !== 'linear' || uses.get(src.output) !== 1) continue;
      if (n.op === 'affine') {
        const outC = src.op === 'conv' ? (src.depthwise ? src.kernelShape[2] * src.kernelShape[3] : src.kernelShape[3]) : src.kernelShape[1];
        if (n.scale.length !== outC && n.scale.length !== 1) continue;
        const at = (v: Float32Array, i: number) => (v.length === 1 ? (v[0] as number) : (v[i] as number));
        src.kernel = src.kernel.map((w, i) => w * at(n.scale, i % outC));
        src.bias = Float32Array.from({ length: outC }, (_, i) => (src.bias ? (src.bias[i] as number) : 0) * at(n.scale, i) + at(n.shift, i));
      } else {
        src.act = n.act;
      }
      src.output = n.output;
      src.name = n.name;
      plan.nodes.splice(plan.nodes.indexOf(n), 1);
      changed = true;
      break;
    }
  }
}

/**
 * The plan of `model` from its input to the output of `cutLayer` (a layer name), folded and fused.
 * Throws FoldPlanError when the layer does not exist or the part has more than one input.
 */
export function buildFoldPlan(model: tf.LayersModel, cutLayer: string): FoldPlan {
  let cut: tf.layers.Layer;
  try {
    cut = model.getLayer(cutLayer);
  } catch {
    throw new FoldPlanError(`the model has no layer named "${cutLayer}"`);
  }
  const b = new Builder();
  const output = b.visit(outputTensor(model, cut), new Map());
  if (!b.inputShape) throw new FoldPlanError('the frozen part does not start at an input');
  const plan: FoldPlan = { inputShape: b.inputShape, nodes: b.nodes, input: 0, output, shapes: b.shapes };
  simplify(plan);
  return plan;
}

/** Layers the plan could not fold (they run as themselves on TensorFlow.js; ONNX cannot run them). */
export function unfoldedLayers(plan: FoldPlan): string[] {
  return plan.nodes.flatMap((n) => (n.op === 'layer' ? [`${n.name} (${n.layer.getClassName()})`] : []));
}
