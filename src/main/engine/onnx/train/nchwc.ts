/**
 * Convolutions of the training graphs on ONNX Runtime's own blocked-layout kernels (domain
 * com.microsoft.nchwc: MLAS' NCHWc convolutions, several times faster than its generic NCHW ones,
 * depthwise most of all). ONNX Runtime rewrites a Conv into these only when its weight is a constant
 * initializer; a training step's weights are graph inputs, so the graph writes them itself, with the
 * weights reordered in the graph (as MlasReorderFilterOIHWBo / OIHWBiBo do) every step.
 * A blocked value has dims [N, C', H, W] (C' = C rounded up to the block B) and memory
 * [N, C'/B, H, W, B]; the channels past C are zeros. Elementwise ops (the activation masks) run on
 * it unchanged; reductions and weight gradients view it as 5-D.
 * B is the machine's (8 with AVX2, 16 with AVX-512): runtime.ts' nchwcBlockSize probes it.
 */
import type { Activation } from '../../frozen/plan';
import { intAttr, intsAttr, type Graph } from '../emit';
import { ATTR } from '../proto';
import { dzKernelWindow, type ConvGeometry } from './conv-grad';
import { stringAttr } from './grad-util';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export const aligned = (c: number, block: number): number => Math.ceil(c / block) * block;

/** A node of the NCHWc domain. */
export function nchwcOp(g: Graph, opType: string, input: string[], attrs: Parameters<Graph['op']>[2] = [], hint = `nchwc${opType}`): string {
  const out = g.op(opType, input, attrs, hint);
  (g.nodes[g.nodes.length - 1] as (typeof g.nodes)[number]).domain = NCHWC_DOMAIN;
  return out;
}

/** NCHW [N, C, H, W] (or NHWC with channelsLast) to blocked; C must be a multiple of 4. */
export function toBlocked(g: Graph, x: string, channelsLast = false): string {
  return nchwcOp(g, 'ReorderInput', [x], channelsLast ? [intAttr('channels_last', 1)] : [], 'blocked');
}

/** Blocked to NCHW [N, C, H, W]. */
export function fromBlocked(g: Graph, x: string, channels: number): string {
  return nchwcOp(g, 'ReorderOutput', [x], [intAttr('channels', channels)], 'unblocked');
}

/** Zeros appended to `axis` of a small tensor of rank `rank` up to `to`. */
function padAxis(g: Graph, w: string, rank: number, axis: number, from: number, to: number): string {
  if (to === from) return w;
  const pads = new Array<number>(2 * rank).fill(0);
  pads[rank + axis] = to - from;
  return g.op('Pad', [w, g.ints('pads', pads)], [], 'wpad');
}

/** OIHW [o, i, kh, kw] as MLAS' OIHWBo (depthwise, or an NCHW input): dims [o', i, kh, kw]. */
export function filterBo(g: Graph, w: string, [o, i, kh, kw]: number[], block: number): string {
  const o2 = aligned(o as number, block);
  const wp = padAxis(g, w, 4, 0, o as number, o2);
  const t = g.op('Transpose', [g.op('Reshape', [wp, g.ints('shape', [o2 / block, block, i as number, kh as number, kw as number])])], [intsAttr('perm', [0, 2, 3, 4, 1])]);
  return g.op('Reshape', [t, g.ints('shape', [o2, i as number, kh as number, kw as number])], [], 'wBo');
}

/** OIHW [o, i, kh, kw] as MLAS' OIHWBiBo (blocked input and output): dims [o', i', kh, kw]. */
export function filterBiBo(g: Graph, w: string, [o, i, kh, kw]: number[], block: number): string {
  const o2 = aligned(o as number, block);
  const i2 = aligned(i as number, block);
  const wp = padAxis(g, padAxis(g, w, 4, 0, o as number, o2), 4, 1, i as number, i2);
  const six = g.op('Reshape', [wp, g.ints('shape', [o2 / block, block, i2 / block, block, kh as number, kw as number])]);
  const t = g.op('Transpose', [six], [intsAttr('perm', [0, 2, 4, 5, 3, 1])]);
  return g.op('Reshape', [t, g.ints('shape', [o2, i2, kh as number, kw as number])], [], 'wBiBo');
}

