/**
 * The training step of scenarios 2-4 as ONE ONNX model (opset 17, standard operators only: the CPU
 * build has no training ops): the trainable part (train-plan.ts) forward in training mode, the head
 * (head-graph.ts: dense layers, dropout masks as inputs), the class-weighted mean cross-entropy and
 * the gradient of every trainable tensor, written by hand. Layout NCHW inside; the input is NHWC
 * (the frozen part's output, or the images) as everywhere else in the engine.
 * Inputs: "input" [N, H, W, C]; "net" (the part's parameters, flat, each in tf.layers' layout, as
 * train-plan.ts orders them); "stats" (each BatchNorm's moving mean then variance); "flat" (the
 * head's parameters), "rowWeight", "target", mask0.. (head-graph.ts). Outputs: "logp", "grad" (the
 * head's gradient), "gnet" (the part's, laid out as "net") and, when BatchNorm learns from the
 * batch, "batchStats" (laid out as "stats"). A forward-only model (emitEvalStep) gives "logp" from
 * the same inputs for validation. The parameters being inputs, one session serves every step.
 */
import { emitMerge, Graph, intAttr, intsAttr, OnnxUnsupportedError } from '../emit';
import { emitHeadLogp, emitHeadLoss, headLossInputs, headParamCount, model, tensor, type HeadGraphSpec } from '../head-graph';
import { emitActivationGrad } from './activation-grad';
import { emitBatchNormTrain, emitBatchNormTrainGrad, type BatchNormTrainValues } from './batchnorm-grad';
import { convInputGrad, convWeightGrad, type ConvGeometry } from './conv-grad';
import { emitConcatGrad, emitMergeGrad } from './merge-grad';
import { aligned, blockedAffine, blockedChannelSum, blockedConv, blockedDepthwiseWeightGrad, channelDots, channelSums, head1d, padChannels, blockedInputGrad, blockedPointwiseWeightGrad, fromBlocked, fusedActivation, toBlocked } from './nchwc';
import { emitGlobalPoolGrad, emitPoolGrad } from './pool-grad';
import type { BatchNormRef, ParamRef, TrainNode, TrainPlan } from './train-plan';

export interface TrainGraphSpec {
  plan: TrainPlan;
  head: HeadGraphSpec;
  /** 'inference': BatchNorm is the fixed affine of its moving statistics; 'batch': batch statistics. */
  bnMode: 'inference' | 'batch';
  /** The graph is written for this batch size (a depthwise weight gradient needs it as an attribute). */
  batch: number;
  /**
   * The machine's NCHWc block (runtime.ts nchwcBlockSize): convolutions then run on ONNX Runtime's
   * blocked-layout kernels (nchwc.ts). 0 or absent: standard ONNX convolutions only.
   */
  nchwcBlock?: number;
}

/**
 * A gradient flowing into a value: NCHW, or blocked (nchwc.ts) when a blocked convolution made it;
 * a blocked one may come with a per-channel factor [C'] still to apply (backwardBlockedBatchNorm),
 * which a blocked convolution takes into its weights instead of a pass over the gradient.
 */
type GradOut = string | { blocked: string; scale?: string } | null;

/**
 * Activations whose derivative (activation-grad.ts) reads the output alone, so that the pre-activation
 * need not be kept (ONNX Runtime then fuses the activation into the Conv): where their derivative is
 * non-zero the output equals the pre-activation, which is also what the BatchNorm gradient needs.
 * relu6 and clip differ from TensorFlow.js' derivative where the pre-activation is exactly a bound
 * (activation-grad.ts says why that is accepted).
 */
const OUTPUT_ONLY = new Set(['linear', 'relu', 'relu6', 'clip']);

interface Saved {
  /** Forward values a node's backward reads. */
  [key: string]: string;
}

class TrainGraphWriter {
  readonly g = new Graph();
  private readonly value = new Map<number, string>();
  /** Values in the blocked layout (nchwc.ts), beside or instead of their NCHW form in `value`. */
  private readonly blocked = new Map<number, string>();
  /** Nodes written on blocked values (their gradients flow blocked). */
  private readonly blockedNodes = new Set<TrainNode>();
  /** Activations a blocked BatchNorm applies itself (their output). */
  private readonly fusedInto = new Map<TrainNode, string>();
  private readonly saved = new Map<TrainNode, Saved>();
  private readonly params = new Map<ParamRef, string>();
  private readonly paramGrads = new Map<ParamRef, string[]>();
  private readonly bnValues = new Map<BatchNormRef, BatchNormTrainValues>();
  /** Each batch-statistics BatchNorm's batch mean and variance, [C] (statsOutput). */
  private readonly batchStats = new Map<BatchNormRef, { mean: string; variance: string }>();
  private readonly stats = new Map<BatchNormRef, { mean: string; variance: string }>();
  private axes?: string;

