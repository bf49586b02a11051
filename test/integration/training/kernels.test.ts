/**
 * The wasm training kernels (src/main/training/kernels): gradients through conv2d, depthwiseConv2d,
 * matMul and a small MobileNet-like block (BatchNorm + relu6) on wasm, 2 threads, against the pure
 * JS cpu backend's. Every case builds fresh tensors from the same Float32Arrays on each backend and
 * compares dataSync() copies: a tensor is never moved between backends (tfjs-on-cpu.md, Traps).
 * Also: a real training step lowers the loss on wasm, and the kernels leak no tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';

type Shape4 = [number, number, number, number];

beforeAll(async () => {
  const info = await initBackend({ prefer: 'wasm', threads: 2 });
  expect(info.name).toBe('wasm');
  expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
});

/** Deterministic values in [-1, 1). */
function randomArray(size: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Run `fn` on one backend inside a tidy and copy its results out; nothing outlives the call. */
async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  try {
    return tf.tidy(() => fn().map((t) => Float32Array.from(t.dataSync())));
  } finally {
    await tf.setBackend('wasm');
  }
}

/** max |a - b| / max |b|: the error relative to the reference's scale. */
function relError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  expect(scale).toBeGreaterThan(0);
  return err / scale;
}

async function expectSameOnBothBackends(fn: () => tf.Tensor[], tol = 1e-4): Promise<void> {
  const ref = await on('cpu', fn);
  const got = await on('wasm', fn);
  expect(got).toHaveLength(ref.length);
  got.forEach((g, i) => expect(relError(g, ref[i] as Float32Array), `output ${i}`).toBeLessThan(tol));
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** d(sum(y * r))/dx and /dfilter for y = op(x, filter): r makes dy non-uniform. */
function convGrads(
  op: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D,
  xShape: Shape4,
  fShape: Shape4,
): () => tf.Tensor[] {
  const xData = randomArray(size(xShape), 1);
  const fData = randomArray(size(fShape), 2);
  return () => {
    const x = tf.tensor4d(xData, xShape);
    const f = tf.tensor4d(fData, fShape);
    const yShape = op(x, f).shape;
    const r = tf.tensor(randomArray(size(yShape), 3), yShape);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), r)))([x, f]);
    return [dx as tf.Tensor, df as tf.Tensor];
  };
}

describe('conv2d gradients on wasm equal the cpu backend', () => {
  const cases: [string, Shape4, Shape4, number, Pad][] = [
    ['first conv 3x3 s2 same, odd size', [2, 9, 9, 3], [3, 3, 3, 8], 2, 'same'],
    ['3x3 s2 same, even size', [3, 8, 10, 3], [3, 3, 3, 4], 2, 'same'],
    ['1x1 pointwise', [3, 7, 5, 16], [1, 1, 16, 24], 1, 'same'],
    ['1x1 pointwise, more in than out', [2, 5, 5, 24], [1, 1, 24, 8], 1, 'valid'],
    ['1x1 stride 2', [2, 9, 9, 4], [1, 1, 4, 6], 2, 'same'],
    ['3x3 s1 same', [2, 7, 7, 4], [3, 3, 4, 6], 1, 'same'],
    ['3x3 s1 valid', [1, 6, 7, 4], [3, 3, 4, 5], 1, 'valid'],
    ['2x2 s2 explicit padding', [2, 8, 8, 3], [2, 2, 3, 4], 2, [[0, 0], [1, 2], [0, 1], [0, 0]]],
  ];
  it.each(cases)('%s', async (_name, xShape, fShape, stride, pad) => {
    await expectSameOnBothBackends(convGrads((x, f) => tf.conv2d(x, f, stride, pad), xShape, fShape));
  });
});