/** The activations MLAS fuses into its convolution that the backward reads from the output alone. */
export function fusedActivation(act: Activation): { name: string; params?: number[] } | null {
  switch (act.kind) {
    case 'linear':
      return { name: '' };
    case 'relu':
      return { name: 'Relu' };
    case 'relu6':
      return { name: 'Clip', params: [0, 6] };
    case 'clip':
      return { name: 'Clip', params: [act.min ?? 0, act.max ?? 3.4e38] };
    default:
      return null;
  }
}

function convAttrs(kernel: [number, number], strides: [number, number], dilations: [number, number], pads: number[], group: number) {
  return [intsAttr('kernel_shape', kernel), intsAttr('strides', strides), intsAttr('dilations', dilations), intsAttr('pads', pads), intAttr('group', group)];
}

/**
 * The forward convolution, blocked output. `x` is blocked, or NCHW when `nchwInput` (a regular
 * convolution of fewer input channels than the block: MLAS reads NCHW directly). `w` OIHW.
 */
export function blockedConv(g: Graph, x: string, w: string, bias: string | null, c: ConvGeometry, act: Activation, block: number, nchwInput: boolean, hint: string): string {
  const [ci = 1] = c.inShape;
  const [co = 1] = c.outShape;
  const dims = [co, c.depthwise ? 1 : ci, c.kh, c.kw];
  const filter = c.depthwise || nchwInput ? filterBo(g, w, dims, block) : filterBiBo(g, w, dims, block);
  const b = bias ? padAxis(g, bias, 1, 0, co, aligned(co, block)) : null;
  const fused = fusedActivation(act);
  if (!fused) throw new Error(`activation ${act.kind} is not fused on NCHWc`);
  const attrs = convAttrs([c.kh, c.kw], c.strides, c.dilations, c.pads, c.depthwise ? aligned(co, block) : 1);
  if (fused.name) attrs.push(stringAttr('activation', fused.name));
  if (fused.params) attrs.push({ name: 'activation_params', type: ATTR.FLOATS, floats: fused.params });
  return nchwcOp(g, 'Conv', [x, filter, ...(b ? [b] : [])], attrs, hint);
}

/** Per-channel sum over batch, height and width of a blocked [N, C', H, W]: [C'] (the padding channels' included). */
export function channelSums(g: Graph, v: string, c2: number, spatial: number, block: number): string {
  // Over the pixels, then the batch: two reductions ONNX Runtime has fast kernels for (one over
  // axes 0 and 2 together runs its generic loop, several times slower).
  const perImage = g.op('ReduceSum', [g.op('Reshape', [v, g.ints('shape', [-1, spatial, block])]), g.ints('axes', [1])], [intAttr('keepdims', 0)]);
  return g.op('ReduceSum', [g.op('Reshape', [perImage, g.ints('shape', [-1, c2])]), g.ints('axis0', [0])], [intAttr('keepdims', 0)], 'sumC');
}

/**
 * Per-channel sum over batch, height and width of a * b, two blocked [N, C', H, W]: [C']. One NCHWc
 * depthwise convolution of a seen as [1, N*C', H, W] with b as its N*C' kernels, each as large as
 * the image (a blocked value is, byte for byte, MLAS' OIHWBo filter: blockedDepthwiseWeightGrad);
 * it reads both once and writes N*C' numbers, where a Mul and a ReduceSum write and re-read a whole
 * product (measured 2.3 ms against 9 ms for a . a at [32, 16, 112, 112]).
 */
export function channelDots(g: Graph, a: string, b: string, [c2, h, w]: [number, number, number], batch: number): string {
  const x1 = g.op('Reshape', [a, g.ints('shape', [1, batch * c2, h, w])]);
  const k = g.op('Reshape', [b, g.ints('shape', [batch * c2, 1, h, w])]);
  const perImage = nchwcOp(g, 'Conv', [x1, k], convAttrs([h, w], [1, 1], [1, 1], [0, 0, 0, 0], batch * c2), 'dot');
  return g.op('ReduceSum', [g.op('Reshape', [perImage, g.ints('shape', [batch, c2])]), g.ints('axis0', [0])], [intAttr('keepdims', 0)], 'dotC');
}

/** The first `n` of a vector. */
export function head1d(g: Graph, v: string, n: number, length: number): string {
  return n === length ? v : g.op('Slice', [v, g.ints('starts', [0]), g.ints('ends', [n]), g.ints('axes', [0])], [], 'cut');
}

/** Per-channel sum over batch, height and width of a blocked [N, C', H, W]: [C]. */
export function blockedChannelSum(g: Graph, v: string, channels: number, spatial: number, block: number): string {
  const c2 = aligned(channels, block);
  return head1d(g, channelSums(g, v, c2, spatial, block), channels, c2);
}

