/**
 * Runs a fold plan on TensorFlow.js: conv / depthwise + bias + relu/relu6/elu/sigmoid/leakyRelu as
 * one tf.fused op (wasm fuses those), dense as tf.fused.matMul, everything else as plain ops;
 * 'layer' nodes through the layer itself in inference mode. Weights are uploaded once; every
 * intermediate is freed as soon as its last reader ran (a ResNet batch would otherwise hold every
 * activation until the end).
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation, FoldPlan, PlanOp } from './plan';

type FusedKind = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

function fusedKind(a: Activation): FusedKind | null {
  switch (a.kind) {
    case 'linear':
    case 'relu':
    case 'relu6':
    case 'sigmoid':
      return a.kind;
    case 'elu':
      return (a.alpha ?? 1) === 1 ? 'elu' : null;
    case 'leakyRelu':
      return 'leakyrelu';
    default:
      return null;
  }
}

/** The activation on its own (the layers' definitions, as TensorFlow.js computes them). */
export function applyActivation(x: tf.Tensor, a: Activation): tf.Tensor {
  switch (a.kind) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'leakyRelu':
      return tf.leakyRelu(x, a.alpha ?? 0.3);
    case 'clip':
      return tf.clipByValue(x, a.min ?? 0, a.max ?? Infinity);
    case 'elu':
      return (a.alpha ?? 1) === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(a.alpha ?? 1, tf.sub(tf.exp(x), 1)));
    case 'selu':
      return tf.selu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'hardSigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1);
    case 'hardSwish':
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
    case 'tanh':
      return tf.tanh(x);
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'mish':
      return tf.mul(x, tf.tanh(tf.softplus(x)));
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(1, tf.abs(x)));
    case 'softmax':
      return tf.softmax(x, -1);
  }
}

export type Step = (inputs: tf.Tensor[]) => tf.Tensor;

/** One node as a function of its inputs; the weights it uploads go to `owned` (the caller disposes them). */
export function stepOf(n: PlanOp, owned: tf.Tensor[]): Step {
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  switch (n.op) {
    case 'conv': {
      const filter = keep(tf.tensor4d(n.kernel, n.kernelShape));
      const bias = n.bias ? keep(tf.tensor1d(n.bias)) : undefined;
      const fused = fusedKind(n.act);
      const activation = fused ?? 'linear';
      const leakyreluAlpha = n.act.kind === 'leakyRelu' ? (n.act.alpha ?? 0.3) : undefined;
      const args = { filter, bias, strides: n.strides, pad: n.padding, dilations: n.dilations, activation, leakyreluAlpha } as const;
      const conv = n.depthwise
        ? (x: tf.Tensor) => tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, ...args })
        : (x: tf.Tensor) => tf.fused.conv2d({ x: x as tf.Tensor4D, ...args });
      return fused ? ([x]) => conv(x as tf.Tensor) : ([x]) => applyActivation(conv(x as tf.Tensor), n.act);
    }
    case 'dense': {
      const kernel = keep(tf.tensor2d(n.kernel, n.kernelShape));
      const bias = n.bias ? keep(tf.tensor1d(n.bias)) : undefined;
      const fused = fusedKind(n.act);
      const leakyreluAlpha = n.act.kind === 'leakyRelu' ? (n.act.alpha ?? 0.3) : undefined;
      return ([x]) => {
        const v = x as tf.Tensor;
        const flat = v.rank === 2 ? (v as tf.Tensor2D) : tf.reshape(v, [-1, n.kernelShape[0]]);
        let y: tf.Tensor = tf.fused.matMul({ a: flat as tf.Tensor2D, b: kernel, bias, activation: fused ?? 'linear', leakyreluAlpha });
        if (!fused) y = applyActivation(y, n.act);
        return v.rank === 2 ? y : tf.reshape(y, [...v.shape.slice(0, -1), n.kernelShape[1]]);
      };
    }
    case 'affine': {
      const scale = keep(tf.tensor1d(n.scale));
      const shift = keep(tf.tensor1d(n.shift));
      return ([x]) => tf.add(tf.mul(x as tf.Tensor, scale), shift);
    }
    case 'act':
      return ([x]) => applyActivation(x as tf.Tensor, n.act);
    case 'add':
      return (xs) => (xs.length === 2 ? tf.add(xs[0] as tf.Tensor, xs[1] as tf.Tensor) : tf.addN(xs));
    case 'sub':
      return ([a, b]) => tf.sub(a as tf.Tensor, b as tf.Tensor);
    case 'mul':
      return (xs) => xs.slice(1).reduce((a, b) => tf.mul(a, b), xs[0] as tf.Tensor);
    case 'avg':
      return (xs) => tf.div(tf.addN(xs), xs.length);
    case 'max':
      return (xs) => xs.slice(1).reduce((a, b) => tf.maximum(a, b), xs[0] as tf.Tensor);
    case 'min':
      return (xs) => xs.slice(1).reduce((a, b) => tf.minimum(a, b), xs[0] as tf.Tensor);
    case 'concat':
      return (xs) => tf.concat(xs, n.axis);
    case 'pool':
      return ([x]) =>
        n.kind === 'max' ? tf.maxPool(x as tf.Tensor4D, n.size, n.strides, n.padding) : tf.avgPool(x as tf.Tensor4D, n.size, n.strides, n.padding);
    case 'globalPool':
      return ([x]) => (n.kind === 'max' ? tf.max(x as tf.Tensor, [1, 2], n.keepDims) : tf.mean(x as tf.Tensor, [1, 2], n.keepDims));
    case 'pad': {
      const [t, b, l, r] = n.pads;
      return ([x]) => tf.pad(x as tf.Tensor, [[0, 0], [t, b], [l, r], [0, 0]]);
    }
    case 'reshape':
      return ([x]) => tf.reshape(x as tf.Tensor, [(x as tf.Tensor).shape[0] ?? -1, ...n.shape]);
    case 'flatten':
      return ([x]) => tf.reshape(x as tf.Tensor, [(x as tf.Tensor).shape[0] ?? -1, -1]);
    case 'layer': {
      const layer = n.layer;
      return (xs) => layer.apply(xs.length === 1 ? (xs[0] as tf.Tensor) : xs, { training: false }) as tf.Tensor;
    }
  }
}

/** A plan made runnable on the current TensorFlow.js backend; dispose() frees its weights. */
export class TfPlan {
  private readonly owned: tf.Tensor[] = [];
  private readonly steps: { step: Step; inputs: number[]; output: number }[];
  /** For every value, the index of the last step that reads it (freed after it). */
  private readonly lastUse = new Map<number, number>();

  constructor(readonly plan: FoldPlan) {
    this.steps = plan.nodes.map((n) => ({ step: stepOf(n, this.owned), inputs: n.inputs, output: n.output }));
    this.steps.forEach((s, i) => s.inputs.forEach((v) => this.lastUse.set(v, i)));
  }

  /** The plan's output for a batch [N, H, W, C]; the caller disposes it. */
  run(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const values = new Map<number, tf.Tensor>([[this.plan.input, x]]);
      this.steps.forEach((s, i) => {
        values.set(s.output, s.step(s.inputs.map((v) => values.get(v) as tf.Tensor)));
        for (const v of new Set(s.inputs)) {
          if (this.lastUse.get(v) === i && v !== this.plan.input && v !== this.plan.output) {
            values.get(v)?.dispose();
            values.delete(v);
          }
        }
      });
      return values.get(this.plan.output) as tf.Tensor;
    });
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}
