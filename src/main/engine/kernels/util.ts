/**
 * Helpers shared by the wasm training kernels. The kernels are written with tf ops (which run on
 * wasm, the only backend they are registered for) inside a tidy, and return the result Tensor:
 * the engine accepts a Tensor from a kernel as is (as it does from tfjs-node) and tapes nothing
 * while a kernel runs, so the ops inside are neither recorded nor leaked.
 */
import * as tf from '@tensorflow/tfjs';

/** Kernel inputs are Tensors when they come from ops; wrap a bare TensorInfo (direct kernel calls). */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo | undefined, name: string): tf.Tensor<R> {
  if (!info) throw new Error(`wasm training kernel: input '${name}' is missing`);
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

export function pair(v: number | [number, number] | undefined, fallback = 1): [number, number] {
  if (v == null) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : v;
}

export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

export function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPad {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * A filter gradient is a correlation of the (padded) input with dy used as the filter:
 * dW[k] = sum_o xpad[o*stride + k*dilation] * dy[o]. As a convolution with filter dy (taps
 * spaced by `stride`) moving in steps of `dilation`, the padded input must span
 * (k-1)*dilation + (outLen-1)*stride + 1 values; the far-side padding is chosen for that (never
 * below 0: extra outputs are cut off afterwards with `cropTo`).
 */
export function filterGradPadAfter(inLen: number, padBefore: number, k: number, stride: number, dilation: number, outLen: number): number {
  return Math.max(0, (k - 1) * dilation + (outLen - 1) * stride + 1 - inLen - padBefore);
}

/**
 * An input gradient is a correlation of dy, spread out by the stride (zeros in between, length
 * `spreadLen`), with the flipped filter. Padding before is (k-1)*dilation - padBefore, after
 * whatever makes the output inLen long; either may be negative for odd explicit paddings, so both
 * are clamped at 0 and `offset` says where the wanted inLen values start in the result.
 */
export function inputGradPads(inLen: number, padBefore: number, k: number, dilation: number, spreadLen: number): { before: number; after: number; offset: number } {
  const before = (k - 1) * dilation - padBefore;
  const after = inLen + (k - 1) * dilation - before - spreadLen;
  return { before: Math.max(0, before), after: Math.max(0, after), offset: Math.max(0, -before) };
}

/** Rows/cols [0, h) x [0, w) of an NHWC tensor (a no-op when it is that size already). */
export function cropTo(t: tf.Tensor4D, h: number, w: number, top = 0, left = 0): tf.Tensor4D {
  const [n, th, tw, c] = t.shape;
  if (top === 0 && left === 0 && th === h && tw === w) return t;
  return tf.slice(t, [0, top, left, 0], [n, h, w, c]);
}

/**
 * dy [n, oh, ow, c] with stride-1 zeros after every value along H and W: [n, oh*sh, ow*sw, c]
 * (the trailing zeros are harmless padding). Identity for stride 1.
 */
export function spread(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, c] = dy.shape;
  // Pad a [n, oh, 1, ow, 1, c] view with the zeros, then fold the new axes back in.
  const view = tf.reshape(dy, [n, oh, 1, ow, 1, c]);
  const padded = tf.pad(view, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(padded, [n, oh * sh, ow * sw, c]);
}
