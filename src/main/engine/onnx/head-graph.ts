/**
 * The dense head's training step (scenario 1, cached features) as an ONNX graph, so that ONNX
 * Runtime computes it with native GEMMs in one session.run per batch: the forward pass and the
 * gradients written out by hand, with the same mathematics as the TensorFlow.js step (head-step.ts):
 * class-weighted mean cross-entropy, inverted dropout with masks given as inputs. The optimiser's
 * update is not in the graph: as ~14 elementwise ONNX operations over the whole parameter vector it
 * cost more than the GEMMs (each a pass through memory), while one fused JavaScript loop
 * (head-step-onnx.ts) does it in a single pass.
 * The parameters are one flat vector, as head-step.ts keeps them: kernel [in, out] then bias [out]
 * per dense layer, row-major, as tf.layers.
 */
import type { TrainConfig } from '../../../shared/domain';
import { floatAttr, Graph, intAttr, OPSET } from './emit';
import { encodeModel, FLOAT, type ValueInfoMsg } from './proto';

export interface HeadGraphSpec {
  /** Width of each dense layer's input, then the classes: [dim, ...hidden, classes]. */
  units: number[];
  activation: TrainConfig['head']['activation'];
  /** Dropout masks (already scaled by 1 / (1 - rate)) are inputs mask0, mask1, ... of each hidden layer. */
  dropout: boolean;
}

/** Shapes of the parameters, in order: kernel [in, out], bias [out] per layer. */
export function headParamShapes(units: number[]): number[][] {
  return units.slice(1).flatMap((out, l) => [[units[l] as number, out], [out]]);
}

export function tensor(name: string, dims: (number | string)[]): ValueInfoMsg {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

export function model(name: string, g: Graph, input: ValueInfoMsg[], outputs: string[], doc: string): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'Transfer Studio',
    producerVersion: 'head-1',
    docString: doc,
    opsetImport: [{ domain: '', version: OPSET }, ...[...new Set(g.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))].map((domain) => ({ domain, version: 1 }))],
    graph: { name, node: g.nodes, initializer: g.inits, input, output: outputs.map((o) => ({ name: o, type: { tensorType: { elemType: FLOAT } } })) },
  });
}

function activation(g: Graph, x: string, act: HeadGraphSpec['activation']): string {
  switch (act) {
    case 'relu':
      return g.op('Relu', [x]);
    case 'elu':
      return g.op('Elu', [x], [floatAttr('alpha', 1)]);
    case 'tanh':
      return g.op('Tanh', [x]);
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
  }
}

/** The activation's derivative from its output y. */
function activationGrad(g: Graph, y: string, act: HeadGraphSpec['activation']): string {
  const one = () => g.scalar('one', 1);
  switch (act) {
    case 'relu':
      return g.op('Sign', [y]); // y >= 0: 1 where y > 0, else 0 (tf.step)
    case 'elu':
      return g.op('Add', [g.op('Min', [y, g.scalar('zero', 0)]), one()]); // 1 where y > 0, else y + 1
    case 'tanh':
      return g.op('Sub', [one(), g.op('Mul', [y, y])]);
    case 'sigmoid':
      return g.op('Mul', [y, g.op('Sub', [one(), y])]);
  }
}

interface Forward {
  logits: string;
  /** Input of each dense layer (after dropout), and each hidden layer's activation output. */
  inputs: string[];
  hidden: string[];
}

/** The parameters as graph values: "flat" split into kernel / bias per layer (one Split, views reshaped). */
function unflatten(g: Graph, units: number[]): string[] {
  const shapes = headParamShapes(units);
  const parts = shapes.map((_, i) => `part_${i}`);
  g.nodes.push({ name: 'split_params', opType: 'Split', input: ['flat', g.ints('sizes', shapes.map(size))], output: parts, attribute: [intAttr('axis', 0)] });
  return parts.map((p, i) => ((shapes[i] as number[]).length === 1 ? p : g.op('Reshape', [p, g.ints('shape', shapes[i] as number[])], [], `param${i}`)));
}

