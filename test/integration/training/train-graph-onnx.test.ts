/**
 * Scenarios 2-4's training step on ONNX Runtime (onnx/train/) against TensorFlow.js (trainable-net.ts
 * + learner.ts), in process, on real pretrained weights at a small input (32 px):
 *  - the step graph's loss and every parameter's gradient (class-weighted cross-entropy) equal
 *    tf.variableGrads' on a small seeded network of every layer kind and geometry MobileNets need
 *    and more (strides, valid padding, non-square kernels, BatchNorm folded and standalone), on
 *    MobileNet v1 0.25 (every layer; frozen through conv_pw_11) and on the Teachable Machine
 *    MobileNetV2 0.35 (skip connections, ZeroPadding2D, stride-2 valid depthwise); dilated
 *    convolutions, which TensorFlow.js cannot differentiate, against the loss's finite differences;
 *  - three Adam steps of the ONNX learner give the losses and parameters of three TensorFlow.js
 *    steps, with every BatchNorm statistic and every frozen weight bit-identical;
 *  - the Keras architectures with seeded weights (EfficientNetB0 every layer; ResNet50's
 *    conv4_block1 and VGG16's block 5, for time): two momentum-SGD steps give TensorFlow.js' losses and updates.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { buildHead, crossEntropy, logitsOf } from '../../../src/main/engine/head';
import { Learner } from '../../../src/main/engine/learner';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { headParamCount } from '../../../src/main/engine/onnx/head-graph';
import { nchwcBlockSize } from '../../../src/main/engine/onnx/runtime';
import { OnnxLearner } from '../../../src/main/engine/learner-onnx';
import { emitTrainStep } from '../../../src/main/engine/onnx/train/train-graph';
import { buildTrainPlan, type TrainPlan } from '../../../src/main/engine/onnx/train/train-plan';
import { cloneNetwork } from '../../../src/main/engine/scenario-finetune';
import { trainableNet } from '../../../src/main/engine/trainable-net';
import { trainConfigSchema } from '../../../src/shared/domain';
import { relDiff } from '../../fixtures/compare';
import { MODEL_025, TEACHABLE_MODEL } from '../../fixtures/assets';
import { seedWeights } from '../../fixtures/keras';
import { buildArchitecture } from '../../../src/main/engine/keras/architectures';
import type { KerasArchitecture } from '../../../src/shared/keras-architectures';

const SIZE = 32;
const B = 4;
const K = 3;
const Y = Int32Array.from([0, 1, 2, 1]);
const CLASS_WEIGHTS = Float32Array.from([0.5, 1.25, 2]);

beforeAll(async () => {
  const info = await initBackend({ prefer: 'wasm', threads: 1 });
  expect(info.inference?.runtime).toBe('onnxruntime');
});

const config = trainConfigSchema.parse({ model: 'm', scenario: 4, seed: 3, batchSize: B, lr: 1e-3, head: { hidden: [16], dropout: 0 } });

interface Case {
  name: string;
  dir: string;
  from: string | null;
  to: string;
}

const CASES: Case[] = [
  { name: 'MobileNet v1 0.25, every layer', dir: MODEL_025, from: null, to: 'conv_pw_13_relu' },
  { name: 'MobileNet v1 0.25, frozen through conv_pw_11', dir: MODEL_025, from: 'conv_pw_11_relu', to: 'conv_pw_13_relu' },
  { name: 'Teachable Machine MobileNetV2 0.35, every layer', dir: TEACHABLE_MODEL, from: null, to: 'out_relu' },
];

/** The part's input: images, or (frozen through conv_pw_11, 16x smaller) activations in relu6's range. */
async function inputOf(c: Case): Promise<{ model: tf.LayersModel; x: tf.Tensor4D }> {
  const { model } = await loadLayersModel(c.dir);
  if (!c.from) return { model, x: tf.randomUniform([B, SIZE, SIZE, 3], -1, 1, 'float32', 7) };
  const channels = (model.getLayer(c.from).outputShape as number[])[3] as number;
  return { model, x: tf.randomUniform([B, SIZE / 16, SIZE / 16, channels], 0, 6, 'float32', 7) };
}