describe('depthwiseConv2d gradients on wasm equal the cpu backend', () => {
  const cases: [string, Shape4, Shape4, number, Pad, number][] = [
    ['3x3 s1 same', [2, 9, 9, 8], [3, 3, 8, 1], 1, 'same', 1],
    ['3x3 s2 same, odd size', [2, 9, 9, 8], [3, 3, 8, 1], 2, 'same', 1],
    ['3x3 s2 same, even size, not square', [3, 8, 10, 5], [3, 3, 5, 1], 2, 'same', 1],
    ['3x3 s2 valid', [2, 9, 8, 4], [3, 3, 4, 1], 2, 'valid', 1],
    ['channel multiplier 2, s1', [2, 7, 7, 4], [3, 3, 4, 2], 1, 'same', 1],
    ['channel multiplier 3, s2', [2, 8, 8, 3], [3, 3, 3, 3], 2, 'same', 1],
    ['5x5 explicit padding', [2, 8, 9, 3], [5, 5, 3, 1], 1, [[0, 0], [1, 3], [2, 0], [0, 0]], 1],
  ];
  it.each(cases)('%s', async (_name, xShape, fShape, stride, pad, dilation) => {
    await expectSameOnBothBackends(convGrads((x, f) => tf.depthwiseConv2d(x, f, stride, pad, 'NHWC', dilation), xShape, fShape));
  });

  // tfjs' gradient refuses dilations > 1 and the cpu backend's input-gradient kernel ignores them,
  // so dilation is checked by the adjoint identity on wasm alone: for y = conv(x, f) and any dy,
  // sum(y*dy) = sum(x * dInput(dy)) = sum(f * dFilter(x, dy)). The forward itself matches cpu.
  it.each([
    ['same', [1, 9, 9, 4]],
    ['valid', [2, 10, 9, 3]],
  ] as const)('dilation 2, %s: both kernels called directly satisfy the adjoint identity', async (pad, xShape) => {
    const fShape: Shape4 = [3, 3, xShape[3], 2];
    const attrs = { strides: [1, 1], pad, dilations: [2, 2] };
    const xData = randomArray(size([...xShape]), 8);
    const fData = randomArray(size(fShape), 9);
    const forward = () => [tf.depthwiseConv2d(tf.tensor4d(xData, [...xShape]), tf.tensor4d(fData, fShape), 1, pad, 'NHWC', 2)];
    await expectSameOnBothBackends(forward);
    const [products] = await on('wasm', () => {
      const x = tf.tensor4d(xData, [...xShape]);
      const f = tf.tensor4d(fData, fShape);
      const y = tf.depthwiseConv2d(x, f, 1, pad, 'NHWC', 2);
      const dy = tf.tensor(randomArray(y.size, 10), y.shape);
      const run = (name: string, inputs: tf.NamedTensorMap, extra: object) =>
        tf.engine().runKernel(name, inputs, { ...attrs, ...extra } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dx = run('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { inputShape: [...xShape] });
      const df = run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { filterShape: fShape });
      return [tf.stack([tf.sum(tf.mul(y, dy)), tf.sum(tf.mul(x, dx)), tf.sum(tf.mul(f, df))])];
    });
    const [yy = 0, xx = 0, ff = 0] = products ?? [];
    expect(Math.abs(xx - yy) / Math.abs(yy)).toBeLessThan(1e-4);
    expect(Math.abs(ff - yy) / Math.abs(yy)).toBeLessThan(1e-4);
  });
});

describe('fast routes for stock kernels agree with the cpu backend', () => {
  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])('matMul transposeA=%s transposeB=%s and its gradients', async (ta, tb) => {
    const aShape = ta ? [2, 7, 5] : [2, 5, 7];
    const bShape = tb ? [2, 3, 7] : [2, 7, 3];
    const aData = randomArray(size(aShape), 4);
    const bData = randomArray(size(bShape), 5);
    await expectSameOnBothBackends(() => {
      const a = tf.tensor(aData, aShape);
      const b = tf.tensor(bData, bShape);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb)));
      return [tf.matMul(a, b, ta, tb), ...tf.grads(f)([a, b])];
    });
  });

  it('tile of size-1 axes (the BatchNorm gradient) and a general tile', async () => {
    const data = randomArray(2 * 3 * 4, 6);
    await expectSameOnBothBackends(() => [
      tf.tile(tf.tensor(data.subarray(0, 4), [1, 1, 1, 4]), [2, 3, 5, 1]),
      tf.tile(tf.tensor(data, [2, 3, 4]), [2, 1, 3]),
      tf.tile(tf.tensor(data, [2, 3, 4]), [1, 2, 1]),
    ]);
  });
});