/**
 * scale * x + shift per channel (and a fused activation) of a blocked x: a 1x1 depthwise NCHWc
 * convolution, one pass (a Mul and an Add would make two); `scale` and `shift` are [C'].
 * With `sum`, that is added before the activation (MLAS accumulates into it).
 */
export function blockedAffine(g: Graph, x: string, scale: string, shift: string | null, c2: number, sum?: string, act: Activation = { kind: 'linear' }): string {
  const fused = fusedActivation(act);
  if (!fused) throw new Error(`activation ${act.kind} is not fused on NCHWc`);
  const attrs = convAttrs([1, 1], [1, 1], [1, 1], [0, 0, 0, 0], c2);
  if (fused.name) attrs.push(stringAttr('activation', fused.name));
  if (fused.params) attrs.push({ name: 'activation_params', type: ATTR.FLOATS, floats: fused.params });
  // A 1x1 depthwise filter's OIHWBo order is its plain order.
  const w = g.op('Reshape', [scale, g.ints('shape', [c2, 1, 1, 1])]);
  return nchwcOp(g, 'Conv', sum ? [x, w, shift ?? '', sum] : [x, w, ...(shift ? [shift] : [])], attrs, 'affine');
}

/** Zeros appended to a [C] vector up to [C']. */
export function padChannels(g: Graph, v: string, c: number, c2: number): string {
  return padAxis(g, v, 1, 0, c, c2);
}

/**
 * A depthwise weight gradient (ONNX layout [C, 1, kh, kw]) from blocked x and dz: one NCHWc
 * depthwise convolution of x seen as [1, N*C', H, W] with dz as its N*C' kernels (a blocked
 * [N, C', OH, OW] is, byte for byte, MLAS' OIHWBo filter of [N*C', 1, OH, OW]), summed over the batch.
 */
export function blockedDepthwiseWeightGrad(g: Graph, x: string, dz: string, c: ConvGeometry, batch: number, block: number): string {
  const [ch = 1, h = 1, w = 1] = c.inShape;
  const [, oh = 1, ow = 1] = c.outShape;
  const c2 = aligned(ch, block);
  const { h: hv, w: wv, attrs: window } = dzKernelWindow(c);
  // Rows and columns no tap reads are cut off (on the 5-D view: a 4-D slice would cut the blocks).
  const xv = hv < h || wv < w ? g.op('Slice', [g.op('Reshape', [x, g.ints('shape', [batch, c2 / block, h, w, block])]), g.ints('starts', [0, 0]), g.ints('ends', [hv, wv]), g.ints('axes', [2, 3])], [], 'xcrop') : x;
  const x1 = g.op('Reshape', [xv, g.ints('shape', [1, batch * c2, hv, wv])]);
  const w1 = g.op('Reshape', [dz, g.ints('shape', [batch * c2, 1, oh, ow])]);
  const attrs = [...window, intAttr('group', batch * c2)];
  const y = nchwcOp(g, 'Conv', [x1, w1], attrs, 'dWdw');
  const summed = g.op('ReduceSum', [g.op('Reshape', [y, g.ints('shape', [batch, c2 / block, c.kh, c.kw, block])]), g.ints('axis0', [0])], [intAttr('keepdims', 0)]);
  const oihw = g.op('Reshape', [g.op('Transpose', [summed], [intsAttr('perm', [0, 3, 1, 2])]), g.ints('shape', [c2, 1, c.kh, c.kw])]);
  return c2 === ch ? oihw : g.op('Slice', [oihw, g.ints('starts', [0]), g.ints('ends', [ch]), g.ints('axes', [0])], [], 'dW');
}

/** Blocked [N, C', H, W] as channels-last rows [N*H*W, C']. */
function rowsOf(g: Graph, v: string, channels: number, spatial: number, block: number): string {
  const c2 = aligned(channels, block);
  const t = g.op('Transpose', [g.op('Reshape', [v, g.ints('shape', [-1, c2 / block, spatial, block])])], [intsAttr('perm', [0, 2, 1, 3])]);
  return g.op('Reshape', [t, g.ints('shape', [-1, c2])], [], 'rows');
}

/**
 * Below this many pixels per image a pointwise weight gradient is one GEMM over channels-last
 * copies of x and dz; from it, products of their blocks as they lie (no copies, but a product per
 * image and pair of channel blocks: many small ones where the image is small and the channels many).
 */
