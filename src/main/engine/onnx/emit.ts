/**
 * A fold plan as an ONNX model (opset 17). The plan is NHWC (TensorFlow.js); ONNX convolutions are
 * NCHW, so the graph transposes its input once, keeps every 4-D value NCHW inside, and transposes
 * back only where NHWC order matters (the output, Flatten / Reshape / Dense on 4-D values).
 * Input "input" [batch, H, W, C] float32 scaled as the network expects; output "output": the cut's
 * value (NHWC when 4-D), or its global average when pool is 'avg'.
 */
import { ATTR, encodeModel, FLOAT, INT64, type AttributeMsg, type NodeMsg, type TensorMsg } from './proto';
import type { Activation, FoldPlan, PlanNode } from '../frozen/plan';

export const OPSET = 17;
/** Bumped whenever the emitted graph changes for the same plan (part of the ONNX cache key). */
export const EMITTER_VERSION = 'e1';

export class OnnxUnsupportedError extends Error {}

export interface EmitOptions {
  pool: 'none' | 'avg';
  /** Height and width of the input (the plan's declared ones when they are fixed). */
  inputSize: number;
  /** Written into the model's doc string (which network, which cut). */
  description: string;
  /**
   * The model takes square images of this side and upscales them to inputSize itself (bilinear,
   * half-pixel centres: preprocess.ts' upscale), for datasets of small images: ONNX Runtime's
   * Resize costs a fraction of the JavaScript one, and the batches it is handed are 64x smaller.
   */
  upscaleFrom?: number;
}

const NCHW_OF_NHWC_AXIS: Record<number, number> = { 1: 2, 2: 3, 3: 1 };

export function floatAttr(name: string, f: number): AttributeMsg {
  return { name, type: ATTR.FLOAT, f };
}
export function intAttr(name: string, i: number): AttributeMsg {
  return { name, type: ATTR.INT, i };
}
export function intsAttr(name: string, ints: number[]): AttributeMsg {
  return { name, type: ATTR.INTS, ints };
}
function stringAttr(name: string, s: string): AttributeMsg {
  return { name, type: ATTR.STRING, s: new TextEncoder().encode(s) };
}

/** Nodes and initializers being emitted, each value named once (`hint_N`). */
export class Graph {
  readonly nodes: NodeMsg[] = [];
  readonly inits: TensorMsg[] = [];
  private n = 0;

  /** One node; its output is named from `hint`, or exactly `output` when given (a graph output). */
  op(opType: string, input: string[], attribute: AttributeMsg[] = [], hint = opType, output?: string): string {
    const out = output ?? `${hint}_${this.n++}`;
    this.nodes.push({ name: out, opType, input, output: [out], attribute });
    return out;
  }

  floats(hint: string, dims: number[], data: Float32Array): string {
    const name = `${hint}_w${this.n++}`;
    this.inits.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  ints(hint: string, data: number[]): string {
    const name = `${hint}_i${this.n++}`;
    const arr = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.inits.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(arr.buffer) });
    return name;
  }

  scalar(hint: string, v: number): string {
    const name = `${hint}_s${this.n++}`;
    this.inits.push({ name, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(v).buffer) });
    return name;
  }

  toNhwc(x: string): string {
    return this.op('Transpose', [x], [intsAttr('perm', [0, 2, 3, 1])]);
  }

  toNchw(x: string): string {
    return this.op('Transpose', [x], [intsAttr('perm', [0, 3, 1, 2])]);
  }

  /** `a` applied to x; `rank4` when x is a (NCHW) 4-D value (softmax runs over channels). */
  activation(x: string, a: Activation, rank4: boolean): string {
    switch (a.kind) {
      case 'linear':
        return x;
      case 'relu':
        return this.op('Relu', [x]);
      case 'relu6':
        return this.op('Clip', [x, this.scalar('min', 0), this.scalar('max', 6)], [], 'Relu6');
      case 'clip':
        return this.op('Clip', [x, this.scalar('min', a.min ?? 0), this.scalar('max', a.max ?? 3.4e38)]);
      case 'leakyRelu':
        return this.op('LeakyRelu', [x], [floatAttr('alpha', a.alpha ?? 0.3)]);
      case 'elu':
        return this.op('Elu', [x], [floatAttr('alpha', a.alpha ?? 1)]);
      case 'selu':
        return this.op('Selu', [x]);
      case 'sigmoid':
        return this.op('Sigmoid', [x]);
      case 'hardSigmoid':
        return this.op('HardSigmoid', [x], [floatAttr('alpha', 0.2), floatAttr('beta', 0.5)]);
      case 'hardSwish':
        return this.op('HardSwish', [x]);
      case 'tanh':
        return this.op('Tanh', [x]);
      case 'swish':
        return this.op('Mul', [x, this.op('Sigmoid', [x])], [], 'Swish');
      case 'mish':
        return this.op('Mul', [x, this.op('Tanh', [this.op('Softplus', [x])])], [], 'Mish');
      case 'gelu': {
        const erf = this.op('Erf', [this.op('Div', [x, this.scalar('sqrt2', Math.SQRT2)])]);
        return this.op('Mul', [this.op('Mul', [x, this.scalar('half', 0.5)]), this.op('Add', [erf, this.scalar('one', 1)])], [], 'Gelu');
      }
      case 'softplus':
        return this.op('Softplus', [x]);
      case 'softsign':
        return this.op('Softsign', [x]);
      case 'softmax':
        return this.op('Softmax', [x], [intAttr('axis', rank4 ? 1 : -1)]);
    }
  }
}

