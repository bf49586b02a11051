/**
 * The dense head (scenario 1, cached features) as two ONNX graphs, so that ONNX Runtime trains it
 * with native GEMMs in one session.run per batch:
 * - the training step: forward, the gradients written out by hand and the optimiser's update, with
 *   the same mathematics as the TensorFlow.js step (head-step.ts): class-weighted mean cross-entropy,
 *   inverted dropout with masks given as inputs, Adam (beta1 0.9, beta2 0.999, epsilon 1e-7,
 *   bias-corrected) or momentum 0.9. The parameters (one flat vector, as head-step.ts keeps them) and
 *   the optimiser slots are inputs and come back as outputs (`<name>_out`), so the caller owns them
 *   between steps;
 * - the forward pass (evaluation, prediction): features and parameters in, log-probabilities out.
 * The flat vector holds kernel [in, out] then bias [out] per dense layer, row-major, as tf.layers.
 */
import type { TrainConfig } from '../../../../shared/domain';
import { floatAttr, Graph, intAttr, OPSET } from './emit';
import { encodeModel, FLOAT, type ValueInfoMsg } from './proto';

export interface HeadGraphSpec {
  /** Width of each dense layer's input, then the classes: [dim, ...hidden, classes]. */
  units: number[];
  activation: TrainConfig['head']['activation'];
  /** Dropout masks (already scaled by 1 / (1 - rate)) are inputs mask0, mask1, ... of each hidden layer. */
  dropout: boolean;
  optimizer: TrainConfig['optimizer'];
  lr: number;
}

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;
export const MOMENTUM = 0.9;

/** Shapes of the parameters, in order: kernel [in, out], bias [out] per layer. */
export function headParamShapes(units: number[]): number[][] {
  return units.slice(1).flatMap((out, l) => [[units[l] as number, out], [out]]);
}

/** Optimiser slots of the parameter vector: m (and v for Adam). */
export function slotNames(optimizer: TrainConfig['optimizer']): string[] {
  return optimizer === 'adam' ? ['m', 'v'] : ['m'];
}

