/**
 * The gradient library of the ONNX training graphs (onnx/train/*-grad.ts), layer by layer against
 * TensorFlow.js: for every activation, merge, pooling and batch-statistics BatchNorm, a tiny ONNX
 * model computes y = layer(x) and dx (dgamma, dbeta) from a given dy on ONNX Runtime's CPU
 * provider (opset 17, fully optimised as the trainer runs it), and TensorFlow.js' tf.grad of the
 * same definition (frozen/tfjs-plan.ts, tf ops, Keras' BatchNormalization) on the same seeded
 * input must agree within float tolerance. Inputs include kinks (x exactly at relu6's or
 * hardSigmoid's bounds) and ties (quantised values in max pools, Maximum, GlobalMaxPooling), where
 * the conventions of the two runtimes differ unless written to match.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import type { Activation, ActKind } from '../../../src/main/engine/frozen/plan';
import { applyActivation, stepOf } from '../../../src/main/engine/frozen/tfjs-plan';
import { Graph, intAttr, intsAttr, OPSET } from '../../../src/main/engine/onnx/emit';
import { encodeModel, FLOAT } from '../../../src/main/engine/onnx/proto';
import { onnxRuntime, sessionOptions } from '../../../src/main/engine/onnx/runtime';
import { emitActivationGrad } from '../../../src/main/engine/onnx/train/activation-grad';
import { emitBatchNormTrain, emitBatchNormTrainGrad } from '../../../src/main/engine/onnx/train/batchnorm-grad';
import { stringAttr } from '../../../src/main/engine/onnx/train/grad-util';
import { emitConcatGrad, emitMergeGrad, type MergeOp } from '../../../src/main/engine/onnx/train/merge-grad';
import { emitGlobalPoolGrad, emitPoolGrad, type PoolSpec } from '../../../src/main/engine/onnx/train/pool-grad';
import { seededRandom } from '../../../src/shared/random';
import { relDiff } from '../../fixtures/compare';

type Ort = NonNullable<Awaited<ReturnType<typeof onnxRuntime>>>['ort'];
let ort: Ort;

beforeAll(async () => {
  const info = await initBackend({ prefer: 'wasm', threads: 1 });
  expect(info.inference?.runtime).toBe('onnxruntime');
  const rt = await onnxRuntime();
  if (!rt) throw new Error('onnxruntime did not load');
  ort = rt.ort;
});

const TOL = 1e-4;

interface Fed {
  data: Float32Array;
  dims: number[];
}

/** Builds a graph over the fed inputs, runs it once on the CPU provider, returns the named outputs. */
async function run(feed: Record<string, Fed>, build: (g: Graph) => Record<string, string>): Promise<Record<string, Float32Array>> {
  const g = new Graph();
  const outs = Object.entries(build(g));
  for (const [name, value] of outs) g.nodes.push({ name: `out_${name}`, opType: 'Identity', input: [value], output: [`out_${name}`], attribute: [] });
  const model = encodeModel({
    irVersion: 8,
    producerName: 'test',
    producerVersion: '1',
    docString: '',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'grad',
      node: g.nodes,
      initializer: g.inits,
      input: Object.entries(feed).map(([name, f]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: f.dims.map((d) => ({ dimValue: d })) } } } })),
      output: outs.map(([name]) => ({ name: `out_${name}`, type: { tensorType: { elemType: FLOAT } } })),
    },
  });
  const session = await ort.InferenceSession.create(model, sessionOptions('cpu', 1));
  try {
    const result = await session.run(Object.fromEntries(Object.entries(feed).map(([name, f]) => [name, new ort.Tensor('float32', f.data, f.dims)])));
    return Object.fromEntries(outs.map(([name]) => [name, Float32Array.from(result[`out_${name}`]?.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

function uniform(n: number, seed: number, lo = -1, hi = 1, step = 0): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => {
    const v = lo + (hi - lo) * r();
    return step > 0 ? Math.round(v / step) * step : v;
  });
}

/** NHWC data as NCHW, and back. */
function toNchw(v: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < (n as number); b++)
    for (let i = 0; i < (h as number); i++)
      for (let j = 0; j < (w as number); j++)
        for (let k = 0; k < (c as number); k++) out[((b * (c as number) + k) * (h as number) + i) * (w as number) + j] = v[((b * (h as number) + i) * (w as number) + j) * (c as number) + k] as number;
  return out;
}
function toNhwc(v: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < (n as number); b++)
    for (let i = 0; i < (h as number); i++)
      for (let j = 0; j < (w as number); j++)
        for (let k = 0; k < (c as number); k++) out[((b * (h as number) + i) * (w as number) + j) * (c as number) + k] = v[((b * (c as number) + k) * (h as number) + i) * (w as number) + j] as number;
  return out;
}
const nchwDims = ([n, h, w, c]: number[]) => [n, c, h, w] as number[];
/** An NHWC value fed to ONNX (NCHW when 4-D). */
const fed = (v: Float32Array, nhwc: number[]): Fed => (nhwc.length === 4 ? { data: toNchw(v, nhwc), dims: nchwDims(nhwc) } : { data: v, dims: nhwc });
/** An ONNX result back in TensorFlow.js' layout. */
const back = (v: Float32Array | undefined, nhwc: number[]): Float32Array => (nhwc.length === 4 ? toNhwc(v as Float32Array, nhwc) : (v as Float32Array));
const values = (t: tf.Tensor) => t.dataSync() as Float32Array;

describe('activations', () => {
  const shape = [2, 5, 6, 7];
  const size = shape.reduce((a, b) => a * b, 1);
  // Random values over every region, then the kinks: 0, relu6's 6, hardSwish's -3 and 3, hardSigmoid's -2.5 and 2.5, clip's 4.
  const x = uniform(size, 1, -8, 8);
  x.set([0, 6, -3, 3, -2.5, 2.5, 4, -0, 1e-3, -1e-3, 5.999, 6.001], 0);
  const dy = uniform(size, 2);
  const cases: Activation[] = (
    ['linear', 'relu', 'relu6', 'selu', 'sigmoid', 'hardSigmoid', 'hardSwish', 'tanh', 'swish', 'mish', 'gelu', 'softplus', 'softsign', 'softmax'] as ActKind[]
  ).map((kind) => ({ kind }));
  cases.push({ kind: 'leakyRelu', alpha: 0.2 }, { kind: 'elu', alpha: 1 }, { kind: 'elu', alpha: 0.5 }, { kind: 'clip', min: 0, max: 4 });

  /**
   * applyActivation, except ELU with alpha other than 1: its tf.where(tf.greater(x, 0), ...) has no
   * gradient in TensorFlow.js (none for Greater), so the same function as relu(x) + alpha *
   * (exp(min(x, 0)) - 1), whose gradient at 0 is tf.where's false branch, alpha, as well.
   */
  const differentiable = (v: tf.Tensor, act: Activation) =>
    act.kind === 'elu' && act.alpha !== 1 ? tf.add(tf.relu(v), tf.mul(act.alpha ?? 1, tf.sub(tf.exp(tf.minimum(v, 0)), 1))) : applyActivation(v, act);

  const check = async (act: Activation, xs: Float32Array, dys: Float32Array, dims: number[]) => {
    const rank4 = dims.length === 4;
    const ours = await run({ x: fed(xs, dims), dy: fed(dys, dims) }, (g) => {
      const y = g.activation('x', act, rank4);
      return { y, dx: emitActivationGrad(g, act, 'x', y, 'dy', rank4) };
    });
    const xt = tf.tensor(xs, dims);
    const dyt = tf.tensor(dys, dims);
    const y = applyActivation(xt, act);
    const dx = tf.grad((v: tf.Tensor) => tf.mul(differentiable(v, act), 1))(xt, dyt); // (times 1: 'linear' returns v itself, which tf.grad refuses)
    expect(relDiff(back(ours['y'], dims), values(y)), `${act.kind} y`).toBeLessThan(TOL);
    // The one accepted difference (activation-grad.ts): relu6 and clip take their derivative from the
    // output, 0 where x is exactly a bound, where TensorFlow.js' is 1 (relu6 at 6, clip at both).
    const bounds = act.kind === 'relu6' ? [6] : act.kind === 'clip' ? [act.min ?? 0, act.max ?? 3.4e38] : [];
    const expected = values(dx).slice();
    const atBound = [...xs.keys()].filter((i) => bounds.includes(xs[i] as number));
    expect(atBound.length > 0, `${act.kind}: the inputs reach its bounds`).toBe(bounds.length > 0);
    for (const i of atBound) {
      expect(expected[i], `${act.kind}: TensorFlow.js' derivative at the bound x = ${xs[i]}`).toBe(dys[i]);
      expected[i] = 0;
    }
    expect(relDiff(back(ours['dx'], dims), expected), `${act.kind} dx`).toBeLessThan(TOL);
    tf.dispose([xt, dyt, y, dx]);
  };

  it('every kind of the fold plan, on 4-D NCHW values (softmax over channels)', async () => {
    for (const act of cases) await check(act, x, dy, shape);
  });

  it('on 2-D values', async () => {
    for (const kind of ['softmax', 'gelu', 'hardSwish'] as ActKind[]) await check({ kind }, x.slice(0, 6 * 9), dy.slice(0, 6 * 9), [6, 9]);
  });
});

describe('merges', () => {
  const full = [2, 5, 6, 4];
  const squeezed = [2, 1, 1, 4];
  const nchw = (s: number[]) => nchwDims(s).slice(1);

  async function check(op: MergeOp, shapes: number[][], step: number, seed: number) {
    const xs = shapes.map((s, i) => uniform(s.reduce((a, b) => a * b, 1), seed + i, -1, 1, step));
    const dy = uniform(full.reduce((a, b) => a * b, 1), seed + 10);
    const names = shapes.map((_, i) => `x${i}`);
    const feed: Record<string, Fed> = { dy: fed(dy, full) };
    shapes.forEach((s, i) => (feed[names[i] as string] = fed(xs[i] as Float32Array, s)));
    const onnxOp = { add: 'Sum', sub: 'Sub', mul: 'Mul', avg: 'Mean', max: 'Max', min: 'Min' }[op];
    const ours = await run(feed, (g) => {
      const y = op === 'mul' ? names.slice(1).reduce((p, q) => g.op('Mul', [p, q]), names[0] as string) : g.op(onnxOp, names);
      const grads = emitMergeGrad(g, op, names, y, 'dy', shapes.map(nchw), nchw(full));
      return Object.fromEntries([['y', y], ...grads.map((d, i) => [`d${i}`, d])]) as Record<string, string>;
    });
    const owned: tf.Tensor[] = [];
    const f = stepOf({ op }, owned);
    const xt = xs.map((v, i) => tf.tensor(v, shapes[i]));
    const dyt = tf.tensor(dy, full);
    const y = f(xt);
    const grads = tf.grads((...v: tf.Tensor[]) => f(v))(xt, dyt);
    const label = `${op} of ${shapes.map((s) => `[${s.join(',')}]`).join(' ')}`;
    expect(relDiff(back(ours['y'], full), values(y)), `${label}: y`).toBeLessThan(TOL);
    grads.forEach((d, i) => expect(relDiff(back(ours[`d${i}`], shapes[i] as number[]), values(d)), `${label}: d${i}`).toBeLessThan(TOL));
    tf.dispose([...xt, dyt, y, ...grads, ...owned]);
  }

  it('add, sub, mul, avg of same-shaped inputs', async () => {
    for (const op of ['add', 'sub', 'mul', 'avg'] as MergeOp[]) await check(op, op === 'sub' ? [full, full] : [full, full, full], 0, 20);
  });

  it('broadcast inputs (squeeze-excite [N, 1, 1, C] against [N, H, W, C]) get their gradients summed back', async () => {
    // (not max / min: TensorFlow.js' Maximum and Minimum gradients do not reduce a broadcast input)
    for (const op of ['mul', 'add', 'sub'] as MergeOp[]) await check(op, [squeezed, full], 0, 30);
    await check('mul', [full, squeezed, full], 0, 31);
  });

  it('maximum and minimum: ties go to the first input, as TensorFlow.js chains them', async () => {
    for (const op of ['max', 'min'] as MergeOp[]) {
      await check(op, [full, full], 0.5, 40);
      await check(op, [full, full, full], 0.5, 41);
    }
  });

  it('concatenate: dy split back along the channels, and along the last axis of 2-D values', async () => {
    const parts = [3, 5, 2];
    const shapes = parts.map((c) => [2, 4, 3, c]);
    const xs = shapes.map((s, i) => uniform(s.reduce((a, b) => a * b, 1), 50 + i));
    const outShape = [2, 4, 3, 10];
    const dy = uniform(240, 55);
    const ours = await run({ dy: fed(dy, outShape) }, (g) => Object.fromEntries(emitConcatGrad(g, 1, 'dy', parts).map((d, i) => [`d${i}`, d])));
    const grads = tf.grads((...v: tf.Tensor[]) => tf.concat(v, 3))(
      xs.map((v, i) => tf.tensor(v, shapes[i])),
      tf.tensor(dy, outShape),
    );
    grads.forEach((d, i) => expect(relDiff(back(ours[`d${i}`], shapes[i] as number[]), values(d)), `d${i}`).toBeLessThan(TOL));
    const flat = await run({ dy: { data: dy.slice(0, 14), dims: [2, 7] } }, (g) => Object.fromEntries(emitConcatGrad(g, 1, 'dy', [3, 4]).map((d, i) => [`d${i}`, d])));
    expect(Array.from(flat['d0'] as Float32Array)).toEqual(Array.from(dy.slice(0, 3)).concat(Array.from(dy.slice(7, 10))));
    expect(Array.from(flat['d1'] as Float32Array)).toEqual(Array.from(dy.slice(3, 7)).concat(Array.from(dy.slice(10, 14))));
  });
});

describe('pooling', () => {
  interface PoolCase extends PoolSpec {
    hw: [number, number];
  }
  const cases: PoolCase[] = [
    { kind: 'max', size: [2, 2], strides: [2, 2], padding: 'valid', hw: [8, 8] }, // VGG16
    { kind: 'max', size: [2, 2], strides: [2, 2], padding: 'valid', hw: [7, 9] }, // a row and a column no window covers
    { kind: 'max', size: [2, 2], strides: [2, 2], padding: 'same', hw: [7, 7] },
    { kind: 'max', size: [3, 3], strides: [2, 2], padding: 'same', hw: [9, 8] }, // overlapping (ResNet's stem)
    { kind: 'max', size: [3, 3], strides: [2, 2], padding: 'valid', hw: [9, 8] },
    { kind: 'max', size: [3, 2], strides: [1, 2], padding: 'same', hw: [6, 7] },
    { kind: 'avg', size: [2, 2], strides: [2, 2], padding: 'valid', hw: [7, 9] },
    { kind: 'avg', size: [2, 2], strides: [2, 2], padding: 'same', hw: [7, 7] },
    { kind: 'avg', size: [3, 3], strides: [2, 2], padding: 'same', hw: [9, 8] },
    { kind: 'avg', size: [3, 3], strides: [1, 1], padding: 'same', hw: [5, 6] },
    { kind: 'avg', size: [3, 2], strides: [2, 1], padding: 'valid', hw: [8, 7] },
  ];

  /**
   * tf.avgPool as TensorFlow.js computes it forward: window sums (a depthwise convolution with ones,
   * zero padding) over the count of real cells. TensorFlow.js' own avgPool gradient divides by
   * the whole window size even where 'same' padding leaves fewer real cells, so it is not the
   * gradient of its forward there; this definition's autodiff is.
   */
  const avgPoolByConv = (v: tf.Tensor4D, c: PoolCase) => {
    const ones = tf.ones([c.size[0], c.size[1], 3, 1]) as tf.Tensor4D;
    const sums = tf.depthwiseConv2d(v, ones, c.strides, c.padding);
    const counts = tf.depthwiseConv2d(tf.onesLike(v), ones, c.strides, c.padding);
    return tf.div(sums, counts) as tf.Tensor4D;
  };

  it.each(cases)('$kind pool $size stride $strides $padding on $hw', async (c) => {
    const shape = [2, c.hw[0], c.hw[1], 3];
    const size = shape.reduce((a, b) => a * b, 1);
    // Max pools get values on a coarse grid: windows with tied maxima.
    const x = uniform(size, 60, -1, 1, c.kind === 'max' ? 0.25 : 0);
    // The reference kernels of TensorFlow.js (cpu backend): wasm's MaxPoolGrad sends dy to the
    // wrong cells where a window's maximum is negative.
    await tf.setBackend('cpu');
    try {
      const xt = tf.tensor4d(x, shape as [number, number, number, number]);
      const pool = (v: tf.Tensor4D) => (c.kind === 'max' ? tf.maxPool(v, c.size, c.strides, c.padding) : avgPoolByConv(v, c));
      const y = pool(xt);
      if (c.kind === 'avg') expect(relDiff(values(tf.avgPool(xt, c.size, c.strides, c.padding)), values(y)), 'tf.avgPool').toBeLessThan(TOL);
      const dy = uniform(y.size, 61);
      const dyt = tf.tensor(dy, y.shape);
      const dx = tf.grad((v: tf.Tensor) => pool(v as tf.Tensor4D))(xt, dyt);
      const ours = await run({ x: fed(x, shape), dy: fed(dy, y.shape) }, (g) => {
        const attrs = [intsAttr('kernel_shape', c.size), intsAttr('strides', c.strides), c.padding === 'same' ? stringAttr('auto_pad', 'SAME_UPPER') : intsAttr('pads', [0, 0, 0, 0])];
        const yo = g.op(c.kind === 'max' ? 'MaxPool' : 'AveragePool', ['x'], attrs);
        return { y: yo, dx: emitPoolGrad(g, c, 'x', yo, 'dy', [3, c.hw[0], c.hw[1]]) };
      });
      expect(relDiff(back(ours['y'], y.shape), values(y)), 'y').toBeLessThan(TOL);
      expect(relDiff(back(ours['dx'], shape), values(dx)), 'dx').toBeLessThan(TOL);
      tf.dispose([xt, y, dyt, dx]);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it.each([
    ['avg', false],
    ['avg', true],
    ['max', false],
    ['max', true],
  ] as const)('global %s pool, keepDims %s (max: every tied maximum gets dy, as tf.max)', async (kind, keepDims) => {
    const shape = [2, 5, 7, 4];
    const x = uniform(140 * 2, 70, -1, 1, 0.5);
    const xt = tf.tensor4d(x, shape as [number, number, number, number]);
    const pool = (v: tf.Tensor) => (kind === 'max' ? tf.max(v, [1, 2], keepDims) : tf.mean(v, [1, 2], keepDims));
    const y = pool(xt);
    const dy = uniform(8, 71);
    const dyt = tf.tensor(dy, y.shape);
    const dx = tf.grad((v: tf.Tensor) => pool(v))(xt, dyt);
    const ours = await run({ x: fed(x, shape), dy: { data: dy, dims: keepDims ? [2, 4, 1, 1] : [2, 4] } }, (g) => {
      let yo = g.op(kind === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool', ['x']);
      if (!keepDims) yo = g.op('Flatten', [yo], [intAttr('axis', 1)]);
      return { y: yo, dx: emitGlobalPoolGrad(g, kind, 'x', yo, 'dy', [4, 5, 7], keepDims) };
    });
    expect(relDiff(ours['y'] as Float32Array, values(y)), 'y').toBeLessThan(TOL);
    expect(relDiff(back(ours['dx'], shape), values(dx)), 'dx').toBeLessThan(TOL);
    // More cells than the 2 x 4 maxima get dy: the data has ties, and every tied maximum gets all of its dy.
    if (kind === 'max') expect((ours['dx'] as Float32Array).filter((v) => v !== 0).length).toBeGreaterThan(8);
    tf.dispose([xt, y, dyt, dx]);
  });
});

describe('BatchNormalization with batch statistics', () => {
  it.each([
    [[3, 5, 4, 6]],
    [[7, 5]],
  ])('on %j: y, the batch mean and biased variance (tf.moments), dx, dgamma, dbeta as Keras in training', async (shape) => {
    const c = shape[shape.length - 1] as number;
    const size = shape.reduce((a, b) => a * b, 1);
    const x = uniform(size, 80, -2, 3);
    const dy = uniform(size, 81);
    const gamma = uniform(c, 82, 0.5, 1.5);
    const beta = uniform(c, 83);
    const layer = tf.layers.batchNormalization({ axis: -1, epsilon: 1e-3 });
    const xv = tf.variable(tf.tensor(x, shape));
    tf.dispose(layer.apply(xv, { training: false }) as tf.Tensor);
    layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta), tf.zeros([c]), tf.ones([c])]);
    const dyt = tf.tensor(dy, shape);
    const [gv, bv] = layer.trainableWeights.map((w) => w.read() as tf.Variable) as [tf.Variable, tf.Variable];
    let y: tf.Tensor | null = null;
    const { grads } = tf.variableGrads(() => {
      const out = layer.apply(xv, { training: true }) as tf.Tensor;
      y = tf.keep(out.clone());
      return tf.sum(tf.mul(out, dyt));
    }, [xv, gv, bv]);
    const moments = tf.moments(xv, Array.from({ length: shape.length - 1 }, (_, i) => i));
    const rank = shape.length as 2 | 4;
    const ours = await run({ x: fed(x, shape), dy: fed(dy, shape), gamma: { data: gamma, dims: [c] }, beta: { data: beta, dims: [c] } }, (g) => {
      const v = emitBatchNormTrain(g, 'x', 'gamma', 'beta', 1e-3, rank);
      const d = emitBatchNormTrainGrad(g, 'dy', v, 'gamma', rank);
      return { y: v.y, mean: v.mean, variance: v.variance, dx: d.dx, dgamma: d.dgamma, dbeta: d.dbeta };
    });
    expect(relDiff(back(ours['y'], shape), values(y as unknown as tf.Tensor)), 'y').toBeLessThan(TOL);
    expect(relDiff(ours['mean'] as Float32Array, values(moments.mean)), 'mean').toBeLessThan(TOL);
    expect(relDiff(ours['variance'] as Float32Array, values(moments.variance)), 'variance').toBeLessThan(TOL);
    expect(relDiff(back(ours['dx'], shape), values(grads[xv.name] as tf.Tensor)), 'dx').toBeLessThan(TOL);
    expect(relDiff(ours['dgamma'] as Float32Array, values(grads[gv.name] as tf.Tensor)), 'dgamma').toBeLessThan(TOL);
    expect(relDiff(ours['dbeta'] as Float32Array, values(grads[bv.name] as tf.Tensor)), 'dbeta').toBeLessThan(TOL);
    tf.dispose([xv, dyt, y as unknown as tf.Tensor, moments.mean, moments.variance, ...Object.values(grads)]);
    layer.dispose();
  });
});
