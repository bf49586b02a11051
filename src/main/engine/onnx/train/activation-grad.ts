/**
 * Backward of the activations the fold plan knows (frozen/plan.ts ActKind), as ONNX nodes for the
 * training graphs of scenarios 2-4. The forward is Graph.activation (emit.ts), the same definition
 * the frozen part runs; each derivative is TensorFlow.js' gradient of the definition the TF.js
 * trainer runs (frozen/tfjs-plan.ts applyActivation), including where it is taken at the kinks:
 * relu 0 at x = 0; hardSigmoid (tf.clipByValue) 0.2 at both bounds; hardSwish x*relu6(x+3)/6.
 * Except: relu6 and clip take their mask from the output y alone (lo < y < hi), so the
 * pre-activation is not kept for the backward pass and ONNX Runtime fuses the Clip into its Conv
 * (0.68 instead of 1.0 GB at batch 32 for MobileNet v1 0.25 at 224, every layer trained). That
 * gives 0 where x is exactly a bound, where tf.relu6 gives 1 at 6 and tf.clipByValue 1 at both
 * bounds: a set of measure zero for a convolution's output (the layer test shows where).
 * Values are NCHW (4-D) or [N, C] (2-D), float32.
 */
import type { Activation } from '../../frozen/plan';
import { intAttr, type Graph } from '../emit';

/** tf.selu's constants (tfjs-core selu_util), which its gradient uses. */
const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473768;

/**
 * dL/dx of y = act(x), from dL/dy; `x` and `y` are both given so each derivative uses whichever is
 * cheaper. `rank4` as Graph.activation's: softmax runs over axis 1 (channels of NCHW, and the last
 * axis of [N, C]) unless it is false, then over the last axis.
 */
