/**
 * One training step on ONNX Runtime, alone: `npx tsx bench/train-step.ts [--scenario 3|4] [--steps 10]
 * [--nchwc 0] [--profile DIR]`. MobileNet v1 0.25 at 224, batch 32, the step graph the engine runs for
 * scenario 3 (BatchNorm on batch statistics) or 4 (every layer, statistics fixed), on random images,
 * with the engine's session options. Prints ms per step and the page faults per step; with --profile,
 * ONNX Runtime's profile (a JSON per operator) goes to DIR and the time per operator kind is printed.
 * For A/B comparisons of graph forms on one machine (run each side twice, alternately): it leaves out
 * the data pipeline and the optimiser, which `bench/transfer.ts` includes.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../src/main/engine/backend';
import { loadLayersModel } from '../src/main/engine/model-layers';
import { headParamCount } from '../src/main/engine/onnx/head-graph';
import { nchwcBlockSize, sessionOptions } from '../src/main/engine/onnx/runtime';
import { emitTrainStep } from '../src/main/engine/onnx/train/train-graph';
import { buildTrainPlan } from '../src/main/engine/onnx/train/train-plan';
import { MODELS, arg } from './common';

const B = 32;
const K = 10;
const mode = arg('--scenario') === '4' ? 'inference' : 'batch';
const steps = Number(arg('--steps') ?? 10);
const profile = arg('--profile');
await initBackend({ prefer: 'wasm', threads: 1 });
const { model } = await loadLayersModel(path.join(MODELS, 'mobilenet_v1_0.25_224'));
const plan = buildTrainPlan(model, { from: null, to: 'conv_pw_13_relu', inputShape: [224, 224, 3], mode });
const units = [plan.outputDim, 128, K];
const nchwcBlock = arg('--nchwc') === undefined ? await nchwcBlockSize() : Number(arg('--nchwc'));
const { model: bytes } = emitTrainStep({ plan, head: { units, activation: 'relu', dropout: false }, bnMode: mode, batch: B, nchwcBlock });
if (profile) fs.mkdirSync(profile, { recursive: true });
const session = await ort.InferenceSession.create(bytes, { ...sessionOptions('cpu', 2), ...(profile ? { enableProfiling: true, profileFilePrefix: path.join(profile, 'step') } : {}) });

const net = new Float32Array(plan.paramCount);
for (const p of plan.params) net.set(p.variable.dataSync() as Float32Array, p.offset);
const stats = new Float32Array(plan.statsCount);
for (const b of plan.batchNorms) {
  stats.set(b.mean.dataSync() as Float32Array, b.statsOffset);
  stats.set(b.variance.dataSync() as Float32Array, b.statsOffset + b.channels);
}
const target = new Float32Array(B * K);
for (let i = 0; i < B; i++) target[i * K + (i % K)] = 1 / B;
const headSize = headParamCount(units);
const feeds = {
  input: new ort.Tensor('float32', Float32Array.from({ length: B * 224 * 224 * 3 }, () => Math.random() * 2 - 1), [B, 224, 224, 3]),
  net: new ort.Tensor('float32', net, [plan.paramCount]),
  ...(plan.statsCount ? { stats: new ort.Tensor('float32', stats, [plan.statsCount]) } : {}),
  flat: new ort.Tensor('float32', Float32Array.from({ length: headSize }, () => (Math.random() - 0.5) * 0.1), [headSize]),
  rowWeight: new ort.Tensor('float32', new Float32Array(B).fill(1 / B), [B, 1]),
  target: new ort.Tensor('float32', target, [B, K]),
};
await session.run(feeds); // the first run plans the memory
const faults0 = process.resourceUsage().minorPageFault;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await session.run(feeds);
const ms = (performance.now() - t0) / steps;
const faults = (process.resourceUsage().minorPageFault - faults0) / steps;
console.log(`scenario ${mode === 'batch' ? 3 : 4}, NCHWc block ${nchwcBlock}: ${ms.toFixed(1)} ms a step (${((B * 1000) / ms).toFixed(1)} img/s), ${Math.round(faults)} page faults a step`);

if (profile) {
  session.endProfiling(); // writes DIR/step_<date>.json (onnxruntime-node returns no name)
  const file = fs.readdirSync(profile).filter((f) => f.startsWith('step_') && f.endsWith('.json')).map((f) => path.join(profile, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0] as string;
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat?: string; name: string; dur: number; args?: { op_name?: string } }[];
  const byKind = new Map<string, { us: number; calls: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    // Node names carry their emitter's hint (e.g. "affine_208"): grouped by operator and hint.
    const key = `${e.args?.op_name ?? '?'} ${e.name.replace(/_kernel_time$/, '').replace(/_?\d+$/, '')}`;
    const k = byKind.get(key) ?? { us: 0, calls: 0 };
    k.us += e.dur;
    k.calls++;
    byKind.set(key, k);
  }
  const runs = steps + 1;
  const total = [...byKind.values()].reduce((a, k) => a + k.us, 0);
  for (const [key, k] of [...byKind.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, 25)) {
    console.log(`${((100 * k.us) / total).toFixed(1).padStart(5)}%  ${(k.us / runs / 1000).toFixed(1).padStart(7)} ms  ${String(k.calls / runs).padStart(4)}x  ${key}`);
  }
  console.log(`profile: ${file}`);
}
tf.disposeVariables();