/** A MobileNet v1 stem + two depthwise-separable blocks (one stride 2) + head, BN + relu6 everywhere. */
function mobileNetLikeBlock(): tf.LayersModel {
  const relu6 = () => tf.layers.reLU({ maxValue: 6 });
  const bn = () => tf.layers.batchNormalization({ momentum: 0.9 });
  const input = tf.input({ shape: [15, 15, 3] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
  for (const [strides, filters] of [
    [1, 16],
    [2, 24],
  ] as const) {
    h = tf.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
    h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
    h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
  }
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const BATCH = 4;
const blockInput = randomArray(BATCH * 15 * 15 * 3, 7);
const blockLabels = Float32Array.from({ length: BATCH * 5 }, (_, i) => (i % 5 === Math.floor(i / 5) % 5 ? 1 : 0));

/** The same initial weights on every backend: made once on cpu, then rebuilt from arrays. */
let blockWeights: { shape: number[]; data: Float32Array }[] = [];

function buildBlock(): tf.LayersModel {
  const model = mobileNetLikeBlock();
  if (blockWeights.length) model.setWeights(blockWeights.map((w) => tf.tensor(w.data, w.shape)));
  else blockWeights = model.getWeights().map((w) => ({ shape: w.shape, data: Float32Array.from(w.dataSync()) }));
  return model;
}

describe('a MobileNet-like block with BatchNorm and relu6', () => {
  beforeAll(async () => {
    await on('cpu', () => {
      buildBlock().dispose();
      return [];
    });
  });

  // 5e-4, not 1e-4: BatchNorm's gradient subtracts batch means of float32 sums that the two
  // backends accumulate in different orders (every kernel alone is held to 1e-4 above).
  it('has the same weight gradients on wasm as on cpu (BatchNorm in training mode)', async () => {
    await expectSameOnBothBackends(() => {
      const model = buildBlock();
      const x = tf.tensor4d(blockInput, [BATCH, 15, 15, 3]);
      const y = tf.tensor2d(blockLabels, [BATCH, 5]);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
      const out = vars.map((v) => grads[v.name] as tf.Tensor);
      model.dispose();
      return out;
    }, 5e-4);
  });

  it('trains on wasm: the loss goes down over a few steps', async () => {
    await tf.setBackend('wasm');
    const model = buildBlock();
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const x = tf.tensor4d(blockInput, [BATCH, 15, 15, 3]);
    const y = tf.tensor2d(blockLabels, [BATCH, 5]);
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) losses.push(Number(await model.trainOnBatch(x, y)));
    tf.dispose([x, y]);
    model.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] ?? 0) * 0.7);
  });
});

describe('no leaks', () => {
  it('keeps tf.memory().numTensors stable across repeated gradient calls on wasm', async () => {
    await tf.setBackend('wasm');
    const cases = [
      convGrads((x, f) => tf.conv2d(x, f, 2, 'same'), [2, 9, 9, 3], [3, 3, 3, 8]),
      convGrads((x, f) => tf.conv2d(x, f, 1, 'same'), [2, 5, 5, 8], [1, 1, 8, 4]),
      convGrads((x, f) => tf.depthwiseConv2d(x, f, 2, 'same'), [2, 9, 9, 4], [3, 3, 4, 2]),
      () => [tf.tile(tf.ones([1, 1, 1, 4]), [2, 3, 3, 1]), tf.matMul(tf.ones([3, 4]), tf.ones([5, 4]), false, true)],
    ];
    const runAll = () => cases.forEach((c) => tf.dispose(tf.tidy(c)));
    runAll(); // first call may create lasting state (kernels, op caches)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) runAll();
    expect(tf.memory().numTensors).toBe(before);
  });
});