function tensor(name: string, dims: (number | string)[]): ValueInfoMsg {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

function model(name: string, g: Graph, input: ValueInfoMsg[], outputs: string[], doc: string): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'Transfer Studio',
    producerVersion: 'head-1',
    docString: doc,
    opsetImport: [{ domain: '', version: OPSET }],
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

function forward(g: Graph, spec: HeadGraphSpec, params: string[], masks: string[] | null): Forward {
  const layers = spec.units.length - 1;
  const inputs = ['x'];
  const hidden: string[] = [];
  let h = 'x';
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

/** x [batch, dim] and "flat" in; "logp" [batch, classes] (log-softmax) out. */
export function emitHeadForward(spec: Pick<HeadGraphSpec, 'units' | 'activation'>): Uint8Array {
  const g = new Graph();
  const { logits } = forward(g, { ...spec, dropout: false, optimizer: 'adam', lr: 0 }, unflatten(g, spec.units), null);
  g.op('LogSoftmax', [logits], [intAttr('axis', -1)], 'logp', 'logp');
  const input = [tensor('x', ['batch', spec.units[0] as number]), tensor('flat', [headParamCount(spec.units)])];
  return model('head_forward', g, input, ['logp'], 'dense head forward');
}

/**
 * One training step. Inputs: x [batch, dim]; "rowWeight" [batch, 1] = w_y / batch and "target"
 * [batch, classes] = onehot(y) * w_y / batch (w_y: the row's class weight, 1 without weights);
 * mask0.. [batch, hidden_l] when dropout; "flat" (all parameters, kernel then bias per layer, each
 * row-major) and its slots "m" (and "v" for Adam) [params]; for Adam "c1" = 1 - beta1^t and
 * "c2" = 1 - beta2^t (scalars). Outputs: "logp" (the batch's log-probabilities before the update),
 * "flat_out", "m_out" (and "v_out").
 */
export function emitHeadStep(spec: HeadGraphSpec): Uint8Array {
  const g = new Graph();
  const layers = spec.units.length - 1;
  const params = unflatten(g, spec.units);
  const masks = spec.dropout ? spec.units.slice(1, -1).map((_, l) => `mask${l}`) : null;
  const { logits, inputs, hidden } = forward(g, spec, params, masks);
  const logp = g.op('LogSoftmax', [logits], [intAttr('axis', -1)], 'logp', 'logp');
  // d(weighted mean CE)/d logits = w_y (softmax - onehot) / batch.
  let dz = g.op('Sub', [g.op('Mul', [g.op('Exp', [logp]), 'rowWeight']), 'target'], [], 'dlogits');
  const grads: string[] = new Array<string>(params.length);
  const axis0 = g.ints('axis0', [0]);
  const flatShape = g.ints('flat', [-1]);
  for (let l = layers - 1; l >= 0; l--) {
    const gk = g.op('Gemm', [inputs[l] as string, dz], [intAttr('transA', 1)], `gkernel${l}`);
    grads[2 * l] = g.op('Reshape', [gk, flatShape]);
    grads[2 * l + 1] = g.op('ReduceSum', [dz, axis0], [intAttr('keepdims', 0)], `gbias${l}`);
    if (l === 0) break;
    let dh = g.op('Gemm', [dz, params[2 * l] as string], [intAttr('transB', 1)], `dh${l}`);
    if (masks) dh = g.op('Mul', [dh, masks[l - 1] as string]);
    dz = g.op('Mul', [dh, activationGrad(g, hidden[l - 1] as string, spec.activation)], [], `dz${l - 1}`);
  }
  // One update of the whole vector, as head-step.ts does.
  const grad = g.op('Concat', grads, [intAttr('axis', 0)], 'grad');
  const lr = g.scalar('lr', spec.lr);
  const outputs = ['logp', 'flat_out', 'm_out'];
  if (spec.optimizer === 'sgd') {
    // tf.train.momentum: m = 0.9 m + g; p -= lr m.
    const m = g.op('Add', [g.op('Mul', ['m', g.scalar('momentum', MOMENTUM)]), grad], [], 'm', 'm_out');
    g.op('Sub', ['flat', g.op('Mul', [m, lr])], [], 'p', 'flat_out');
  } else {
    // tf.train.adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr (m / c1) / (sqrt(v / c2) + eps).
    const m = g.op('Add', [g.op('Mul', ['m', g.scalar('b1', ADAM.beta1)]), g.op('Mul', [grad, g.scalar('b1c', 1 - ADAM.beta1)])], [], 'm', 'm_out');
    const v = g.op('Add', [g.op('Mul', ['v', g.scalar('b2', ADAM.beta2)]), g.op('Mul', [g.op('Mul', [grad, grad]), g.scalar('b2c', 1 - ADAM.beta2)])], [], 'v', 'v_out');
    const denom = g.op('Add', [g.op('Sqrt', [g.op('Div', [v, 'c2'])]), g.scalar('eps', ADAM.epsilon)]);
    g.op('Sub', ['flat', g.op('Mul', [g.op('Div', [g.op('Div', [m, 'c1']), denom]), lr])], [], 'p', 'flat_out');
    outputs.push('v_out');
  }
  const k = spec.units[layers] as number;
  const count = headParamCount(spec.units);
  const input = [
    tensor('x', ['batch', spec.units[0] as number]),
    tensor('rowWeight', ['batch', 1]),
    tensor('target', ['batch', k]),
    ...(masks ?? []).map((m, l) => tensor(m, ['batch', spec.units[l + 1] as number])),
    ...['flat', ...slotNames(spec.optimizer)].map((n) => tensor(n, [count])),
    ...(spec.optimizer === 'adam' ? [tensor('c1', []), tensor('c2', [])] : []),
  ];
  return model('head_step', g, input, outputs, `dense head training step (${spec.optimizer}, lr ${spec.lr})`);
}
