/**
 * Scenario 2's accuracy gap (issue 26), the studio's side: the activation cache of the first N
 * Fashion-MNIST training images (the frozen part's output at conv_pw_11_relu, NHWC, what scenario 2
 * trains from), written in image order as float32, for bench/s2-gap.py to compare with the PyTorch
 * reference's frozen outputs on the same images:
 *   npx tsx bench/s2-gap.ts [N=64] [OUT=/tmp/s2-ours.f32]
 *   /usr/bin/python3 bench/s2-gap.py compare /tmp/s2-ours.f32
 * and what the studio draws for a seed (the head's initial weights, buildHead; each epoch's order
 * of the training images, epoch-loop.ts), for s2-gap.py's `studio` variant (torch_transfer's loop
 * with exactly these):
 *   npx tsx bench/s2-gap.ts draws SEED [OUT=/tmp/s2-draws-SEED.json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainConfigSchema } from '../src/shared/domain';
import { FASHION_CLASSES, fashionPngs } from './fashion-mnist';
import { MODELS } from './common';

if (process.argv[2] === 'draws') {
  const tf = await import('@tensorflow/tfjs');
  const { buildHead } = await import('../src/main/engine/head');
  const { loopSeeds } = await import('../src/main/engine/epoch-loop');
  const { seededRandom, shuffled } = await import('../src/shared/random');
  const seed = Number(process.argv[3] ?? 42);
  const file = process.argv[4] ?? path.join(os.tmpdir(), `s2-draws-${seed}.json`);
  const config = trainConfigSchema.parse({ scenario: 2, model: 'm', seed, head: { hidden: [128], dropout: 0 } });
  const head = buildHead(256, 10, config);
  // The run's 1,600 training images, in the order the job lists them (image order).
  const orders = [1, 2, 3].map((epoch) => Array.from(shuffled(1600, seededRandom(loopSeeds.shuffle(seed, epoch)))));
  const weights = head.getWeights().map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) }));
  fs.writeFileSync(file, JSON.stringify({ seed, orders, weights }));
  process.stdout.write(`${weights.length} head tensors and ${orders.length} epoch orders -> ${file}\n`);
  tf.disposeVariables();
  process.exit(0);
}
const n = Number(process.argv[2] ?? 64);
const out = process.argv[3] ?? path.join(os.tmpdir(), 's2-ours.f32');
const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
const { trainPlanned } = await import('../test/fixtures/train-job');
const { validSegments } = await import('../src/main/engine/feature-cache');
const data = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), n, 0);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-s2-gap-'));
const client = new EngineClient(() => forkEngine());
const model = 'mobilenet_v1_0.25_224';
try {
  const items = data.train.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: (i % 5 === 4 ? 'val' : 'train') as 'train' | 'val' }));
  const config = trainConfigSchema.parse({ scenario: 2, model, epochs: 1, freezeTo: 'conv_pw_11_relu', augment: null });
  await trainPlanned(client, { projectDir: tmp, runDir: path.join(tmp, 'run'), cacheDir: path.join(tmp, 'cache'), modelDir: path.join(MODELS, model), modelId: model, classNames: FASHION_CLASSES, items, config });
  const root = path.join(tmp, 'cache', 'activations');
  const dir = path.join(root, fs.readdirSync(root)[0] ?? '');
  const dim = (JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { dim: number }).dim;
  const rows = new Map<string, Float32Array>();
  for (const seg of await validSegments(dir, dim)) {
    const b = fs.readFileSync(seg.file);
    const a = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    seg.hashes.forEach((h, i) => rows.set(h, a.subarray(i * dim, (i + 1) * dim)));
  }
  const x = new Float32Array(n * dim);
  data.train.forEach((d, i) => x.set(rows.get(d.hash) ?? new Float32Array(dim).fill(NaN), i * dim));
  fs.writeFileSync(out, new Uint8Array(x.buffer));
  process.stdout.write(`${n} x ${dim} activations -> ${out}\n`);
} finally {
  client.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
}
