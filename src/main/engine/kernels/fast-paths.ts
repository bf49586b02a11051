/**
 * Faster routes for three stock wasm kernels that training hits hard (measured on 2 threads; see
 * bench/kernels.ts). Each wraps the stock kernel and falls back to it outside its fast case.
 *  - BatchMatMul with a transpose flag runs 10-20x slower than an explicit Transpose followed by
 *    the flag-free product (every matMul gradient sets a flag).
 *  - Conv2DBackpropInput of a 1x1, stride-1 conv is ~10x slower than the equivalent forward conv
 *    with the filter's in/out channels swapped (MobileNet's pointwise convs).
 *  - Tile that only repeats size-1 axes (the BatchNorm gradient tiles [1,1,1,C] to the activation
 *    shape) is ~20x slower than a broadcasting add onto zeros.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './util';

type KernelArgs = Parameters<tf.KernelFunc>[0];

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
  return tf.transpose(t, perm);
}

export function batchMatMulTransposeFirst(stock: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!attrs.transposeA && !attrs.transposeB) return stock(args);
    const temps: tf.Tensor[] = [];
    const keep = (t: tf.Tensor) => (temps.push(t), t);
    try {
      const a = asTensor(args.inputs['a'], 'a');
      const b = asTensor(args.inputs['b'], 'b');
      if (a !== args.inputs['a']) temps.push(a);
      if (b !== args.inputs['b']) temps.push(b);
      const inputs = { a: attrs.transposeA ? keep(swapLastTwo(a)) : a, b: attrs.transposeB ? keep(swapLastTwo(b)) : b };
      // The stock kernel returns a fresh TensorInfo; the transposed copies can go right after.
      return stock({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) t.dispose();
    }
  };
}

export function conv2dBackpropInputPointwise(stock: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const filter = args.inputs['filter'];
    if (!filter || attrs.dataFormat === 'NCHW' || filter.shape[0] !== 1 || filter.shape[1] !== 1) return stock(args);
    const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const p = info.padInfo;
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || p.top || p.bottom || p.left || p.right) return stock(args);
    return tf.tidy(() => {
      const dy = asTensor<tf.Rank.R4>(args.inputs['dy'], 'dy');
      const w = asTensor<tf.Rank.R4>(filter, 'filter');
      return tf.conv2d(dy, tf.transpose(w, [0, 1, 3, 2]) as tf.Tensor4D, 1, 'valid');
    });
  };
}

export function tileAsBroadcast(stock: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    const x = args.inputs['x'];
    if (!x || (x.dtype !== 'float32' && x.dtype !== 'int32')) return stock(args);
    if (!x.shape.every((d, i) => d === 1 || reps[i] === 1)) return stock(args);
    return tf.tidy(() => {
      const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1));
      return tf.add(asTensor(x, 'x'), tf.zeros(outShape, x.dtype));
    });
  };
}