function netVector(plan: TrainPlan): Float32Array {
  const v = new Float32Array(plan.paramCount);
  for (const p of plan.params) v.set(p.variable.dataSync() as Float32Array, p.offset);
  return v;
}

function statsVector(plan: TrainPlan): Float32Array {
  const v = new Float32Array(plan.statsCount);
  for (const b of plan.batchNorms) {
    v.set(b.mean.dataSync() as Float32Array, b.statsOffset);
    v.set(b.variance.dataSync() as Float32Array, b.statsOffset + b.channels);
  }
  return v;
}

/** The step graph's loss and gradients against tf.variableGrads' for the part from..to of `model` on x. */
async function expectTfjsGradients(model: tf.LayersModel, from: string | null, to: string, x: tf.Tensor, tolerance: number, mode: 'inference' | 'batch' = 'inference'): Promise<void> {
  const net = trainableNet(model, { from, to, mode });
  const head = buildHead(net.outputDim, K, config);
  const headVars = head.trainableWeights.map((w) => w.read() as tf.Variable);
  const weights = tf.tensor1d(CLASS_WEIGHTS);
  const { value, grads } = tf.variableGrads(() => crossEntropy(logitsOf(head, net.forward(x, true), 0, null), tf.tensor1d(Y, 'int32'), K, weights), [...net.variables, ...headVars]);
  const plan = buildTrainPlan(model, { from, to, inputShape: x.shape.slice(1), mode });
  expect(plan.params.map((p) => p.variable)).toEqual(expect.arrayContaining(net.variables));
  expect(plan.params.length).toBe(net.variables.length);
  const units = [plan.outputDim, 16, K];
  const rowWeight = Float32Array.from(Y, (y) => (CLASS_WEIGHTS[y] as number) / B);
  const target = new Float32Array(B * K);
  Y.forEach((y, i) => (target[i * K + y] = rowWeight[i] as number));
  const headFlat = new Float32Array(headParamCount(units));
  let o = 0;
  for (const v of headVars) {
    headFlat.set(v.dataSync() as Float32Array, o);
    o += v.size;
  }
  // Standard ONNX convolutions, and (where the machine has them) ONNX Runtime's NCHWc ones.
  const block = await nchwcBlockSize();
  for (const nchwcBlock of block ? [0, block] : [0]) {
    const { model: bytes } = emitTrainStep({ plan, head: { units, activation: 'relu', dropout: false }, bnMode: mode, batch: B, nchwcBlock });
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const out = await session.run({
      input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape),
      net: new ort.Tensor('float32', netVector(plan), [plan.paramCount]),
      ...(plan.statsCount ? { stats: new ort.Tensor('float32', statsVector(plan), [plan.statsCount]) } : {}),
      flat: new ort.Tensor('float32', headFlat, [headFlat.length]),
      rowWeight: new ort.Tensor('float32', rowWeight, [B, 1]),
      target: new ort.Tensor('float32', target, [B, K]),
    });
    const logp = out['logp']?.data as Float32Array;
    const loss = Y.reduce((a, y, i) => a - (CLASS_WEIGHTS[y] as number) * (logp[i * K + y] as number), 0) / B;
    expect(Math.abs(loss - (value.dataSync()[0] as number))).toBeLessThan(1e-5 * Math.max(1, loss));
    const gnet = out['gnet']?.data as Float32Array;
    for (const p of plan.params) {
      const ref = grads[p.variable.name]?.dataSync() as Float32Array;
      const ours = gnet.subarray(p.offset, p.offset + p.variable.size);
      // A bias just before a BatchNorm on batch statistics has no effect: its mean is taken out again.
      if (mode === 'batch' && ref.every((v) => Math.abs(v) < 1e-6)) expect(Math.max(...ours.map(Math.abs)), `${p.variable.name} (no effect)`).toBeLessThan(1e-5);
      else expect(relDiff(ours, ref), `${p.variable.name}, NCHWc block ${nchwcBlock}`).toBeLessThan(tolerance);
    }
    const ghead = out['grad']?.data as Float32Array;
    o = 0;
    for (const v of headVars) {
      expect(relDiff(ghead.subarray(o, o + v.size), grads[v.name]?.dataSync() as Float32Array)).toBeLessThan(1e-4);
      o += v.size;
    }
    await session.release();
  }
  tf.dispose([value, weights, ...Object.values(grads)]);
  net.dispose();
}