function forward(g: Graph, spec: HeadGraphSpec, params: string[], masks: string[] | null, x: string): Forward {
  const layers = spec.units.length - 1;
  const inputs = [x];
  const hidden: string[] = [];
  let h = x;
  for (let l = 0; l < layers - 1; l++) {
    h = activation(g, g.op('Gemm', [h, params[2 * l] as string, params[2 * l + 1] as string], [], `dense${l}`), spec.activation);
    hidden.push(h);
    if (masks) h = g.op('Mul', [h, masks[l] as string], [], 'dropout');
    inputs.push(h);
  }
  const logits = g.op('Gemm', [h, params[2 * layers - 2] as string, params[2 * layers - 1] as string], [], 'logits');
  return { logits, inputs, hidden };
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Number of parameters (the length of "flat"). */
export function headParamCount(units: number[]): number {
  return headParamShapes(units).reduce((a, s) => a + size(s), 0);
}

/**
 * The head's forward pass and its loss gradient on the values of `g`, from features `x` [batch, dim]:
 * graph inputs "flat" (the head's parameters), "rowWeight", "target" and mask0.. (see emitHeadStep),
 * graph values "logp" and "grad" (the gradient laid out as "flat"). With `inputGrad`, also the
 * gradient of the features (the value returned), for a network below the head (train/train-graph.ts).
 */
export function emitHeadLoss(g: Graph, spec: HeadGraphSpec, x: string, inputGrad: boolean): string | null {
  const layers = spec.units.length - 1;
  const params = unflatten(g, spec.units);
  const masks = spec.dropout ? spec.units.slice(1, -1).map((_, l) => `mask${l}`) : null;
  const { logits, inputs, hidden } = forward(g, spec, params, masks, x);
  const logp = g.op('LogSoftmax', [logits], [intAttr('axis', -1)], 'logp', 'logp');
  // d(weighted mean CE)/d logits = w_y (softmax - onehot) / batch.
  let dz = g.op('Sub', [g.op('Mul', [g.op('Exp', [logp]), 'rowWeight']), 'target'], [], 'dlogits');
  const grads: string[] = new Array<string>(params.length);
  const axis0 = g.ints('axis0', [0]);
  const flatShape = g.ints('flat', [-1]);
  let dx: string | null = null;
  for (let l = layers - 1; l >= 0; l--) {
    const gk = g.op('Gemm', [inputs[l] as string, dz], [intAttr('transA', 1)], `gkernel${l}`);
    grads[2 * l] = g.op('Reshape', [gk, flatShape]);
    grads[2 * l + 1] = g.op('ReduceSum', [dz, axis0], [intAttr('keepdims', 0)], `gbias${l}`);
    if (l === 0) {
      if (inputGrad) dx = g.op('Gemm', [dz, params[0] as string], [intAttr('transB', 1)], 'dfeatures');
      break;
    }
    let dh = g.op('Gemm', [dz, params[2 * l] as string], [intAttr('transB', 1)], `dh${l}`);
    if (masks) dh = g.op('Mul', [dh, masks[l - 1] as string]);
    dz = g.op('Mul', [dh, activationGrad(g, hidden[l - 1] as string, spec.activation)], [], `dz${l - 1}`);
  }
  g.op('Concat', grads, [intAttr('axis', 0)], 'grad', 'grad');
  return dx;
}

/** The head's forward pass alone (no dropout) from features `x`: graph input "flat", value "logp". */
export function emitHeadLogp(g: Graph, spec: HeadGraphSpec, x: string): void {
  const { logits } = forward(g, spec, unflatten(g, spec.units), null, x);
  g.op('LogSoftmax', [logits], [intAttr('axis', -1)], 'logp', 'logp');
}

/** The graph inputs of the head's loss: rowWeight, target and the dropout masks. */
export function headLossInputs(spec: HeadGraphSpec): ValueInfoMsg[] {
  const layers = spec.units.length - 1;
  const k = spec.units[layers] as number;
  const masks = spec.dropout ? spec.units.slice(1, -1).map((_, l) => `mask${l}`) : [];
  return [tensor('rowWeight', ['batch', 1]), tensor('target', ['batch', k]), ...masks.map((m, l) => tensor(m, ['batch', spec.units[l + 1] as number]))];
}

/**
 * The loss gradient of a batch. Inputs: x [batch, dim]; "rowWeight" [batch, 1] = w_y / batch and
 * "target" [batch, classes] = onehot(y) * w_y / batch (w_y: the row's class weight, 1 without
 * weights); mask0.. [batch, hidden_l] when dropout; "flat" (all parameters). Outputs: "logp" (the
 * batch's log-probabilities) and "grad" (the gradient of the weighted mean cross-entropy, laid out
 * as "flat").
 */
export function emitHeadStep(spec: HeadGraphSpec): Uint8Array {
  const g = new Graph();
  emitHeadLoss(g, spec, 'x', false);
  const count = headParamCount(spec.units);
  const input = [tensor('x', ['batch', spec.units[0] as number]), ...headLossInputs(spec), tensor('flat', [count])];
  return model('head_step', g, input, ['logp', 'grad'], 'dense head: loss gradient');
}