  constructor(
    private readonly spec: TrainGraphSpec,
    private readonly training: boolean,
  ) {
    const { g } = this;
    const { plan } = spec;
    const parts = plan.params.map((_, i) => `net_part_${i}`);
    if (parts.length) g.nodes.push({ name: 'split_net', opType: 'Split', input: ['net', g.ints('sizes', plan.params.map((p) => p.variable.size))], output: parts, attribute: [intAttr('axis', 0)] });
    plan.params.forEach((p, i) => this.params.set(p, p.shape.length === 1 ? (parts[i] as string) : g.op('Reshape', [parts[i] as string, g.ints('shape', p.shape)], [], 'param')));
    const statParts = plan.batchNorms.flatMap((_, i) => [`stat_mean_${i}`, `stat_var_${i}`]);
    if (statParts.length) g.nodes.push({ name: 'split_stats', opType: 'Split', input: ['stats', g.ints('sizes', plan.batchNorms.flatMap((b) => [b.channels, b.channels]))], output: statParts, attribute: [intAttr('axis', 0)] });
    plan.batchNorms.forEach((b, i) => this.stats.set(b, { mean: `stat_mean_${i}`, variance: `stat_var_${i}` }));
  }

  /** Batch, height and width: the axes of a per-channel sum (one constant, made when first needed). */
  private get axes023(): string {
    this.axes ??= this.g.ints('axes', [0, 2, 3]);
    return this.axes;
  }

  private p(ref: ParamRef): string {
    return this.params.get(ref) as string;
  }

  private addGrad(ref: ParamRef | null, grad: string): void {
    if (!ref) return;
    const list = this.paramGrads.get(ref) ?? [];
    list.push(grad);
    this.paramGrads.set(ref, list);
  }

  private shape(v: number): number[] {
    return this.spec.plan.shapes.get(v) as number[];
  }

  private channelsOf(v: number): number {
    return this.shape(v)[0] as number;
  }

  private get block(): number {
    return this.spec.nchwcBlock ?? 0;
  }

  /** A value in NCHW (made from its blocked form when only that exists). */
  private nchw(v: number): string {
    let x = this.value.get(v);
    if (x === undefined) {
      x = fromBlocked(this.g, this.blocked.get(v) as string, this.channelsOf(v));
      this.value.set(v, x);
    }
    return x;
  }

  /** A 4-D value in the blocked layout (its channels a multiple of 4: ReorderInput's rule). */
  private blockedOf(v: number): string {
    let x = this.blocked.get(v);
    if (x === undefined) {
      // The part's NHWC input goes straight from NHWC.
      x = v === 0 && this.shape(0).length === 3 ? toBlocked(this.g, 'input', true) : toBlocked(this.g, this.nchw(v));
      this.blocked.set(v, x);
    }
    return x;
  }

  /**
   * Whether a convolution runs blocked: a machine with NCHWc kernels, an activation they fuse and
   * the backward reads from the output, channels ReorderInput takes (or an NCHW input of fewer
   * channels than the block, which MLAS reads as it is).
   */
  private blockable(n: TrainNode & { op: 'conv' }): boolean {
    const block = this.block;
    if (!block || !fusedActivation(n.act)) return false;
    const ci = this.channelsOf(n.inputs[0] as number);
    const co = this.channelsOf(n.output);
    if (co % 4 !== 0) return false;
    if (this.blocked.has(n.inputs[0] as number)) return true;
    return ci % 4 === 0 || (!n.depthwise && ci < block);
  }

  /** [C] as [C, 1, 1] for a 4-D value. */
  private perChannel(v: string, rank4: boolean): string {
    return rank4 ? this.g.op('Unsqueeze', [v, this.g.ints('axes', [1, 2])]) : v;
  }