describe('layer kinds and geometries', () => {
  const seeded = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }) });
  /** A BatchNorm with non-trivial moving statistics and affine parameters (the graph folds it). */
  const bn = (name: string, seed: number) => {
    const layer = tf.layers.batchNormalization({ name });
    return { layer, init: () => layer.setWeights(layer.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, i === 3 ? 2 : 0.5, 'float32', seed + i).add(i === 0 ? 1 : 0))) };
  };
  // 8 filters: a multiple of 4, so that these layers also run on the NCHWc kernels where the machine has them.
  it('Conv2D strided, valid, 3x2, with bias; DepthwiseConv2D strided; BatchNorm folded and standalone; ZeroPadding2D; Add; ReLU; Flatten; Dense', async () => {
    const input = tf.input({ shape: [11, 11, 3] });
    const bn1 = bn('bn1', 11);
    const bn2 = bn('bn2', 21);
    const bn3 = bn('bn3', 31);
    let h = tf.layers.conv2d({ name: 'c1', filters: 8, kernelSize: 3, strides: 2, padding: 'valid', ...seeded(1) }).apply(input) as tf.SymbolicTensor; // 5x5
    h = bn1.layer.apply(h) as tf.SymbolicTensor;
    h = tf.layers.reLU({ maxValue: 6, name: 'r1' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.zeroPadding2d({ padding: [[1, 2], [2, 1]], name: 'zp' }).apply(h) as tf.SymbolicTensor; // 8x8
    const d = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 3 }), useBias: false }).apply(h) as tf.SymbolicTensor;
    const c = tf.layers.conv2d({ name: 'c2', filters: 8, kernelSize: [3, 2], padding: 'same', activation: 'relu', ...seeded(4) }).apply(h) as tf.SymbolicTensor;
    // d also skips bn2: its gradient then sums two parts, one of them still to be scaled by bn2's factor.
    h = tf.layers.add({ name: 'add' }).apply([bn2.layer.apply(d) as tf.SymbolicTensor, c, d]) as tf.SymbolicTensor;
    h = tf.layers.depthwiseConv2d({ name: 'dw2', kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 5 }) }).apply(h) as tf.SymbolicTensor; // 4x4
    h = tf.layers.conv2d({ name: 'c3', filters: 5, kernelSize: 2, strides: 2, padding: 'same', useBias: false, ...seeded(6) }).apply(h) as tf.SymbolicTensor; // 2x2
    h = tf.layers.flatten({ name: 'flat' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ name: 'fc', units: 7, activation: 'relu', ...seeded(7) }).apply(h) as tf.SymbolicTensor;
    h = bn3.layer.apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    for (const b of [bn1, bn2, bn3]) b.init();
    const x = tf.randomUniform([B, 11, 11, 3], -1, 1, 'float32', 9);
    await expectTfjsGradients(model, null, 'bn3', x, 1e-4);
    // Scenario 3's BatchNorm on batch statistics: bn1 and bn2 on 5x5 and 8x8 maps of 8 channels
    // (padded to the NCHWc block where it is 16), bn1 with the ReLU6 after it in its pass; bn1's
    // factor goes into c1's weight gradient, bn2's is applied before d's two gradients are summed.
    await expectTfjsGradients(model, null, 'bn3', x, 1e-4, 'batch');
    x.dispose();
  });
});