export function emitActivationGrad(g: Graph, act: Activation, x: string, y: string, dy: string, rank4?: boolean): string {
  const s = (hint: string, v: number) => g.scalar(hint, v);
  const mul = (a: string, b: string, hint = 'Mul') => g.op('Mul', [a, b], [], hint);
  /**
   * dy where `cond`, else 0, as dy times the condition cast to float (tf.relu's gradient is that
   * product too): ONNX Runtime's Cast and Mul together take 0.6 of the time of its Where with a
   * scalar zero (measured on the S4 step, where these masks are a quarter of the kernel time).
   */
  const pass = (cond: string, hint = 'Where') => g.op('Mul', [dy, g.op('Cast', [cond], [intAttr('to', 1)])], [], hint);
  /** lo < v < hi: the mask of a clip from its output (equal to a bound there also past it). */
  const inside = (v: string, lo: number, hi: number) => g.op('And', [g.op('Greater', [v, s('lo', lo)]), g.op('Less', [v, s('hi', hi)])]);
  /** lo < v <= hi: tf.relu6's mask. */
  const between = (v: string, lo: number, hi: number) => g.op('And', [g.op('Greater', [v, s('lo', lo)]), g.op('LessOrEqual', [v, s('hi', hi)])]);
  switch (act.kind) {
    case 'linear':
      return dy;
    case 'relu':
      return pass(g.op('Greater', [y, s('zero', 0)]), 'dRelu');
    case 'relu6':
      return pass(inside(y, 0, 6), 'dRelu6');
    case 'clip':
      return pass(inside(y, act.min ?? 0, act.max ?? 3.4e38), 'dClip');
    case 'leakyRelu': {
      const alpha = act.alpha ?? 0.3;
      return g.op('Where', [g.op('Greater', [x, s('zero', 0)]), dy, mul(dy, s('alpha', alpha))], [], 'dLeakyRelu');
    }
    case 'elu': {
      // x > 0: 1; else alpha * exp(x) = y + alpha (at x = 0 that is alpha: tf.elu's EluGrad gives 1 there, = alpha 1).
      const d = g.op('Where', [g.op('Greater', [x, s('zero', 0)]), s('one', 1), g.op('Add', [y, s('alpha', act.alpha ?? 1)])]);
      return mul(dy, d, 'dElu');
    }
    case 'selu': {
      // x > 0: scale; else scale * alpha * exp(x) = y + scale * alpha.
      const d = g.op('Where', [g.op('Greater', [x, s('zero', 0)]), s('scale', SELU_SCALE), g.op('Add', [y, s('scaleAlpha', SELU_SCALE_ALPHA)])]);
      return mul(dy, d, 'dSelu');
    }
    case 'sigmoid':
      return mul(dy, mul(y, g.op('Sub', [s('one', 1), y])), 'dSigmoid');
    case 'hardSigmoid': {
      // clipByValue(0.2 x + 0.5, 0, 1): 0.2 where 0 <= 0.2 x + 0.5 <= 1, bounds included.
      const z = g.op('Add', [mul(x, s('a', 0.2)), s('b', 0.5)]);
      const inside = g.op('And', [g.op('GreaterOrEqual', [z, s('zero', 0)]), g.op('LessOrEqual', [z, s('one', 1)])]);
      return mul(pass(inside), s('a', 0.2), 'dHardSigmoid');
    }
    case 'hardSwish': {
      // x * relu6(x + 3) / 6: relu6(x + 3) / 6 + x / 6 where 0 < x + 3 <= 6.
      const z = g.op('Add', [x, s('three', 3)]);
      const r = g.op('Clip', [z, s('min', 0), s('max', 6)]);
      const d = g.op('Add', [r, g.op('Where', [between(z, 0, 6), x, s('zero', 0)])]);
      return mul(dy, mul(d, s('sixth', 1 / 6)), 'dHardSwish');
    }
    case 'tanh':
      return mul(dy, g.op('Sub', [s('one', 1), mul(y, y)]), 'dTanh');
    case 'swish': {
      // x * sigmoid(x): sigmoid(x) * (1 + x * (1 - sigmoid(x))) = y + sigmoid(x) * (1 - y). (The
      // forward's Sigmoid(x) is the same node to ONNX Runtime's common-subexpression elimination.)
      const d = g.op('Add', [y, mul(g.op('Sigmoid', [x]), g.op('Sub', [s('one', 1), y]))]);
      return mul(dy, d, 'dSwish');
    }
    case 'mish': {
      // x * tanh(softplus(x)): t + x * (1 - t^2) * sigmoid(x).
      const t = g.op('Tanh', [g.op('Softplus', [x])]);
      const d = g.op('Add', [t, mul(mul(x, g.op('Sub', [s('one', 1), mul(t, t)])), g.op('Sigmoid', [x]))]);
      return mul(dy, d, 'dMish');
    }
    case 'gelu': {
      // 0.5 x (1 + erf(x / sqrt 2)): Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi).
      const cdf = mul(g.op('Add', [g.op('Erf', [g.op('Div', [x, s('sqrt2', Math.SQRT2)])]), s('one', 1)]), s('half', 0.5));
      const pdf = mul(g.op('Exp', [mul(mul(x, x), s('mhalf', -0.5))]), s('invSqrt2pi', 1 / Math.sqrt(2 * Math.PI)));
      return mul(dy, g.op('Add', [cdf, mul(x, pdf)]), 'dGelu');
    }
    case 'softplus':
      return mul(dy, g.op('Sigmoid', [x]), 'dSoftplus');
    case 'softsign': {
      const d = g.op('Add', [g.op('Abs', [x]), s('one', 1)]);
      return g.op('Div', [dy, mul(d, d)], [], 'dSoftsign');
    }
    case 'softmax': {
      // y * (dy - sum(dy * y)) over the softmax axis.
      const axis = g.ints('axis', [rank4 === false ? -1 : 1]);
      const dot = g.op('ReduceSum', [mul(dy, y), axis], [intAttr('keepdims', 1)]);
      return mul(y, g.op('Sub', [dy, dot]), 'dSoftmax');
    }
  }
}