  /** scale = gamma / sqrt(var + eps) and shift = beta - mean * scale of a BatchNorm's fixed statistics. */
  private affineOf(bn: BatchNormRef): { scale: string; shift: string; invStd: string } {
    const { g } = this;
    const st = this.stats.get(bn) as { mean: string; variance: string };
    const invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [st.variance, g.scalar('eps', bn.epsilon)])])], [], 'invStd');
    const scale = bn.gamma ? g.op('Mul', [this.p(bn.gamma), invStd], [], 'bnScale') : invStd;
    const ms = g.op('Mul', [st.mean, scale]);
    const shift = bn.beta ? g.op('Sub', [this.p(bn.beta), ms], [], 'bnShift') : g.op('Neg', [ms], [], 'bnShift');
    return { scale, shift, invStd };
  }

  private geometry(n: TrainNode & { op: 'conv' }): ConvGeometry {
    const [kh = 1, kw = 1] = n.kernel.shape;
    return { depthwise: n.depthwise, kh, kw, strides: n.strides, dilations: n.dilations, pads: n.pads, inShape: this.shape(n.inputs[0] as number), outShape: this.shape(n.output) };
  }

  forward(): string {
    const { g, spec } = this;
    this.value.set(0, this.shape(0).length === 3 ? g.toNchw('input') : 'input');
    for (const n of spec.plan.nodes) {
      const input = n.inputs[0] as number;
      const onBlocked = this.blocked.has(input) && this.shape(input).length === 3;
      const fused = this.fusedInto.get(n);
      if (fused !== undefined) {
        // Applied by the BatchNorm before it (forwardBlockedBatchNorm); its backward reads the output alone.
        this.saved.set(n, { x: fused, y: fused });
        this.blockedNodes.add(n);
        this.blocked.set(n.output, fused);
      } else if (n.op === 'conv' && this.blockable(n)) this.blocked.set(n.output, this.forwardBlockedConv(n));
      else if (n.op === 'bn' && onBlocked && spec.bnMode === 'batch' && this.training) this.blocked.set(n.output, this.forwardBlockedBatchNorm(n));
      else if (n.op === 'act' && onBlocked && n.act.kind !== 'softmax') {
        // Elementwise: the same on blocked values (the padding channels' values are never read back).
        const y = g.activation(this.blocked.get(input) as string, n.act, true);
        this.saved.set(n, { x: this.blocked.get(input) as string, y });
        this.blockedNodes.add(n);
        this.blocked.set(n.output, y);
      } else this.value.set(n.output, this.forwardNode(n));
    }
    const out = this.nchw(spec.plan.output);
    return this.shape(spec.plan.output).length === 3 ? g.op('Flatten', [g.op('GlobalAveragePool', [out])], [intAttr('axis', 1)], 'features') : out;
  }

  /** The folded weight (OIHW, BatchNorm's scale in it) and bias of a convolution, for its forward and backward. */
  private foldedConv(n: TrainNode & { op: 'conv' }): { w: string; raw: string; bias: string | null; scale: string | null; invStd: string | null } {
    const { g } = this;
    const [kh = 1, kw = 1, ci = 1] = n.kernel.shape;
    const k = this.p(n.kernel);
    let w = n.depthwise ? g.op('Reshape', [g.op('Transpose', [k], [intsAttr('perm', [2, 3, 0, 1])]), g.ints('shape', [ci, 1, kh, kw])]) : g.op('Transpose', [k], [intsAttr('perm', [3, 2, 0, 1])]);
    const raw = w;
    let bias = n.bias ? this.p(n.bias) : null;
    let scale: string | null = null;
    let invStd: string | null = null;
    if (n.bn) {
      const bn = this.affineOf(n.bn);
      scale = bn.scale;
      invStd = bn.invStd;
      w = g.op('Mul', [w, g.op('Unsqueeze', [bn.scale, g.ints('axes', [1, 2, 3])])], [], 'wFolded');
      bias = bias ? g.op('Add', [g.op('Mul', [bias, bn.scale]), bn.shift]) : bn.shift;
    }
    return { w, raw, bias, scale, invStd };
  }

  /**
   * BatchNorm on batch statistics (scenario 3) of a blocked value, as emitBatchNormTrain on NCHW, in
   * three passes over x: its per-channel sums, sums of squares (channelDots) and the normalisation
   * (one 1x1 depthwise NCHWc convolution, with the activation after it). The variance is
   * E[x^2] - mean^2: that cancels only where a channel's mean is thousands of its deviations, and
   * saves the two passes that would write and re-read x - mean.
   */
  private forwardBlockedBatchNorm(n: TrainNode & { op: 'bn' }): string {
    const { g } = this;
    const [c = 1, h = 1, w = 1] = this.shape(n.output);
    const c2 = aligned(c, this.block);
    const x = this.blocked.get(n.inputs[0] as number) as string;
    const inv = g.scalar('invCount', 1 / (this.spec.batch * h * w));
    const mean = g.op('Mul', [channelSums(g, x, c2, h * w, this.block), inv], [], 'bnMean');
    const meanSquare = g.op('Mul', [channelDots(g, x, x, [c2, h, w], this.spec.batch), inv]);
    const variance = g.op('Relu', [g.op('Sub', [meanSquare, g.op('Mul', [mean, mean])])], [], 'bnVar');
    const invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.scalar('eps', n.bn.epsilon)])])], [], 'bnInvStd');
    const gamma = padChannels(g, n.bn.gamma ? this.p(n.bn.gamma) : g.floats('one', [c], new Float32Array(c).fill(1)), c, c2);
    const scale = g.op('Mul', [gamma, invStd]);
    const meanShift = g.op('Mul', [mean, scale]);
    const shift = n.bn.beta ? g.op('Sub', [padChannels(g, this.p(n.bn.beta), c, c2), meanShift]) : g.op('Neg', [meanShift]);
    // An activation MLAS fuses that is the BatchNorm's only consumer is applied in the same pass.
    const consumers = this.spec.plan.nodes.filter((m) => m.inputs.includes(n.output));
    const next = consumers.length === 1 && n.output !== this.spec.plan.output ? consumers[0] : undefined;
    const act = next?.op === 'act' && fusedActivation(next.act) ? next : undefined;
    const y = blockedAffine(g, x, scale, shift, c2, undefined, act?.op === 'act' ? act.act : undefined);
    if (act) this.fusedInto.set(act, y);
    // The batch statistics leave as [C] (statsOutput); the backward reads the rest from `saved`.
    this.batchStats.set(n.bn, { mean: head1d(g, mean, c, c2), variance: head1d(g, variance, c, c2) });
    this.saved.set(n, { x, mean, invStd, gamma });
    this.blockedNodes.add(n);
    return y;
  }

  /**
   * dL/dx, dgamma, dbeta of forwardBlockedBatchNorm, as emitBatchNormTrainGrad but on x itself:
   * dx = k dy - kb xhat - ka = k (dy + a x + b) per channel, after two reductions, in one pass.
   */
  private backwardBlockedBatchNorm(n: TrainNode & { op: 'bn' }, dy: string): GradOut[] {
    const { g } = this;
    const s = this.saved.get(n) ?? {};
    const [c = 1, h = 1, w = 1] = this.shape(n.output);
    const c2 = aligned(c, this.block);
    const x = s['x'] as string;
    const mean = s['mean'] as string;
    const invStd = s['invStd'] as string;
    const inv = g.scalar('invCount', 1 / (this.spec.batch * h * w));
    const sumDy = channelSums(g, dy, c2, h * w, this.block);
    // sum(dy * xhat) = (sum(dy * x) - mean * sum(dy)) * invStd
    const sumDyXhat = g.op('Mul', [g.op('Sub', [channelDots(g, dy, x, [c2, h, w], this.spec.batch), g.op('Mul', [mean, sumDy])]), invStd]);
    this.addGrad(n.bn.beta, head1d(g, sumDy, c, c2));
    this.addGrad(n.bn.gamma, head1d(g, sumDyXhat, c, c2));
    // dx = k (dy + a x + b): the bracket in one pass, k left to the convolution before (GradOut).
    const a = g.op('Neg', [g.op('Mul', [g.op('Mul', [sumDyXhat, inv]), invStd])]);
    const b = g.op('Neg', [g.op('Add', [g.op('Mul', [a, mean]), g.op('Mul', [sumDy, inv])])]);
    return [{ blocked: blockedAffine(g, x, a, b, c2, dy), scale: g.op('Mul', [s['gamma'] as string, invStd]) }];
  }

  /** A convolution on the NCHWc kernels: its blocked output. */
  private forwardBlockedConv(n: TrainNode & { op: 'conv' }): string {
    const v = n.inputs[0] as number;
    // An NCHW input of fewer channels than the block is read as it is (MLAS' NCHW-input convolution).
    const nchwInput = !this.blocked.has(v) && !n.depthwise && this.channelsOf(v) < this.block;
    const x = nchwInput ? this.nchw(v) : this.blockedOf(v);
    const f = this.foldedConv(n);
    const y = blockedConv(this.g, x, f.w, f.bias, this.geometry(n), n.act, this.block, nchwInput, n.name.replace(/[^\w]/g, '_'));
    this.blockedNodes.add(n);
    this.saved.set(n, { x, y, w: f.w, raw: f.raw, ...(f.scale ? { scale: f.scale } : {}), ...(f.invStd ? { invStd: f.invStd } : {}), ...(nchwInput ? { nchwInput: '1' } : {}) });
    return y;
  }

  private forwardNode(n: TrainNode): string {
    const { g } = this;
    const x = n.inputs.map((v) => this.nchw(v));
    const a = x[0] as string;
    const rank4 = this.shape(n.inputs[0] as number).length === 3;
    const hint = n.name.replace(/[^\w]/g, '_');
    switch (n.op) {
      case 'conv': {
        const [kh = 1, kw = 1, ci = 1] = n.kernel.shape;
        const { w, raw, bias, scale, invStd } = this.foldedConv(n);
        const attrs = [intsAttr('kernel_shape', [kh, kw]), intsAttr('strides', n.strides), intsAttr('dilations', n.dilations), intsAttr('pads', n.pads), intAttr('group', n.depthwise ? ci : 1)];
        const z = g.op('Conv', [a, w, ...(bias ? [bias] : [])], attrs, hint);
        const y = g.activation(z, n.act, true);
        this.saved.set(n, { x: a, z, y, w, raw, ...(scale ? { scale } : {}), ...(invStd ? { invStd } : {}) });
        return y;
      }
      case 'dense': {
        const z = g.op('Gemm', [a, this.p(n.kernel), ...(n.bias ? [this.p(n.bias)] : [])], [], hint);
        const y = g.activation(z, n.act, false);
        this.saved.set(n, { x: a, z, y });
        return y;
      }
      case 'bn': {
        if (this.spec.bnMode === 'batch' && this.training) {
          const rank = rank4 ? 4 : 2;
          const gamma = n.bn.gamma ? this.p(n.bn.gamma) : g.floats('one', [n.bn.channels], new Float32Array(n.bn.channels).fill(1));
          const beta = n.bn.beta ? this.p(n.bn.beta) : g.floats('zero', [n.bn.channels], new Float32Array(n.bn.channels));
          const values = emitBatchNormTrain(g, a, gamma, beta, n.bn.epsilon, rank);
          this.bnValues.set(n.bn, values);
          this.batchStats.set(n.bn, values);
          this.saved.set(n, { gamma });
          return values.y;
        }
        const bn = this.affineOf(n.bn);
        this.saved.set(n, { x: a, scale: bn.scale, invStd: bn.invStd });
        return g.op('Add', [g.op('Mul', [a, this.perChannel(bn.scale, rank4)]), this.perChannel(bn.shift, rank4)], [], hint);
      }
      case 'act': {
        const y = g.activation(a, n.act, rank4);
        this.saved.set(n, { x: a, y });
        return y;
      }
      case 'affine': {
        const dims = (v: Float32Array) => (rank4 && v.length > 1 ? [v.length, 1, 1] : [v.length]);
        const scale = g.floats(hint, dims(n.scale), n.scale);
        this.saved.set(n, { scale });
        return g.op('Add', [g.op('Mul', [a, scale], [], hint), g.floats(hint, dims(n.shift), n.shift)]);
      }
      case 'add':
      case 'sub':
      case 'mul':
      case 'avg':
      case 'max':
      case 'min':
        return emitMerge(g, n.op, x, hint);
      case 'concat':
        return g.op('Concat', x, [intAttr('axis', n.axis)], hint);
      case 'pool': {
        const [, h = 1, w = 1] = this.shape(n.inputs[0] as number);
        const [, oh = 1, ow = 1] = this.shape(n.output);
        const ph = Math.max(0, (oh - 1) * n.strides[0] + n.size[0] - h);
        const pw = Math.max(0, (ow - 1) * n.strides[1] + n.size[1] - w);
        const pads = n.padding === 'same' ? [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)] : [0, 0, 0, 0];
        const y = g.op(n.kind === 'max' ? 'MaxPool' : 'AveragePool', [a], [intsAttr('kernel_shape', n.size), intsAttr('strides', n.strides), intsAttr('pads', pads)], hint);
        this.saved.set(n, { x: a, y });
        return y;
      }
      case 'globalPool': {
        const p = g.op(n.kind === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool', [a], [], hint);
        this.saved.set(n, { x: a, y: p });
        return n.keepDims ? p : g.op('Flatten', [p], [intAttr('axis', 1)]);
      }
      case 'pad': {
        const [t, b, l, r] = n.pads;
        return g.op('Pad', [a, g.ints(hint, [0, 0, t, l, 0, 0, b, r])], [], hint);
      }
      case 'reshape': {
        const y = g.op('Reshape', [rank4 ? g.toNhwc(a) : a, g.ints(hint, [0, ...n.shape])], [], hint);
        return this.shape(n.output).length === 3 ? g.toNchw(y) : y;
      }
      case 'flatten':
        return rank4 ? g.op('Flatten', [g.toNhwc(a)], [intAttr('axis', 1)], hint) : a;
    }
  }

  /** Backward from dL/d(features); every parameter's gradient collected in paramGrads. */
  backward(dFeatures: string): void {
    const { g, spec } = this;
    const grads = new Map<number, Exclude<GradOut, null>[]>();
    const push = (v: number, d: Exclude<GradOut, null>) => {
      if (v === 0) return; // the part's input: no gradient needed
      const list = grads.get(v) ?? [];
      list.push(d);
      grads.set(v, list);
    };
    const out = spec.plan.output;
    const outShape = this.shape(out);
    if (outShape.length === 3) {
      const [c = 1, h = 1, w = 1] = outShape;
      const y = this.nchw(out);
      const d4 = g.op('Reshape', [g.op('Mul', [dFeatures, g.scalar('invHW', 1 / (h * w))]), g.ints('shape', [-1, c, 1, 1])]);
      push(out, g.op('Expand', [d4, g.op('Shape', [y])], [], 'dGap'));
    } else push(out, dFeatures);
    for (let i = spec.plan.nodes.length - 1; i >= 0; i--) {
      const n = spec.plan.nodes[i] as TrainNode;
      const list = grads.get(n.output);
      if (!list) continue;
      const blocked = this.blockedNodes.has(n);
      const c = this.channelsOf(n.output);
      const only = list.length === 1 ? list[0] : undefined;
      const pending = blocked && n.op === 'conv' && typeof only === 'object' ? only.scale : undefined;
      const parts = list.map((d) => {
        if (typeof d === 'string') return blocked ? toBlocked(g, d) : d;
        const b = d.scale && !pending ? blockedAffine(g, d.blocked, d.scale, null, aligned(c, this.block)) : d.blocked;
        return blocked ? b : fromBlocked(g, b, c);
      });
      const dy = parts.length === 1 ? (parts[0] as string) : g.op('Sum', parts, [], 'dSum');
      const dxs = blocked ? this.backwardBlocked(n, dy, pending) : this.backwardNode(n, dy);
      n.inputs.forEach((v, k) => {
        const d = dxs[k];
        if (d) push(v, d);
      });
    }
  }

  /**
   * The weight, bias and BatchNorm gradients of a convolution from dz and its OIHW weight gradient
   * dWf. `sumOf` makes dz's per-channel sum, only where a bias or a folded BatchNorm needs it (ONNX
   * Runtime runs a node whose output nothing reads).
   */
  private convParamGrads(n: TrainNode & { op: 'conv' }, s: Saved, dWf: string, sumOf: () => string, geo: ConvGeometry): void {
    const { g } = this;
    const scale = s['scale'];
    this.addGrad(n.kernel, this.kernelGrad(n, scale ? g.op('Mul', [dWf, g.op('Unsqueeze', [scale, g.ints('axes', [1, 2, 3])])]) : dWf, geo));
    if (!n.bias && !n.bn) return;
    const dSum = sumOf();
    if (n.bias) this.addGrad(n.bias, scale ? g.op('Mul', [dSum, scale]) : dSum);
    if (n.bn) {
      this.addGrad(n.bn.beta, dSum);
      if (n.bn.gamma) {
        // dgamma = sum(dz * xhat), xhat = (c - mean) invStd with c = conv(x, W) + bias. The conv is
        // linear in W, so sum(dz * conv(x, W)) per channel = sum(W * dWf) (dWf: the weight
        // gradient of dz, just computed): weight-sized work instead of a pass over the activations.
        const st = this.stats.get(n.bn) as { mean: string };
        const wdw = g.op('ReduceSum', [g.op('Mul', [s['raw'] as string, dWf]), g.ints('axes', [1, 2, 3])], [intAttr('keepdims', 0)]);
        const offset = n.bias ? g.op('Sub', [this.p(n.bias), st.mean]) : g.op('Neg', [st.mean]);
        this.addGrad(n.bn.gamma, g.op('Mul', [g.op('Add', [wdw, g.op('Mul', [offset, dSum])]), s['invStd'] as string], [], 'dGamma'));
      }
    }
  }

  /** An OIHW weight gradient in tf.layers' kernel layout. */
  private kernelGrad(n: TrainNode & { op: 'conv' }, dW: string, geo: ConvGeometry): string {
    const oihw = n.depthwise ? this.g.op('Reshape', [dW, this.g.ints('shape', [geo.inShape[0] as number, 1, geo.kh, geo.kw])]) : dW;
    return this.g.op('Transpose', [oihw], [intsAttr('perm', n.depthwise ? [2, 3, 0, 1] : [2, 3, 1, 0])], 'dKernel');
  }

  private backwardBlocked(n: TrainNode, dy: string, scale: string | undefined): GradOut[] {
    if (n.op === 'conv') return this.backwardBlockedConv(n, dy, scale);
    if (n.op === 'bn') return this.backwardBlockedBatchNorm(n, dy);
    if (n.op === 'act') {
      const s = this.saved.get(n) ?? {};
      return [{ blocked: emitActivationGrad(this.g, n.act, s['x'] as string, s['y'] as string, dy, true) }];
    }
    throw new Error(`${n.name}: ${n.op} has no blocked backward`);
  }

  /**
   * The backward of a blocked convolution (nchwc.ts): dy blocked; dx blocked, or NCHW where the
   * blocked form does not apply. The gradient is `scale` (per output channel, [Co']) times dy: the
   * weight and bias gradients are scaled after their reductions, and dx is taken with the weights
   * scaled (the activation's mask commutes with it).
   */
  private backwardBlockedConv(n: TrainNode & { op: 'conv' }, dy: string, scale: string | undefined): GradOut[] {
    const { g } = this;
    const s = this.saved.get(n) ?? {};
    const geo = this.geometry(n);
    const block = this.block;
    const [co = 1, oh = 1, ow = 1] = geo.outShape;
    const scaleC = scale ? head1d(g, scale, co, aligned(co, block)) : null;
    const perOut = scaleC ? g.op('Unsqueeze', [scaleC, g.ints('axes', [1, 2, 3])]) : null;
    const scaled = (v: string) => (perOut ? g.op('Mul', [v, perOut]) : v);
    // The fused activations' derivatives read the output alone (elementwise: the layout does not matter).
    const dz = n.act.kind === 'linear' ? dy : emitActivationGrad(g, n.act, s['y'] as string, s['y'] as string, dy);
    const dSum = () => {
      const sum = blockedChannelSum(g, dz, co, oh * ow, block);
      return scaleC ? g.op('Mul', [sum, scaleC]) : sum;
    };
    const x = s['x'] as string;
    const nchwInput = s['nchwInput'] !== undefined;
    const pointwise = !n.depthwise && geo.kh === 1 && geo.kw === 1 && geo.strides.every((v) => v === 1) && !geo.pads.some((p) => p);
    let dWf: string;
    if (n.depthwise) dWf = blockedDepthwiseWeightGrad(g, x, dz, geo, this.spec.batch, block);
    else if (pointwise && !nchwInput) dWf = blockedPointwiseWeightGrad(g, x, dz, geo, block);
    else dWf = convWeightGrad(g, nchwInput ? x : this.nchw(n.inputs[0] as number), fromBlocked(g, dz, co), geo, this.spec.batch);
    this.convParamGrads(n, s, scaled(dWf), dSum, geo);
    if ((n.inputs[0] as number) === 0) return [null];
    const w = scaled(s['w'] as string);
    const dx = blockedInputGrad(g, dz, w, geo, block);
    return [dx ? { blocked: dx } : convInputGrad(g, fromBlocked(g, dz, co), w, geo)];
  }

  private backwardNode(n: TrainNode, dy: string): GradOut[] {
    const { g } = this;
    const s = this.saved.get(n) ?? {};
    const needInput = (n.inputs[0] as number) !== 0;
    const rank4 = this.shape(n.inputs[0] as number).length === 3;
    const inShape = this.shape(n.inputs[0] as number);
    switch (n.op) {
      case 'conv': {
        const geo = this.geometry(n);
        const outputOnly = OUTPUT_ONLY.has(n.act.kind);
        const dz = n.act.kind === 'linear' ? dy : emitActivationGrad(g, n.act, outputOnly ? (s['y'] as string) : (s['z'] as string), s['y'] as string, dy);
        const dSum = () => g.op('ReduceSum', [dz, this.axes023], [intAttr('keepdims', 0)], 'dSumC');
        this.convParamGrads(n, s, convWeightGrad(g, s['x'] as string, dz, geo, this.spec.batch), dSum, geo);
        return [needInput ? convInputGrad(g, dz, s['w'] as string, geo) : null];
      }
      case 'dense': {
        const dz = n.act.kind === 'linear' ? dy : emitActivationGrad(g, n.act, s['z'] as string, s['y'] as string, dy);
        this.addGrad(n.kernel, g.op('Gemm', [s['x'] as string, dz], [intAttr('transA', 1)], 'dKernel'));
        if (n.bias) this.addGrad(n.bias, g.op('ReduceSum', [dz, g.ints('axis0', [0])], [intAttr('keepdims', 0)]));
        return [needInput ? g.op('Gemm', [dz, this.p(n.kernel)], [intAttr('transB', 1)], 'dx') : null];
      }
      case 'bn': {
        const values = this.bnValues.get(n.bn);
        if (values) {
          const r = emitBatchNormTrainGrad(g, dy, values, s['gamma'] as string, rank4 ? 4 : 2);
          this.addGrad(n.bn.gamma, r.dgamma);
          this.addGrad(n.bn.beta, r.dbeta);
          return [r.dx];
        }
        const axes = rank4 ? this.axes023 : g.ints('axis0', [0]);
        const dSum = g.op('ReduceSum', [dy, axes], [intAttr('keepdims', 0)]);
        this.addGrad(n.bn.beta, dSum);
        if (n.bn.gamma) {
          // dgamma = sum(dy * (x - mean)) / sqrt(var + eps)
          const st = this.stats.get(n.bn) as { mean: string };
          const sxy = g.op('ReduceSum', [g.op('Mul', [dy, s['x'] as string]), axes], [intAttr('keepdims', 0)]);
          this.addGrad(n.bn.gamma, g.op('Mul', [g.op('Sub', [sxy, g.op('Mul', [st.mean, dSum])]), s['invStd'] as string], [], 'dGamma'));
        }
        return [needInput ? g.op('Mul', [dy, this.perChannel(s['scale'] as string, rank4)]) : null];
      }
      case 'act':
        return [emitActivationGrad(g, n.act, s['x'] as string, s['y'] as string, dy)];
      case 'affine':
        return [g.op('Mul', [dy, s['scale'] as string])];
      case 'add':
      case 'sub':
      case 'mul':
      case 'avg':
      case 'max':
      case 'min': {
        const toNchw = (sh: number[]) => sh;
        return emitMergeGrad(
          g,
          n.op,
          n.inputs.map((v) => this.nchw(v)),
          this.nchw(n.output),
          dy,
          n.inputs.map((v) => toNchw(this.shape(v))),
          this.shape(n.output),
        );
      }
      case 'concat':
        return emitConcatGrad(g, n.axis, dy, n.inputs.map((v) => this.shape(v)[n.axis - 1] as number));
      case 'pool':
        return [emitPoolGrad(g, { kind: n.kind, size: n.size, strides: n.strides, padding: n.padding }, s['x'] as string, s['y'] as string, dy, inShape as [number, number, number])];
      case 'globalPool': {
        if (n.kind === 'max') return [emitGlobalPoolGrad(g, 'max', s['x'] as string, s['y'] as string, dy, inShape as [number, number, number], n.keepDims)];
        const [c = 1, h = 1, w = 1] = inShape;
        const d4 = g.op('Reshape', [g.op('Mul', [dy, g.scalar('invHW', 1 / (h * w))]), g.ints('shape', [-1, c, 1, 1])]);
        return [g.op('Expand', [d4, g.op('Shape', [s['x'] as string])], [], 'dGap')];
      }
      case 'pad': {
        const [t, , l] = n.pads;
        const [, h = 1, w = 1] = inShape;
        return [g.op('Slice', [dy, g.ints('starts', [t, l]), g.ints('ends', [t + h, l + w]), g.ints('axes', [2, 3])], [], 'dPad')];
      }
      case 'reshape':
      case 'flatten': {
        const outRank4 = this.shape(n.output).length === 3;
        if (n.op === 'flatten' && !rank4) return [dy];
        const d = outRank4 ? g.toNhwc(dy) : dy;
        const nhwc = rank4 ? [inShape[1] as number, inShape[2] as number, inShape[0] as number] : inShape;
        const r = g.op('Reshape', [d, g.ints('shape', [-1, ...nhwc])]);
        return [rank4 ? g.toNchw(r) : r];
      }
    }
  }

  /** "gnet": every parameter's gradient flattened in "net" order (zeros for one the loss does not reach). */
  gradientOutput(): void {
    const { g } = this;
    const flat = g.ints('flat', [-1]);
    const parts = this.spec.plan.params.map((p) => {
      const list = this.paramGrads.get(p);
      if (!list) return g.floats('zero', [p.variable.size], new Float32Array(p.variable.size));
      const sum = list.length === 1 ? (list[0] as string) : g.op('Sum', list);
      return g.op('Reshape', [sum, flat]);
    });
    g.op('Concat', parts, [intAttr('axis', 0)], 'gnet', 'gnet');
  }

  /** "batchStats": each BatchNorm's batch mean and variance, laid out as "stats". */
  statsOutput(): boolean {
    const parts = this.spec.plan.batchNorms.flatMap((b) => {
      const v = this.batchStats.get(b);
      return v ? [v.mean, v.variance] : [];
    });
    if (!parts.length) return false;
    this.g.op('Concat', parts, [intAttr('axis', 0)], 'batchStats', 'batchStats');
    return true;
  }
}