describe('dilated convolutions (TensorFlow.js has no gradient for them)', () => {
  it('Conv2D and DepthwiseConv2D with dilation 2: the gradient predicts the change of the loss along a random direction', async () => {
    const input = tf.input({ shape: [9, 9, 2] });
    let h = tf.layers.conv2d({ name: 'c', filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 2, dilationRate: 2, padding: 'valid', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ name: 'c2', filters: 3, kernelSize: 2, dilationRate: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    const x = tf.randomUniform([B, 9, 9, 2], -1, 1, 'float32', 4);
    const plan = buildTrainPlan(model, { from: null, to: 'c2', inputShape: x.shape.slice(1), mode: 'inference' });
    const units = [plan.outputDim, K];
    const { model: bytes } = emitTrainStep({ plan, head: { units, activation: 'relu', dropout: false }, bnMode: 'inference', batch: B });
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const rowWeight = new Float32Array(B).fill(1 / B);
    const target = new Float32Array(B * K);
    Y.forEach((y, i) => (target[i * K + y] = 1 / B));
    const headFlat = Float32Array.from({ length: headParamCount(units) }, (_, i) => Math.sin(i) * 0.5);
    const run = async (net: Float32Array) => {
      const out = await session.run({
        input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape),
        net: new ort.Tensor('float32', net, [net.length]),
        flat: new ort.Tensor('float32', headFlat, [headFlat.length]),
        rowWeight: new ort.Tensor('float32', rowWeight, [B, 1]),
        target: new ort.Tensor('float32', target, [B, K]),
      });
      const logp = out['logp']?.data as Float32Array;
      return { loss: Y.reduce((a, y, i) => a - (logp[i * K + y] as number), 0) / B, grad: out['gnet']?.data as Float32Array };
    };
    const w = netVector(plan);
    const { grad } = await run(w);
    for (const p of plan.params) {
      // One direction per parameter tensor, so each layer's gradient is checked on its own.
      const dir = new Float32Array(w.length);
      for (let i = p.offset; i < p.offset + p.variable.size; i++) dir[i] = Math.cos(7 * i) > 0 ? 1 : -1;
      const eps = 1e-2;
      const plus = await run(w.map((v, i) => v + eps * (dir[i] as number)));
      const minus = await run(w.map((v, i) => v - eps * (dir[i] as number)));
      const numeric = (plus.loss - minus.loss) / (2 * eps);
      const analytic = grad.reduce((a, g, i) => a + g * (dir[i] as number), 0);
      expect(Math.abs(numeric - analytic), `${p.variable.name}: ${numeric} vs ${analytic}`).toBeLessThan(2e-2 * Math.abs(analytic) + 1e-5);
      expect(Math.abs(analytic), p.variable.name).toBeGreaterThan(1e-4);
    }
    await session.release();
    x.dispose();
  });
});

describe('the training-step graph gives TensorFlow.js gradients', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { model, x } = await inputOf(c);
      await expectTfjsGradients(await cloneNetwork(model, 'pretrained'), c.from, c.to, x, 2e-3);
      x.dispose();
    });
  }
});

/**
 * `steps` Adam steps of the ONNX learner and of the TensorFlow.js learner on the part from..to of
 * `model` (left untouched: each trains its own clone) on the batch x of labels Y.slice(0, x rows):
 * same losses and parameters, frozen weights (and statistics unless `mode` is 'batch') bit-identical.
 */