const BLOCK_PRODUCTS_FROM = 28 * 28;

/** A pointwise (1x1, stride 1, unpadded) weight gradient [Co, Ci, 1, 1] from blocked x and dz. */
export function blockedPointwiseWeightGrad(g: Graph, x: string, dz: string, c: ConvGeometry, block: number): string {
  const [ci = 1] = c.inShape;
  const [co = 1, oh = 1, ow = 1] = c.outShape;
  const p = oh * ow;
  const cob = aligned(co, block) / block;
  const cib = aligned(ci, block) / block;
  let dW: string;
  if (p < BLOCK_PRODUCTS_FROM) dW = g.op('Gemm', [rowsOf(g, dz, co, p, block), rowsOf(g, x, ci, p, block)], [intAttr('transA', 1)], 'dWpw');
  else {
    // For each image and pair of channel blocks [B, P] x [P, B] (dz's block transposed: ONNX
    // Runtime folds that Transpose into its MatMul), then summed over the images.
    const a = g.op('Transpose', [g.op('Reshape', [dz, g.ints('shape', [-1, cob, 1, p, block])])], [intsAttr('perm', [0, 1, 2, 4, 3])]);
    const b = g.op('Reshape', [x, g.ints('shape', [-1, 1, cib, p, block])]);
    const summed = g.op('ReduceSum', [g.op('MatMul', [a, b], [], 'dWpw'), g.ints('axis0', [0])], [intAttr('keepdims', 0)]); // [Cob, Cib, Bo, Bi]
    dW = g.op('Reshape', [g.op('Transpose', [summed], [intsAttr('perm', [0, 2, 1, 3])]), g.ints('shape', [cob * block, cib * block])]);
  }
  const cut = cob * block === co && cib * block === ci ? dW : g.op('Slice', [dW, g.ints('starts', [0, 0]), g.ints('ends', [co, ci]), g.ints('axes', [0, 1])]);
  return g.op('Reshape', [cut, g.ints('shape', [co, ci, 1, 1])], [], 'dW');
}

/**
 * dL/dx, blocked [N, Ci', H, W], from blocked dz and the forward's OIHW weight `w`: the correlation
 * of dz (zero-upsampled by the stride) with the flipped kernel (in and out channels swapped for a
 * regular convolution). Null when its padding would be negative (the caller then takes the NCHW road).
 */
export function blockedInputGrad(g: Graph, dz: string, w: string, c: ConvGeometry, block: number): string | null {
  const [ci = 1, h = 1, wd = 1] = c.inShape;
  const [co = 1, oh = 1, ow = 1] = c.outShape;
  const [sh, sw] = c.strides;
  const [dh, dw] = c.dilations;
  const co2 = aligned(co, block);
  const lh = oh * sh;
  const lw = ow * sw;
  const pads = [(c.kh - 1) * dh - c.pads[0], (c.kw - 1) * dw - c.pads[1], h - lh + c.pads[0], wd - lw + c.pads[1]];
  if (pads.some((p) => p < 0)) return null;
  const pointwise = c.kh === 1 && c.kw === 1;
  const flipped = pointwise ? w : g.op('Slice', [w, g.ints('starts', [-1, -1]), g.ints('ends', [-(2 ** 62), -(2 ** 62)]), g.ints('axes', [2, 3]), g.ints('steps', [-1, -1])], [], 'wflip');
  const filter = c.depthwise ? filterBo(g, flipped, [co, 1, c.kh, c.kw], block) : filterBiBo(g, g.op('Transpose', [flipped], [intsAttr('perm', [1, 0, 2, 3])]), [ci, co, c.kh, c.kw], block);
  let u = dz;
  if (sh > 1 || sw > 1) {
    // Zeros between the rows and columns of dz (and after the last), on the 7-D view of its blocks.
    const seven = g.op('Reshape', [dz, g.ints('shape', [-1, co2 / block, oh, 1, ow, 1, block])]);
    const padded = g.op('Pad', [seven, g.ints('pads', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1, 0])], [], 'dzUp');
    u = g.op('Reshape', [padded, g.ints('shape', [-1, co2, lh, lw])]);
  }
  const group = c.depthwise ? co2 : 1;
  return nchwcOp(g, 'Conv', [u, filter], convAttrs([c.kh, c.kw], [1, 1], [dh, dw], pads, group), 'dx');
}