/** OIHW (conv) or [C*M, 1, kh, kw] (depthwise) from TensorFlow.js' HWIO / [kh, kw, C, M]. */
function convWeight(kernel: Float32Array, [kh, kw, ci, co]: [number, number, number, number]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) out[((o * ci + c) * kh + i) * kw + j] = kernel[((i * kw + j) * ci + c) * co + o] as number;
  return out;
}

function depthwiseWeight(kernel: Float32Array, [kh, kw, c, m]: [number, number, number, number]): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let ch = 0; ch < c; ch++)
        for (let k = 0; k < m; k++) out[((ch * m + k) * kh + i) * kw + j] = kernel[((i * kw + j) * c + ch) * m + k] as number;
  return out;
}

/** A merge layer (Add, Subtract, Multiply, Average, Maximum, Minimum) of its inputs `x`. */
export function emitMerge(g: Graph, op: 'add' | 'sub' | 'mul' | 'avg' | 'max' | 'min', x: string[], hint: string): string {
  switch (op) {
    case 'add':
      return g.op('Sum', x, [], hint);
    case 'sub':
      return g.op('Sub', x, [], hint);
    case 'mul':
      return x.slice(1).reduce((p, q) => g.op('Mul', [p, q], [], hint), x[0] as string);
    case 'avg':
      return g.op('Mean', x, [], hint);
    case 'max':
      return g.op('Max', x, [], hint);
    case 'min':
      return g.op('Min', x, [], hint);
  }
}

