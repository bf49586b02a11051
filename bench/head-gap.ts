/**
 * Scenario 1's head against the PyTorch reference's on the same cached features (issue 26, the
 * alpha-0.75 accuracy gap). Features are extracted once, then only heads train:
 *   npx tsx bench/head-gap.ts dump 0.75 /tmp/ours.raw     the engine's features (scenario 1's cache) of
 *                                                         Fashion-MNIST 10,000 train + 2,000 test, in order
 *   /usr/bin/python3 bench/head-gap.py pack /tmp/ours.raw /tmp/ours_s1.f32 1   + labels + the reference's split
 *   npx tsx bench/head-gap.ts /tmp/ours_s1.f32:1 ...      our head (src/main/engine/head.ts, the runtime the
 *                                                         engine uses) with that seed
 *   /usr/bin/python3 bench/head-gap.py heads /tmp/ours_s1.f32:1 ...   the reference's head on the same
 * A .f32 file: a little-endian header of 5 int32 (nTrain, nTest, dim, nVal, 0), then nTrain labels,
 * nTest labels, nVal validation row indices (the rest train) as int32, then the train and test
 * features as float32 rows. Prints the test accuracy of the best-validation-loss epoch (what the
 * product keeps) and of the last epoch (what the reference reports), for the product's head and
 * the same without dropout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { headSchema, trainConfigSchema, type EpochMetrics, type TrainConfigInput } from '../src/shared/domain';
import { trainHead, type HeadData } from '../src/main/engine/head';
import { FASHION_CLASSES, fashionPngs } from './fashion-mnist';
import { MODELS } from './common';

interface Features {
  dim: number;
  train: HeadData;
  val: HeadData;
  test: HeadData;
}

function load(file: string): Features {
  const buf = fs.readFileSync(file);
  const i32 = new Int32Array(buf.buffer, buf.byteOffset, 5);
  const [nTrain, nTest, dim, nVal] = [i32[0]!, i32[1]!, i32[2]!, i32[3]!];
  let off = 20;
  const ints = (n: number) => {
    const a = new Int32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * n));
    off += 4 * n;
    return a;
  };
  const ytr = ints(nTrain);
  const yte = ints(nTest);
  const valIdx = ints(nVal);
  const x = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * (nTrain + nTest) * dim));
  const isVal = new Uint8Array(nTrain);
  for (const v of valIdx) isVal[v] = 1;
  // Training rows in index order: the loop shuffles them with its own seed.
  const pick = (rows: number[], base: number): HeadData => {
    const out = new Float32Array(rows.length * dim);
    const y = new Int32Array(rows.length);
    rows.forEach((r, k) => {
      out.set(x.subarray((base + r) * dim, (base + r + 1) * dim), k * dim);
      y[k] = base === 0 ? ytr[r]! : yte[r]!;
    });
    return { x: out, y };
  };
  const all = Array.from({ length: nTrain }, (_, i) => i);
  return {
    dim,
    train: pick(all.filter((i) => !isVal[i]), 0),
    val: pick([...valIdx], 0),
    test: pick(Array.from({ length: nTest }, (_, i) => i), nTrain),
  };
}

/** Per-epoch validation metrics and per-epoch test accuracy (the same run twice: validation does not touch the trajectory). */
async function runHead(f: Features, cfg: Omit<TrainConfigInput, 'model' | 'scenario'>, runtime: 'auto' | 'tfjs') {
  const config = trainConfigSchema.parse({ scenario: 1, model: 'm', epochs: 20, patience: 0, batchSize: 64, ...cfg });
  const a = await trainHead({ dim: f.dim, classNames: FASHION_CLASSES, train: f.train, val: f.val, config, runtime });
  const b = await trainHead({ dim: f.dim, classNames: FASHION_CLASSES, train: f.train, val: f.test, config, runtime });
  a.model.dispose();
  b.model.dispose();
  const testAt = (e: number | null) => (e ? (b.metrics[e - 1] as EpochMetrics).valAcc : null);
  return { best: a.bestEpoch, testBest: testAt(a.bestEpoch), testLast: testAt(b.metrics.length), valLast: a.metrics.at(-1)?.valAcc ?? null, kind: a.stepKind };
}

/** Scenario 1's features through the engine (one epoch of training fills the cache), written in image order. */
async function dump(alpha: string, out: string): Promise<void> {
  const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
  const { trainPlanned } = await import('../test/fixtures/train-job');
  const { validSegments } = await import('../src/main/engine/feature-cache');
  const data = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), 10000, 2000);
  const all = [...data.train, ...data.test];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-head-gap-'));
  const client = new EngineClient(() => forkEngine());
  const model = `mobilenet_v1_${alpha}_224`;
  try {
    // Every image in the job (its split does not matter here): all are extracted into the cache.
    const items = all.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: (i % 5 === 0 ? 'val' : 'train') as 'train' | 'val' }));
    const config = trainConfigSchema.parse({ scenario: 1, model, epochs: 1 });
    const res = await trainPlanned(client, { projectDir: tmp, runDir: path.join(tmp, 'run'), cacheDir: path.join(tmp, 'cache'), modelDir: path.join(MODELS, model), modelId: model, classNames: FASHION_CLASSES, items, config });
    const root = path.join(tmp, 'cache', 'features');
    const rows = new Map<string, Float32Array>();
    for (const seg of await validSegments(path.join(root, fs.readdirSync(root)[0] ?? ''), res.featureDim)) {
      const b = fs.readFileSync(seg.file);
      const a = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      seg.hashes.forEach((h, i) => rows.set(h, a.subarray(i * res.featureDim, (i + 1) * res.featureDim)));
    }
    const x = new Float32Array(all.length * res.featureDim);
    all.forEach((d, i) => x.set(rows.get(d.hash) ?? new Float32Array(res.featureDim).fill(NaN), i * res.featureDim));
    fs.writeFileSync(out, new Uint8Array(x.buffer));
    process.stdout.write(`${all.length} x ${res.featureDim} features (${res.frozenKind}) -> ${out}\n`);
  } finally {
    client.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const files = process.argv.slice(2);
if (files[0] === 'dump') {
  await dump(files[1] ?? '0.75', files[2] ?? path.join(os.tmpdir(), 'ours.raw'));
  files.length = 0;
}
const variants: [string, Omit<TrainConfigInput, 'model' | 'scenario'>][] = [
  ['product default (dropout 0.2)', {}],
  ['dropout 0', { head: headSchema.parse({ dropout: 0 }) }],
];
// FILE:SEED trains with that seed only (the product and the reference split and train with one seed); FILE alone with 42, 1 and 2.
for (const spec of files) {
  const [file = spec, one] = spec.split(':');
  const f = load(file);
  for (const seed of one ? [Number(one)] : [42, 1, 2]) {
    for (const [name, cfg] of variants) {
      const r = await runHead(f, { ...cfg, seed }, 'auto');
      process.stdout.write(`${file} seed ${seed} ${name.padEnd(30)} best epoch ${r.best} test(best) ${r.testBest?.toFixed(4)} test(last) ${r.testLast?.toFixed(4)} val(last) ${r.valLast?.toFixed(4)} [${r.kind}]\n`);
    }
  }
}
