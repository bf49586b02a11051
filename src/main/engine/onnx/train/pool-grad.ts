/**
 * Backward of pooling (MaxPooling2D, AveragePooling2D, GlobalMax/AveragePooling2D) for the training
 * graphs of scenarios 2-4, NCHW. Padding 'same' is TensorFlow's (SAME_UPPER: the odd cell of
 * padding at the end); average pooling divides by the count of real cells, as tf.avgPool does.
 *  - max: MaxPool's Indices output (the first maximum of each window in row-major order, as
 *    TensorFlow.js' maxPoolBackprop picks it at ties) says where each dy goes; MaxUnpool puts it
 *    there when windows do not overlap, ScatterElements with reduction 'add' when they do (a cell
 *    that is the maximum of several windows gets the sum).
 *  - avg: dy divided by each window's count, spread over its window by a grouped ConvTranspose
 *    with a kernel of ones (its pads crop the padding cells, output_padding restores the cells
 *    at the end that no window covers).
 *  - global max: dy to every cell equal to the maximum (tf.max's gradient: all ties get it).
 */
import { intAttr, intsAttr, type Graph } from '../emit';
import { multiOp, stringAttr } from './grad-util';

export interface PoolSpec {
  kind: 'max' | 'avg';
  size: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

interface Axis {
  /** Output length. */
  out: number;
  /** Padding cells before the first (TensorFlow's 'same' puts the odd one after). */
  before: number;
  /** ConvTranspose pads at the end (padding cells after the last) and output_padding (uncovered cells). */
  cropEnd: number;
  extra: number;
  /** Real cells in each window. */
  counts: number[];
}

function axisOf(size: number, k: number, s: number, padding: PoolSpec['padding']): Axis {
  const out = padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
  const before = padding === 'same' ? Math.floor(Math.max((out - 1) * s + k - size, 0) / 2) : 0;
  const covered = (out - 1) * s + k - before; // end of the last window, in input cells
  const counts = Array.from({ length: out }, (_, o) => Math.min(o * s - before + k, size) - Math.max(o * s - before, 0));
  return { out, before, cropEnd: Math.max(covered - size, 0), extra: Math.max(size - covered, 0), counts };
}

/** dL/dx of a pooling layer; `inShape` is x's [C, H, W], `x` and `y` its input and output. */
export function emitPoolGrad(g: Graph, spec: PoolSpec, x: string, y: string, dy: string, inShape: [number, number, number]): string {
  void y;
  const [c, h, w] = inShape;
  const [kh, kw] = spec.size;
  const [sh, sw] = spec.strides;
  const ah = axisOf(h, kh, sh, spec.padding);
  const aw = axisOf(w, kw, sw, spec.padding);
  if (ah.out < 1 || aw.out < 1) throw new Error(`a ${kh}x${kw} pool does not fit a ${h}x${w} input`);
  const shapeOfX = g.op('Shape', [x]);
  if (spec.kind === 'max') {
    const attrs = [intsAttr('kernel_shape', spec.size), intsAttr('strides', spec.strides)];
    attrs.push(spec.padding === 'same' ? stringAttr('auto_pad', 'SAME_UPPER') : intsAttr('pads', [0, 0, 0, 0]));
    const [, indices] = multiOp(g, 'MaxPool', [x], 2, attrs, 'argmax') as [string, string];
    if (sh >= kh && sw >= kw) {
      const unpool = [intsAttr('kernel_shape', spec.size), intsAttr('strides', spec.strides), intsAttr('pads', [ah.before, aw.before, ah.cropEnd, aw.cropEnd])];
      return g.op('MaxUnpool', [dy, indices, shapeOfX], unpool, 'dMaxPool');
    }
    const flat = g.ints('flat', [-1]);
    const zeros = g.op('Reshape', [g.op('ConstantOfShape', [shapeOfX]), flat]);
    const summed = g.op('ScatterElements', [zeros, g.op('Reshape', [indices, flat]), g.op('Reshape', [dy, flat])], [intAttr('axis', 0), stringAttr('reduction', 'add')]);
    return g.op('Reshape', [summed, shapeOfX], [], 'dMaxPool');
  }
  let scaled: string;
  if (spec.padding === 'valid') scaled = g.op('Mul', [dy, g.scalar('invCount', 1 / (kh * kw))]);
  else {
    const inv = new Float32Array(ah.out * aw.out);
    for (let i = 0; i < ah.out; i++) for (let j = 0; j < aw.out; j++) inv[i * aw.out + j] = 1 / ((ah.counts[i] as number) * (aw.counts[j] as number));
    scaled = g.op('Mul', [dy, g.floats('invCount', [ah.out, aw.out], inv)]);
  }
  const ones = g.floats('ones', [c, 1, kh, kw], new Float32Array(c * kh * kw).fill(1));
  const attrs = [
    intsAttr('kernel_shape', spec.size),
    intsAttr('strides', spec.strides),
    intAttr('group', c),
    intsAttr('pads', [ah.before, aw.before, ah.cropEnd, aw.cropEnd]),
    intsAttr('output_padding', [ah.extra, aw.extra]),
  ];
  return g.op('ConvTranspose', [scaled, ones], attrs, 'dAvgPool');
}

/**
 * dL/dx of global pooling over H and W; `dy` is [N, C] (or [N, C, 1, 1] with keepDims), x [N, C, H, W]
 * of `inShape` [C, H, W].
 */
export function emitGlobalPoolGrad(g: Graph, kind: 'max' | 'avg', x: string, y: string, dy: string, inShape: [number, number, number], keepDims: boolean): string {
  const hw = g.ints('hw', [2, 3]);
  const as4 = (v: string) => (keepDims ? v : g.op('Unsqueeze', [v, hw]));
  if (kind === 'avg') {
    const d = g.op('Mul', [as4(dy), g.scalar('invHW', 1 / (inShape[1] * inShape[2]))]);
    return g.op('Expand', [d, g.op('Shape', [x])], [], 'dGlobalAvg');
  }
  return g.op('Where', [g.op('Equal', [x, as4(y)]), as4(dy), g.scalar('zero', 0)], [], 'dGlobalMax');
}