function emitNode(g: Graph, n: PlanNode, x: string[], rank4: (i: number) => boolean, outRank4: boolean): string {
  const a = x[0] as string;
  const hint = n.name.replace(/[^\w]/g, '_');
  switch (n.op) {
    case 'conv': {
      const [kh, kw, ci, co] = n.kernelShape;
      const outC = n.depthwise ? ci * co : co;
      const w = n.depthwise ? g.floats(hint, [outC, 1, kh, kw], depthwiseWeight(n.kernel, n.kernelShape)) : g.floats(hint, [co, ci, kh, kw], convWeight(n.kernel, n.kernelShape));
      const attrs = [intsAttr('kernel_shape', [kh, kw]), intsAttr('strides', n.strides), intsAttr('dilations', n.dilations), intAttr('group', n.depthwise ? ci : 1)];
      attrs.push(n.padding === 'same' ? stringAttr('auto_pad', 'SAME_UPPER') : intsAttr('pads', [0, 0, 0, 0]));
      const inputs = [a, w, ...(n.bias ? [g.floats(hint, [outC], n.bias)] : [])];
      return g.activation(g.op('Conv', inputs, attrs, hint), n.act, true);
    }
    case 'dense': {
      const [din, dout] = n.kernelShape;
      const v = rank4(0) ? g.toNhwc(a) : a;
      let y = g.op('MatMul', [v, g.floats(hint, [din, dout], n.kernel)], [], hint);
      if (n.bias) y = g.op('Add', [y, g.floats(hint, [dout], n.bias)]);
      return g.activation(rank4(0) ? g.toNchw(y) : y, n.act, rank4(0));
    }
    case 'affine': {
      const dims = rank4(0) && n.scale.length > 1 ? [n.scale.length, 1, 1] : [n.scale.length];
      const sDims = rank4(0) && n.shift.length > 1 ? [n.shift.length, 1, 1] : [n.shift.length];
      return g.op('Add', [g.op('Mul', [a, g.floats(hint, dims, n.scale)], [], hint), g.floats(hint, sDims, n.shift)]);
    }
    case 'act':
      return g.activation(a, n.act, rank4(0));
    case 'add':
    case 'sub':
    case 'mul':
    case 'avg':
    case 'max':
    case 'min':
      return emitMerge(g, n.op, x, hint);
    case 'concat':
      return g.op('Concat', x, [intAttr('axis', rank4(0) ? (NCHW_OF_NHWC_AXIS[n.axis] ?? n.axis) : n.axis)], hint);
    case 'pool': {
      const attrs = [intsAttr('kernel_shape', n.size), intsAttr('strides', n.strides)];
      attrs.push(n.padding === 'same' ? stringAttr('auto_pad', 'SAME_UPPER') : intsAttr('pads', [0, 0, 0, 0]));
      return g.op(n.kind === 'max' ? 'MaxPool' : 'AveragePool', [a], attrs, hint);
    }
    case 'globalPool': {
      const y = g.op(n.kind === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool', [a], [], hint);
      return n.keepDims ? y : g.op('Flatten', [y], [intAttr('axis', 1)]);
    }
    case 'pad': {
      const [t, b, l, r] = n.pads;
      return g.op('Pad', [a, g.ints(hint, [0, 0, t, l, 0, 0, b, r])], [], hint);
    }
    case 'reshape': {
      const y = g.op('Reshape', [rank4(0) ? g.toNhwc(a) : a, g.ints(hint, [0, ...n.shape])], [], hint);
      return outRank4 ? g.toNchw(y) : y;
    }
    case 'flatten':
      return g.op('Flatten', [rank4(0) ? g.toNhwc(a) : a], [intAttr('axis', 1)], hint);
    case 'layer':
      throw new OnnxUnsupportedError(`${n.name} (${n.layer.getClassName()}) has no ONNX form here`);
  }
}

/** The plan as ONNX model bytes. Throws OnnxUnsupportedError when a node cannot be expressed. */
export function emitOnnx(plan: FoldPlan, options: EmitOptions): Uint8Array {
  const g = new Graph();
  const rankOf = (v: number) => (plan.shapes.get(v)?.length ?? 0) + 1;
  const names = new Map<number, string>();
  const inShape = plan.inputShape;
  if (inShape.length !== 3) throw new OnnxUnsupportedError(`the input must be an image [H, W, C], not [${inShape.join(', ')}]`);
  let input = g.toNchw('input');
  if (options.upscaleFrom !== undefined) {
    // Sizes [batch, C, inputSize, inputSize]: the batch is dynamic, so its dimensions come from the input's shape.
    const sizes = g.op('Concat', [g.op('Slice', [g.op('Shape', [input]), g.ints('start', [0]), g.ints('end', [2])]), g.ints('hw', [options.inputSize, options.inputSize])], [intAttr('axis', 0)]);
    input = g.op('Resize', [input, '', '', sizes], [stringAttr('mode', 'linear'), stringAttr('coordinate_transformation_mode', 'half_pixel')], 'upscale');
  }
  names.set(plan.input, input);
  for (const n of plan.nodes) {
    const x = n.inputs.map((v) => names.get(v) as string);
    names.set(n.output, emitNode(g, n, x, (i) => rankOf(n.inputs[i] as number) === 4, rankOf(n.output) === 4));
  }
  let out = names.get(plan.output) as string;
  if (rankOf(plan.output) === 4) out = options.pool === 'avg' ? g.op('Flatten', [g.op('GlobalAveragePool', [out])], [intAttr('axis', 1)]) : g.toNhwc(out);
  g.nodes.push({ name: 'output', opType: 'Identity', input: [out], output: ['output'], attribute: [] });
  const channels = inShape[2] ?? 3;
  const dims = (d: (number | string)[]) => d.map((v) => (typeof v === 'number' ? { dimValue: v } : { dimParam: v }));
  return encodeModel({
    irVersion: 8,
    producerName: 'Transfer Studio',
    producerVersion: EMITTER_VERSION,
    docString: options.description,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'frozen',
      node: g.nodes,
      initializer: g.inits,
      input: [{ name: 'input', type: { tensorType: { elemType: FLOAT, shape: { dim: dims(['batch', options.upscaleFrom ?? options.inputSize, options.upscaleFrom ?? options.inputSize, channels]) } } } }],
      output: [{ name: 'output', type: { tensorType: { elemType: FLOAT } } }],
    },
  });
}
