/**
 * Backward of Conv2D and DepthwiseConv2D (NCHW) in standard ONNX operators, each mapped onto a
 * fast MLAS kernel: a weight gradient is, per kernel tap, a batched GEMM of the gradient with the
 * input's (strided) slice; a depthwise weight gradient is one grouped convolution whose "kernel" is
 * the output gradient (input [1, N*C, H, W], group N*C: both are plain reshapes of NCHW values);
 * an input gradient is a ConvTranspose with the forward's weight (a pointwise one a 1x1 Conv).
 */
import { intAttr, intsAttr, type Graph } from '../emit';
import type { AttributeMsg } from '../proto';

export interface ConvGeometry {
  depthwise: boolean;
  kh: number;
  kw: number;
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right]. */
  pads: [number, number, number, number];
  /** Input [C, H, W] and output [C, OH, OW]. */
  inShape: number[];
  outShape: number[];
}

/** x[:, :, i*dh :: sh, j*dw :: sw] cut to the output's OH x OW (the input as seen by tap (i, j)). */
function tapSlice(g: Graph, xp: string, i: number, j: number, c: ConvGeometry): string {
  const [, oh = 1, ow = 1] = c.outShape;
  const [sh, sw] = c.strides;
  const [dh, dw] = c.dilations;
  const starts = [i * dh, j * dw];
  const ends = [i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1];
  return g.op('Slice', [xp, g.ints('starts', starts), g.ints('ends', ends), g.ints('axes', [2, 3]), g.ints('steps', [sh, sw])], [], 'tap');
}

function padded(g: Graph, x: string, c: ConvGeometry): string {
  const [t, l, b, r] = c.pads;
  return t || l || b || r ? g.op('Pad', [x, g.ints('pads', [0, 0, t, l, 0, 0, b, r])], [], 'xpad') : x;
}

/** sum over the batch of dz3 [N, Co, P] x (x3 [N, Ci, P])^T: [Co, Ci]. */
function batchedOuter(g: Graph, dz3: string, x3: string): string {
  const prod = g.op('MatMul', [dz3, g.op('Transpose', [x3], [intsAttr('perm', [0, 2, 1])])], [], 'dWn');
  return g.op('ReduceSum', [prod, g.ints('axis0', [0])], [intAttr('keepdims', 0)], 'dW');
}

/** dL/dW in ONNX layout (OIHW, or [C, 1, kh, kw] for depthwise) from the input x and the output gradient dz. */
export function convWeightGrad(g: Graph, x: string, dz: string, c: ConvGeometry, batch: number | null): string {
  const [ci = 1] = c.inShape;
  const [co = 1, oh = 1, ow = 1] = c.outShape;
  if (c.depthwise) return batch === null ? depthwiseTaps(g, padded(g, x, c), dz, c) : depthwiseGrouped(g, x, dz, c, batch);
  if (c.kh === 1 && c.kw === 1 && c.strides[0] === 1 && c.strides[1] === 1 && !c.pads.some((p) => p)) {
    const dW = batchedOuter(g, g.op('Reshape', [dz, g.ints('shape', [0, co, oh * ow])]), g.op('Reshape', [x, g.ints('shape', [0, ci, oh * ow])]));
    return g.op('Reshape', [dW, g.ints('shape', [co, ci, 1, 1])]);
  }
  if (ci <= STEM_CHANNELS && batch !== null) return stemWeightGrad(g, x, dz, c);
  const xp = padded(g, x, c);
  const dz3 = g.op('Reshape', [dz, g.ints('shape', [0, co, oh * ow])]);
  const taps: string[] = [];
  for (let i = 0; i < c.kh; i++)
    for (let j = 0; j < c.kw; j++) {
      const x3 = g.op('Reshape', [tapSlice(g, xp, i, j, c), g.ints('shape', [0, ci, oh * ow])]);
      taps.push(g.op('Reshape', [batchedOuter(g, dz3, x3), g.ints('shape', [co, ci, 1])]));
    }
  const all = taps.length === 1 ? (taps[0] as string) : g.op('Concat', taps, [intAttr('axis', 2)]);
  return g.op('Reshape', [all, g.ints('shape', [co, ci, c.kh, c.kw])]);
}

/** Depthwise dW per tap: sum over batch, H and W of dz times the tap's slice of x. */
function depthwiseTaps(g: Graph, xp: string, dz: string, c: ConvGeometry): string {
  const [co = 1] = c.outShape;
  const axes = g.ints('axes', [0, 2, 3]);
  const taps: string[] = [];
  for (let i = 0; i < c.kh; i++) for (let j = 0; j < c.kw; j++) taps.push(g.op('ReduceSum', [g.op('Mul', [dz, tapSlice(g, xp, i, j, c)]), axes], [intAttr('keepdims', 0)]));
  const all = g.op('Concat', taps.map((t) => g.op('Unsqueeze', [t, g.ints('axis', [1])])), [intAttr('axis', 1)]);
  return g.op('Reshape', [all, g.ints('shape', [co, 1, c.kh, c.kw])]);
}

/**
 * The weight gradient as a convolution whose "kernel" is dz: the taps x reads become the output
 * positions (strides and dilations swap roles). The forward's padding becomes the Conv's own pads
 * (no padded copy of x); rows and columns past the last tap's reach are cut off x: it keeps `h` x `w`.
 */