function inputsOf(spec: TrainGraphSpec, withLoss: boolean) {
  const [c, h, w] = spec.plan.shapes.get(0) as number[];
  const image = h === undefined ? [spec.batch, c as number] : [spec.batch, h, w as number, c as number];
  return [
    tensor('input', image),
    ...(spec.plan.paramCount ? [tensor('net', [spec.plan.paramCount])] : []),
    ...(spec.plan.statsCount ? [tensor('stats', [spec.plan.statsCount])] : []),
    tensor('flat', [headParamCount(spec.head.units)]),
    ...(withLoss ? headLossInputs(spec.head).map((v) => ({ ...v, type: { tensorType: { ...v.type.tensorType, shape: { dim: (v.type.tensorType.shape?.dim ?? []).map((d) => ('dimParam' in d ? { dimValue: spec.batch } : d)) } } } })) : []),
  ];
}

/** The training step's model; throws OnnxUnsupportedError for a layer kind without a backward here. */
export function emitTrainStep(spec: TrainGraphSpec): { model: Uint8Array; batchStats: boolean } {
  if (!spec.plan.paramCount) throw new OnnxUnsupportedError('the trainable part has no parameters');
  const w = new TrainGraphWriter(spec, true);
  const features = w.forward();
  const dFeatures = emitHeadLoss(w.g, spec.head, features, true) as string;
  w.backward(dFeatures);
  w.gradientOutput();
  const batchStats = w.statsOutput();
  const outputs = ['logp', 'grad', 'gnet', ...(batchStats ? ['batchStats'] : [])];
  return { model: model('train_step', w.g, inputsOf(spec, true), outputs, 'scenario 2-4 training step: forward, loss and gradients'), batchStats };
}

/** The forward pass alone (BatchNorm on its moving statistics, no dropout): "logp". */
export function emitEvalStep(spec: Omit<TrainGraphSpec, 'batch'> & { batch: number | null }): Uint8Array {
  const s = { ...spec, batch: spec.batch ?? 0 };
  const w = new TrainGraphWriter(s, false);
  const features = w.forward();
  emitHeadLogp(w.g, spec.head, features);
  const inputs = inputsOf(s, false).map((v) => ({ ...v, type: { tensorType: { ...v.type.tensorType, shape: { dim: (v.type.tensorType.shape?.dim ?? []).map((d, i) => (i === 0 && v.name === 'input' ? { dimParam: 'batch' } : d)) } } } }));
  return model('eval_step', w.g, inputs, ['logp'], 'scenario 2-4 forward pass');
}
