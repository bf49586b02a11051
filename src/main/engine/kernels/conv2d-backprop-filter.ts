/**
 * Conv2DBackpropFilter for wasm (stock tfjs-backend-wasm 4.22 has none).
 *  - 1x1, stride 1, no padding (MobileNet's pointwise convs): dW = x^T dy, one matMul.
 *  - anything else (the first 3x3 stride-2 conv): the filter gradient is a convolution of the
 *    input with dy as the filter, batch and channels swapped (TensorFlow's classic trick):
 *    x [n,h,w,ci] -> [ci,h,w,n], dy [n,oh,ow,co] -> [oh,ow,n,co], conv2d with dilation = stride
 *    gives [ci,kh,kw,co] -> [kh,kw,ci,co]. Any stride and padding; NHWC only.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, cropTo, explicitPad, filterGradPadAfter } from './util';

export function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.Tensor {
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter: only NHWC is supported');
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(args.inputs['x'], 'x');
    const dy = asTensor<tf.Rank.R4>(args.inputs['dy'], 'dy');
    const info = tf.backend_util.computeConv2DInfo(x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw, padInfo } = info;
    const unpadded = padInfo.top === 0 && padInfo.bottom === 0 && padInfo.left === 0 && padInfo.right === 0;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && unpadded) {
      const x2 = tf.reshape(x, [-1, ci]);
      const dy2 = tf.reshape(dy, [-1, co]);
      // Transpose the narrower of the two (the other side of the product stays row-major).
      const dw = ci <= co ? tf.matMul(tf.transpose(x2), dy2) : tf.transpose(tf.matMul(tf.transpose(dy2), x2));
      return tf.reshape(dw, [1, 1, ci, co]);
    }
    const [, oh, ow] = dy.shape;
    const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const bottom = filterGradPadAfter(info.inHeight, padInfo.top, kh, sh, 1, oh);
    const right = filterGradPadAfter(info.inWidth, padInfo.left, kw, sw, 1, ow);
    const g = tf.conv2d(xt, dyt, 1, explicitPad(padInfo.top, bottom, padInfo.left, right), 'NHWC', [sh, sw]);
    return tf.transpose(cropTo(g, kh, kw), [1, 2, 0, 3]);
  });
}