export function dzKernelWindow(c: ConvGeometry): { h: number; w: number; attrs: AttributeMsg[] } {
  const [, oh = 1, ow = 1] = c.outShape;
  const [, h = 1, w = 1] = c.inShape;
  const spanH = (c.kh - 1) * c.dilations[0] + (oh - 1) * c.strides[0] + 1;
  const spanW = (c.kw - 1) * c.dilations[1] + (ow - 1) * c.strides[1] + 1;
  const endH = spanH - h - c.pads[0];
  const endW = spanW - w - c.pads[1];
  const attrs = [
    intsAttr('kernel_shape', [oh, ow]),
    intsAttr('strides', [c.dilations[0], c.dilations[1]]),
    intsAttr('dilations', [c.strides[0], c.strides[1]]),
    intsAttr('pads', [c.pads[0], c.pads[1], Math.max(0, endH), Math.max(0, endW)]),
  ];
  return { h: h + Math.min(0, endH), w: w + Math.min(0, endW), attrs };
}

/** x [*, *, H, W] cut to the window's rows and columns. */
function windowOf(g: Graph, x: string, c: ConvGeometry): { x: string; h: number; w: number; attrs: AttributeMsg[] } {
  const v = dzKernelWindow(c);
  const [, h = 1, w = 1] = c.inShape;
  return { ...v, x: v.h < h || v.w < w ? g.op('Slice', [x, g.ints('starts', [0, 0]), g.ints('ends', [v.h, v.w]), g.ints('axes', [2, 3])], [], 'xcrop') : x };
}

/**
 * Depthwise dW as one grouped convolution: the input [1, N*C, Hp, Wp] correlated with the "kernel"
 * dz [N*C, 1, OH, OW], then summed over the batch. The group count N*C is an attribute: the graph
 * is for one batch size.
 */
function depthwiseGrouped(g: Graph, x: string, dz: string, c: ConvGeometry, batch: number): string {
  const [co = 1, oh = 1, ow = 1] = c.outShape;
  const v = windowOf(g, x, c);
  const x1 = g.op('Reshape', [v.x, g.ints('shape', [1, batch * co, v.h, v.w])]);
  const w1 = g.op('Reshape', [dz, g.ints('shape', [batch * co, 1, oh, ow])]);
  const y = g.op('Conv', [x1, w1], [...v.attrs, intAttr('group', batch * co)], 'dWdw');
  const perImage = g.op('Reshape', [y, g.ints('shape', [batch, co, 1, c.kh, c.kw])]);
  return g.op('ReduceSum', [perImage, g.ints('axis0', [0])], [intAttr('keepdims', 0)], 'dW');
}

/**
 * Up to this many input channels (a stem on the images), a regular convolution's dW is one Conv of
 * x seen as [Ci, N, H, W] (the channels as images, the images as channels) with dz as [Co, N, OH, OW]
 * kernels, which sums over the batch itself: the per-tap GEMMs have Ci columns there, and took
 * 57 ms against 35 on MobileNet's conv1 at batch 32.
 */
const STEM_CHANNELS = 4;

function stemWeightGrad(g: Graph, x: string, dz: string, c: ConvGeometry): string {
  const swap = [intsAttr('perm', [1, 0, 2, 3])];
  const v = windowOf(g, g.op('Transpose', [x], swap), c);
  const y = g.op('Conv', [v.x, g.op('Transpose', [dz], swap)], [...v.attrs, intAttr('group', 1)], 'dWstem');
  return g.op('Transpose', [y], swap, 'dW');
}

/** dL/dx [N, Ci, H, W] from the output gradient dz and the (ONNX-layout) weight the forward used. */
export function convInputGrad(g: Graph, dz: string, w: string, c: ConvGeometry): string {
  const [ci = 1, h = 1, wd = 1] = c.inShape;
  const [, oh = 1, ow = 1] = c.outShape;
  const [sh, sw] = c.strides;
  const [dh, dw] = c.dilations;
  if (!c.depthwise && c.kh === 1 && c.kw === 1 && sh === 1 && sw === 1 && !c.pads.some((p) => p)) {
    return g.op('Conv', [dz, g.op('Transpose', [w], [intsAttr('perm', [1, 0, 2, 3])])], [intsAttr('kernel_shape', [1, 1])], 'dx');
  }
  // The transposed convolution (its weight layout [Co, Ci/group, kh, kw] is the forward's); measured
  // faster than a depthwise Conv of the zero-upsampled gradient with the flipped kernel (stride 2:
  // 34 ms against 128 ms at [32, 16, 112, 112]; stride 1: 28 against 55 ms at [32, 32, 56, 56]).
  const outPad = [h + c.pads[0] + c.pads[2] - ((c.kh - 1) * dh + 1) - sh * (oh - 1), wd + c.pads[1] + c.pads[3] - ((c.kw - 1) * dw + 1) - sw * (ow - 1)];
  return g.op(
    'ConvTranspose',
    [dz, w],
    [intsAttr('kernel_shape', [c.kh, c.kw]), intsAttr('strides', [sh, sw]), intsAttr('dilations', [dh, dw]), intsAttr('pads', c.pads), intsAttr('output_padding', outPad), intAttr('group', c.depthwise ? ci : 1)],
    'dx',
  );
}