async function expectSameTraining(
  model: tf.LayersModel,
  c: { from: string | null; to: string; mode: 'inference' | 'batch' },
  x: tf.Tensor,
  { steps = 3, cfg = config, netLr = 1e-4, updateTolerance }: { steps?: number; cfg?: typeof config; netLr?: number; updateTolerance?: number } = {},
): Promise<void> {
  const labels = Y.slice(0, x.shape[0]);
  const original = model.getWeights();
  const pretrained = new Map(model.weights.map((w, i) => [w.name, original[i]?.dataSync().slice() as Float32Array]));
  const reference = await cloneNetwork(model, 'pretrained');
  const net = trainableNet(reference, { from: c.from, to: c.to, mode: c.mode, statsMomentum: 0.9 });
  const headRef = buildHead(net.outputDim, K, cfg);
  const tfLearner = new Learner(net, headRef, cfg, netLr, tf.tensor1d(CLASS_WEIGHTS));
  const clone = await cloneNetwork(model, 'pretrained');
  const plan = buildTrainPlan(clone, { from: c.from, to: c.to, inputShape: x.shape.slice(1), mode: c.mode, statsMomentum: 0.9 });
  const head = buildHead(plan.outputDim, K, cfg);
  const headBefore = head.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  const rt = { provider: 'cpu' as const, threads: 1 };
  const learner = await OnnxLearner.create({ ...rt, plan, head, config: cfg, netLr, classWeights: CLASS_WEIGHTS, bnMode: c.mode, batchSize: labels.length, rowShape: x.shape.slice(1) });
  const data = x.dataSync() as Float32Array;
  for (let s = 0; s < steps; s++) {
    const a = tfLearner.step(x, labels, 1);
    const b = await learner.step(data.slice(), labels, 1); // its buffer moves to the session's thread
    expect(Math.abs(b.loss - a.loss), `loss at step ${s}`).toBeLessThan(1e-3 * a.loss);
    expect(b.correct).toBe(a.correct);
  }
  learner.writeBack();
  const after = clone.getWeights();
  const expected = reference.getWeights();
  /**
   * Ours against TensorFlow.js' update itself (a small one hides in the parameters' magnitude),
   * within float rounding of the parameters; whether TensorFlow.js moved the tensor.
   */
  const expectUpdate = (name: string, v: Float32Array, ref: Float32Array, before: Float32Array): boolean => {
    let d = 0;
    let m = 0;
    let scale = 0;
    for (let j = 0; j < v.length; j++) {
      d = Math.max(d, Math.abs((v[j] as number) - (ref[j] as number)));
      m = Math.max(m, Math.abs((ref[j] as number) - (before[j] as number)));
      scale = Math.max(scale, Math.abs(before[j] as number));
    }
    expect(d, `${name} update`).toBeLessThanOrEqual((updateTolerance ?? 0) * m + 4e-7 * scale);
    return m > 0;
  };
  let moved = 0;
  let updated = 0;
  clone.weights.forEach((w, i) => {
    const v = after[i]?.dataSync() as Float32Array;
    const before = pretrained.get(model.weights[i]?.name ?? '') as Float32Array;
    const variable = w.read() as tf.Variable;
    const trains = plan.params.some((p) => p.variable === variable) || (c.mode === 'batch' && plan.batchNorms.some((b) => b.mean === variable || b.variance === variable));
    if (!trains) {
      // Frozen weights and every BatchNorm statistic: not one bit moved.
      expect(Buffer.from(v.buffer).equals(Buffer.from(before.buffer)), `${w.name} bit-identical`).toBe(true);
      return;
    }
    moved++;
    const ref = expected[i]?.dataSync() as Float32Array;
    if (updateTolerance === undefined) {
      expect(relDiff(v, ref), w.name).toBeLessThan(5e-4);
      return;
    }
    if (expectUpdate(w.name, v, ref, before)) updated++;
  });
  expect(moved).toBe(plan.params.length + (c.mode === 'batch' ? 2 * plan.batchNorms.length : 0));
  // Most tensors move (EfficientNet's random squeeze-excite gates vanish its first stages' gradients:
  // there ours must stay put as well, which expectUpdate checked).
  if (updateTolerance !== undefined) expect(updated, 'parameters TensorFlow.js moved').toBeGreaterThan(0.5 * moved);
  const hAfter = head.getWeights();
  headRef.getWeights().forEach((w, i) => {
    const v = hAfter[i]?.dataSync() as Float32Array;
    const ref = w.dataSync() as Float32Array;
    if (updateTolerance === undefined) expect(relDiff(v, ref)).toBeLessThan(1e-4);
    else expect(expectUpdate(`head ${i}`, v, ref, headBefore[i] as Float32Array), `head ${i} moved`).toBe(true);
  });
  learner.dispose();
  tfLearner.dispose();
  net.dispose();
}

