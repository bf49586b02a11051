/**
 * Scenarios 2-4's training step on ONNX Runtime (onnx/train/) against TensorFlow.js (trainable-net.ts
 * + learner.ts), in process, on real pretrained weights at a small input (32 px):
 *  - the step graph's loss and every parameter's gradient (class-weighted cross-entropy) equal
 *    tf.variableGrads' on MobileNet v1 0.25 (every layer; frozen through conv_pw_11) and on the
 *    Teachable Machine MobileNetV2 0.35 (skip connections, ZeroPadding2D, stride-2 valid depthwise);
 *  - three Adam steps of the ONNX learner give the losses and parameters of three TensorFlow.js
 *    steps, with every BatchNorm statistic and every frozen weight bit-identical.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { buildHead, crossEntropy, logitsOf } from '../../../src/main/engine/head';
import { Learner } from '../../../src/main/engine/learner';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { headParamCount } from '../../../src/main/engine/onnx/head-graph';
import { OnnxLearner } from '../../../src/main/engine/learner-onnx';
import { emitTrainStep } from '../../../src/main/engine/onnx/train/train-graph';
import { buildTrainPlan, type TrainPlan } from '../../../src/main/engine/onnx/train/train-plan';
import { cloneNetwork } from '../../../src/main/engine/scenario-finetune';
import { trainableNet } from '../../../src/main/engine/trainable-net';
import { trainConfigSchema } from '../../../src/shared/domain';
import { relDiff } from '../../fixtures/compare';
import { MODEL_025, TEACHABLE_MODEL } from '../../fixtures/assets';

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

describe('the training-step graph gives TensorFlow.js gradients', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { model, x } = await inputOf(c);
      const clone = await cloneNetwork(model, 'pretrained');
      const net = trainableNet(clone, { from: c.from, to: c.to, mode: 'inference' });
      const head = buildHead(net.outputDim, K, config);
      const headVars = head.trainableWeights.map((w) => w.read() as tf.Variable);
      const weights = tf.tensor1d(CLASS_WEIGHTS);
      const { value, grads } = tf.variableGrads(() => crossEntropy(logitsOf(head, net.forward(x, true), 0, null), tf.tensor1d(Y, 'int32'), K, weights), [...net.variables, ...headVars]);

      const plan = buildTrainPlan(clone, { from: c.from, to: c.to, inputShape: x.shape.slice(1), mode: 'inference' });
      expect(plan.params.map((p) => p.variable)).toEqual(expect.arrayContaining(net.variables));
      expect(plan.params.length).toBe(net.variables.length);
      const units = [plan.outputDim, 16, K];
      const { model: bytes } = emitTrainStep({ plan, head: { units, activation: 'relu', dropout: false }, bnMode: 'inference', batch: B });
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const rowWeight = Float32Array.from(Y, (y) => (CLASS_WEIGHTS[y] as number) / B);
      const target = new Float32Array(B * K);
      Y.forEach((y, i) => (target[i * K + y] = rowWeight[i] as number));
      const headFlat = new Float32Array(headParamCount(units));
      let o = 0;
      for (const v of headVars) {
        headFlat.set(v.dataSync() as Float32Array, o);
        o += v.size;
      }
      const out = await session.run({
        input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape),
        net: new ort.Tensor('float32', netVector(plan), [plan.paramCount]),
        stats: new ort.Tensor('float32', statsVector(plan), [plan.statsCount]),
        flat: new ort.Tensor('float32', headFlat, [headFlat.length]),
        rowWeight: new ort.Tensor('float32', rowWeight, [B, 1]),
        target: new ort.Tensor('float32', target, [B, K]),
      });
      const logp = out['logp']?.data as Float32Array;
      const loss = Y.reduce((a, y, i) => a - (CLASS_WEIGHTS[y] as number) * (logp[i * K + y] as number), 0) / B;
      expect(Math.abs(loss - (value.dataSync()[0] as number))).toBeLessThan(1e-5);
      const gnet = out['gnet']?.data as Float32Array;
      let worst = 0;
      for (const p of plan.params) {
        const ref = grads[p.variable.name]?.dataSync() as Float32Array;
        const d = relDiff(gnet.subarray(p.offset, p.offset + p.variable.size), ref);
        worst = Math.max(worst, d);
      }
      expect(worst).toBeLessThan(2e-3);
      const ghead = out['grad']?.data as Float32Array;
      o = 0;
      for (const v of headVars) {
        expect(relDiff(ghead.subarray(o, o + v.size), grads[v.name]?.dataSync() as Float32Array)).toBeLessThan(1e-4);
        o += v.size;
      }
      await session.release();
      tf.dispose([x, value, weights, ...Object.values(grads)]);
      net.dispose();
    });
  }
});

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
      const pretrained = new Map(model.weights.map((w, i) => [w.name, model.getWeights()[i]?.dataSync().slice() as Float32Array]));
      const reference = await cloneNetwork(model, 'pretrained');
      const net = trainableNet(reference, { from: c.from, to: c.to, mode: c.mode, statsMomentum: 0.9 });
      const headRef = buildHead(net.outputDim, K, config);
      const tfLearner = new Learner(net, headRef, config, 1e-4, tf.tensor1d(CLASS_WEIGHTS));
      const clone = await cloneNetwork(model, 'pretrained');
      const plan = buildTrainPlan(clone, { from: c.from, to: c.to, inputShape: x.shape.slice(1), mode: c.mode, statsMomentum: 0.9 });
      const head = buildHead(plan.outputDim, K, config);
      const rt = { ort, provider: 'cpu' as const, threads: 1 };
      const learner = await OnnxLearner.create({ ...rt, plan, head, config, netLr: 1e-4, classWeights: CLASS_WEIGHTS, bnMode: c.mode, batchSize: B, rowShape: x.shape.slice(1) });
      const data = x.dataSync() as Float32Array;
      for (let s = 0; s < 3; s++) {
        const a = tfLearner.step(x, Y, 1);
        const b = await learner.step(data, Y, 1);
        expect(Math.abs(b.loss - a.loss), `loss at step ${s}`).toBeLessThan(1e-3 * a.loss);
        expect(b.correct).toBe(a.correct);
      }
      learner.writeBack();
      const after = clone.getWeights();
      const expected = reference.getWeights();
      let moved = 0;
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
        expect(relDiff(v, expected[i]?.dataSync() as Float32Array), w.name).toBeLessThan(5e-4);
      });
      expect(moved).toBe(plan.params.length + (c.mode === 'batch' ? 2 * plan.batchNorms.length : 0));
      const hAfter = head.getWeights();
      headRef.getWeights().forEach((w, i) => expect(relDiff(hAfter[i]?.dataSync() as Float32Array, w.dataSync() as Float32Array)).toBeLessThan(1e-4));
      learner.dispose();
      tfLearner.dispose();
      x.dispose();
      net.dispose();
    });
  }
});
