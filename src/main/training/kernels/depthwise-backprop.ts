/**
 * DepthwiseConv2dNativeBackpropFilter and ...BackpropInput for wasm (stock 4.22 has neither), built
 * from the backend's own depthwise convolution, so they cover every stride / padding / dilation /
 * channel multiplier the forward op accepts (NHWC, which is all the op has).
 *  - input gradient: dy spread out by the stride (zeros between), correlated with the flipped
 *    filter (a transposed convolution); per-channel multipliers are summed afterwards.
 *  - filter gradient: per image, the image correlated with its own dy as a depthwise filter
 *    (taps spaced by the stride, moving in steps of the dilation) gives [kh,kw,c*m] directly;
 *    summed over the batch. A depthwise conv shares its filter across the batch, hence the loop.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, cropTo, explicitPad, filterGradPadAfter, inputGradPads, pair, spread } from './util';

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
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
    const [n, h, w, c] = x.shape;
    const [, oh, ow] = dy.shape;
    const m = attrs.filterShape[3];
    const pad = explicitPad(
      padInfo.top,
      filterGradPadAfter(h, padInfo.top, kh, sh, dh, oh),
      padInfo.left,
      filterGradPadAfter(w, padInfo.left, kw, sw, dw, ow),
    );
    let total: tf.Tensor4D | null = null;
    for (let i = 0; i < n; i++) {
      const xi = tf.slice(x, [i, 0, 0, 0], [1, h, w, c]);
      const dyi = tf.reshape(tf.slice(dy, [i, 0, 0, 0], [1, oh, ow, c * m]), [oh, ow, c, m]) as tf.Tensor4D;
      const g = cropTo(tf.depthwiseConv2d(xi, dyi, [dh, dw], pad, 'NHWC', [sh, sw]), kh, kw);
      total = total ? tf.add<tf.Tensor4D>(total, g) : g;
    }
    if (!total) return tf.zeros(attrs.filterShape);
    return tf.reshape(total, attrs.filterShape);
  });
}