describe('the ONNX learner trains as the TensorFlow.js learner', () => {
  const learnerCases: (Case & { mode: 'inference' | 'batch' })[] = [
    { ...(CASES[1] as Case), mode: 'inference' },
    { ...(CASES[2] as Case), mode: 'inference' },
    // Scenario 3's BatchNorm: batch statistics in the step, moving averages moved after it.
    { ...(CASES[1] as Case), name: `${CASES[1]?.name} with BatchNorm on batch statistics`, mode: 'batch' },
  ];
  for (const c of learnerCases) {
    it(`${c.name}: same losses and parameters after 3 Adam steps, frozen weights${c.mode === 'inference' ? ' and statistics' : ''} bit-identical`, async () => {
      const { model, x } = await inputOf(c);
      await expectSameTraining(model, c, x);
      x.dispose();
    });
  }
});

/**
 * Seeded weights keep each layer's scale, but ResNet50's 16 residual sums add up: by conv5 the
 * logits reach 1e13, where both runtimes' losses are float noise. Its branches' last BatchNorm
 * scaled down (as zero-init-gamma training starts them) keeps the whole graph comparable.
 */
function tameResiduals(model: tf.LayersModel): void {
  for (const layer of model.layers.filter((l) => /_3_bn$/.test(l.name))) {
    const [gamma, ...rest] = layer.getWeights();
    layer.setWeights([tf.mul(gamma!, 0.1), ...rest]);
  }
}

describe('the Keras architectures train as on TensorFlow.js (seeded weights, 2 images at 32 px, 2 steps)', () => {
  // Each whole graph: EfficientNetB0 (swish, squeeze-excite, Rescaling/Normalization), ResNet50
  // (ZeroPadding2D, bottlenecks, stride-2 projection shortcuts), VGG16 (MaxPooling2D).
  const archCases: { arch: KerasArchitecture; from: string | null; to: string }[] = [
    { arch: 'efficientnetb0', from: null, to: 'top_activation' },
    { arch: 'resnet50', from: null, to: 'conv5_block3_out' },
    { arch: 'vgg16', from: null, to: 'block5_pool' },
  ];
  for (const c of archCases) {
    it(`${c.arch} from ${c.from ?? 'the input'} through ${c.to}`, async () => {
      const model = buildArchitecture(c.arch, { includeTop: false, inputSize: SIZE, init: 'zeros' });
      seedWeights(model, 5);
      if (c.arch === 'resnet50') tameResiduals(model);
      const full = tf.randomUniform([2, SIZE, SIZE, 3], 0, 255, 'float32', 7); // raw pixels, as these models take them
      // The part's input: the frozen layers' output on real images, as the activation cache gives it.
      const x = c.from ? (tf.model({ inputs: model.inputs, outputs: model.getLayer(c.from).output }).predict(full) as tf.Tensor4D) : full;
      // Momentum SGD, whose update is linear in the gradient: Adam's sign-like update of a gradient
      // that is float noise (random weights give many) differs by 2 lr either way (Adam is checked above).
      const sgd = trainConfigSchema.parse({ ...config, optimizer: 'sgd' });
      await expectSameTraining(model, { from: c.from, to: c.to, mode: 'inference' }, x, { steps: 2, cfg: sgd, netLr: 1e-2, updateTolerance: 2e-3 });
      tf.dispose([full, x]);
    });
  }
});
