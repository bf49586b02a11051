/**
 * DepthwiseConv2dNativeBackpropFilter and ...BackpropInput for wasm (stock 4.22 has neither), built
 * from the backend's own depthwise convolution, so they cover every stride / padding / dilation /
 * channel multiplier the forward op accepts (NHWC, which is all the op has).
 *  - input gradient: dy spread out by the stride (zeros between), correlated with the flipped
 *    filter (a transposed convolution); per-channel multipliers are summed afterwards.
 *  - filter gradient: a direct loop over the input and dy (see filterGradLoop for why).
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, cropTo, explicitPad, inputGradPads, pair, spread } from './util';

type DepthwiseAttrs = tf.DepthwiseConv2dNativeBackpropInputAttrs | tf.DepthwiseConv2dNativeBackpropFilterAttrs;

function geometry(xShape: [number, number, number, number], filterShape: [number, number, number, number], attrs: DepthwiseAttrs) {
  const dilations = pair(attrs.dilations);
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, dilations, attrs.pad, attrs.dimRoundingMode, true);
}

export function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.Tensor {
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  return tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(args.inputs['dy'], 'dy');
    const filter = asTensor<tf.Rank.R4>(args.inputs['filter'], 'filter');
    const inShape = attrs.inputShape;
    const info = geometry(inShape, filter.shape, attrs);
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
    const [n, h, w, c] = inShape;
    const m = filter.shape[3];
    const spreadDy = spread(dy, sh, sw);
    const rows = inputGradPads(h, padInfo.top, kh, dh, spreadDy.shape[1]);
    const cols = inputGradPads(w, padInfo.left, kw, dw, spreadDy.shape[2]);
    // Output channel c*m+j was made by filter[:,:,c,j]: one depthwise filter per dy channel.
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const full = tf.depthwiseConv2d(spreadDy, flipped, 1, explicitPad(rows.before, rows.after, cols.before, cols.after), 'NHWC', [dh, dw]);
    const dx = cropTo(full, h, w, rows.offset, cols.offset);
    return m === 1 ? dx : tf.sum(tf.reshape(dx, [n, h, w, c, m]), 4);
  });
}

export function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.Tensor {
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(args.inputs['x'], 'x');
    const dy = asTensor<tf.Rank.R4>(args.inputs['dy'], 'dy');
    const info = geometry(x.shape, attrs.filterShape, attrs);
    return tf.tensor4d(filterGradLoop(x.dataSync() as Float32Array, dy.dataSync() as Float32Array, info), attrs.filterShape);
  });
}

/**
 * dW[kh,kw,c,j] = sum over batch and output positions of xpad[oh*s+kh*d, ow*s+kw*d, c] *
 * dy[oh, ow, c*m+j]: 9 multiply-adds per input value. A plain loop over the copied data does it
 * in one pass (~1 ns per multiply-add); wasm's own depthwise conv with dy as a huge filter ran at
 * about a tenth of that (xnnpack's generic path for one-channel groups). Float64 accumulators:
 * sums run over up to batch*h*w terms.
 */
function filterGradLoop(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const m = co / c;
  const acc = new Float64Array(kh * kw * co);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let i = 0; i < kh; i++) {
        const ih = r * sh + i * dh - padInfo.top;
        if (ih < 0 || ih >= h) continue;
        for (let q = 0; q < ow; q++) {
          const dyBase = ((b * oh + r) * ow + q) * co;
          for (let j = 0; j < kw; j++) {
            const iw = q * sw + j * dw - padInfo.left;
            if (iw < 0 || iw >= w) continue;
            const xBase = ((b * h + ih) * w + iw) * c;
            const accBase = (i * kw + j) * co;
            if (m === 1) {
              for (let k = 0; k < c; k++) acc[accBase + k]! += x[xBase + k]! * dy[dyBase + k]!;
            } else {
              for (let k = 0; k < c; k++) {
                const xv = x[xBase + k]!;
                for (let t = 0; t < m; t++) acc[accBase + k * m + t]! += xv * dy[dyBase + k * m + t]!;
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}
