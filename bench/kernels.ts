/**
 * Training-kernel benchmark: `npx tsx bench/kernels.ts [--quick]`
 *
 * Training step img/s on wasm, 2 threads, with the training kernels of src/main/engine/kernels
 * (registered by initBackend), MobileNet v1 at 224x224, a new 10-class dense head, SGD, plain
 * tf.layers models (BatchNorm in training mode):
 *  (a) the last 4 blocks (conv_dw_10 .. conv_pw_13_relu) + head, from cached activations at the
 *      cut (batch 8 and 32), and uncached (the frozen part's inference forward first, batch 8);
 *  (b) the full network (batch 8; alpha 0.25 also 32).
 * Alpha 0.25 has real weights (../shared/models); 1.0 is the 0.75 topology widened, random weights
 * (speed only). Each configuration runs in its own process: an out-of-memory abort of the 4 GB
 * wasm heap fails that row only. Also times single kernels against the forward conv they mirror.
 * Prints a table next to the numbers of ../shared/notes/tfjs-on-cpu.md. Never asserted in tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import { MODELS, argv } from './common';

const here = path.dirname(fileURLToPath(import.meta.url));
const quick = argv.includes('--quick');
const CUT = 'global_average_pooling2d_1';
const FROZEN_END = 'conv_pw_9_relu';

type Shape4 = [number, number, number, number];

interface Config {
  alpha: '0.25' | '1.0';
  part: 'last4-cached' | 'last4-uncached' | 'full';
  batch: number;
}
interface Row extends Config {
  imgPerSec: number | null;
  error?: string;
}

/** Notes' wasm figures (first working path) and PyTorch CPU's, img/s, 2 threads. */
const REFERENCE: Record<string, { notes?: number; pytorch?: number }> = {
  '1.0 last4-uncached 8': { notes: 3.9, pytorch: 35.7 },
  '1.0 last4-cached 32': { notes: 9.8, pytorch: 35.7 },
  '0.25 last4-cached 32': { notes: 59, pytorch: 215 },
  '1.0 full 8': { notes: 1.3, pytorch: 19.4 },
  '0.25 full 8': { notes: 4.3, pytorch: 102 },
  '0.25 full 32': { pytorch: 102 },
};

async function loadNet(tf: typeof TF, alpha: Config['alpha']): Promise<TF.LayersModel> {
  if (alpha === '0.25') {
    const { loadLayersModel } = await import('../src/main/engine/model-layers');
    return (await loadLayersModel(path.join(MODELS, 'mobilenet_v1_0.25_224'))).model;
  }
  // alpha 1.0: the 0.75 topology with every conv 4/3 wider, no weights manifest (random init).
  const json = JSON.parse(fs.readFileSync(path.join(MODELS, 'mobilenet_v1_0.75_224/model.json'), 'utf8')) as {
    modelTopology: { model_config: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } };
  };
  for (const l of json.modelTopology.model_config.config.layers) {
    if (l.class_name === 'Conv2D' && l.config['filters'] !== 1000) l.config['filters'] = Math.round((Number(l.config['filters']) * 4) / 3);
    if (l.class_name === 'Reshape' && Array.isArray(l.config['target_shape']) && l.config['target_shape'].length === 3) l.config['target_shape'] = [1, 1, 1024];
  }
  return (await tf.models.modelFromJSON({ modelTopology: json.modelTopology } as unknown as TF.ModelAndWeightsConfig)) as TF.LayersModel;
}

/** Layers [from .. to] of a chain-shaped network applied to a new input, plus a 10-class head. */
function chainModel(tf: typeof TF, net: TF.LayersModel, from: string, to: string, head: boolean): TF.LayersModel {
  const layers = net.layers;
  const start = layers.findIndex((l) => l.name === from);
  const end = layers.findIndex((l) => l.name === to);
  const inShape = (layers[start]!.input as TF.SymbolicTensor).shape.slice(1) as number[];
  const input = tf.input({ shape: inShape });
  let h: TF.SymbolicTensor = input;
  for (const l of layers.slice(start, end + 1)) h = l.apply(h) as TF.SymbolicTensor;
  if (head) h = tf.layers.dense({ units: 10, activation: 'softmax' }).apply(h) as TF.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

async function measureChild(cfg: Config): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../src/main/engine/backend');
  const info = await initBackend({ prefer: 'wasm', threads: 2 });
  if (info.name !== 'wasm') throw new Error(`wasm did not start (${info.name})`);
  const net = await loadNet(tf, cfg.alpha);
  const first = cfg.part === 'full' ? 'conv1' : 'conv_dw_10';
  const trained = chainModel(tf, net, first, CUT, true);
  trained.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  const frozen = cfg.part === 'last4-uncached' ? chainModel(tf, net, 'conv1', FROZEN_END, false) : null;
  const inShape = cfg.part === 'last4-cached' ? (trained.inputs[0]!.shape.slice(1) as number[]) : [224, 224, 3];
  const x = tf.randomUniform([cfg.batch, ...inShape], -1, 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: cfg.batch }, (_, i) => i % 10), 'int32'), 10);
  const step = async () => {
    const input = frozen ? (frozen.predict(x) as TF.Tensor) : x;
    await trained.trainOnBatch(input, y);
    if (input !== x) input.dispose();
  };
  await step(); // warm-up: operator creation, first allocations
  const budgetMs = quick ? 4000 : 12000;
  let n = 0;
  const t0 = performance.now();
  do {
    await step();
    n += cfg.batch;
  } while (performance.now() - t0 < budgetMs && n < cfg.batch * 20);
  const imgPerSec = n / ((performance.now() - t0) / 1000);
  process.stdout.write(`RESULT ${JSON.stringify({ ...cfg, imgPerSec, numTensors: tf.memory().numTensors })}\n`);
  process.exit(0);
}

/** Milliseconds per call of each new or rerouted kernel vs the forward op it mirrors (MobileNet 1.0 shapes, batch 8). */
async function kernelChild(): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../src/main/engine/backend');
  await initBackend({ prefer: 'wasm', threads: 2 });
  const time = (f: () => TF.Tensor | TF.Tensor[]) => {
    tf.dispose(tf.tidy(f));
    const t0 = performance.now();
    const reps = 3;
    for (let i = 0; i < reps; i++) {
      const out = tf.tidy(f);
      (Array.isArray(out) ? out : [out]).forEach((t) => t.dataSync());
      tf.dispose(out);
    }
    return (performance.now() - t0) / reps;
  };
  const lines: string[] = [];
  const grad = (name: string, fwd: (x: TF.Tensor4D, w: TF.Tensor4D) => TF.Tensor4D, xs: Shape4, ws: Shape4) => {
    const x = tf.randomNormal(xs) as TF.Tensor4D;
    const w = tf.randomNormal(ws) as TF.Tensor4D;
    const g = tf.grads((a: TF.Tensor, b: TF.Tensor) => tf.sum(fwd(a as TF.Tensor4D, b as TF.Tensor4D)));
    const tf_ = time(() => fwd(x, w));
    const tb = time(() => g([x, w]));
    lines.push(`${name.padEnd(36)} forward ${tf_.toFixed(1).padStart(7)} ms | forward + both gradients ${tb.toFixed(1).padStart(7)} ms`);
    tf.dispose([x, w]);
  };
  grad('conv1 3x3 s2 [8,224,224,3] -> 32', (x, w) => tf.conv2d(x, w, 2, 'same'), [8, 224, 224, 3], [3, 3, 3, 32]);
  grad('dw 3x3 s1 [8,112,112,64]', (x, w) => tf.depthwiseConv2d(x, w, 1, 'same'), [8, 112, 112, 64], [3, 3, 64, 1]);
  grad('dw 3x3 s2 [8,112,112,64]', (x, w) => tf.depthwiseConv2d(x, w, 2, 'same'), [8, 112, 112, 64], [3, 3, 64, 1]);
  grad('dw 3x3 s1 [8,14,14,512]', (x, w) => tf.depthwiseConv2d(x, w, 1, 'same'), [8, 14, 14, 512], [3, 3, 512, 1]);
  grad('pw 1x1 [8,112,112,64] -> 128', (x, w) => tf.conv2d(x, w, 1, 'same'), [8, 112, 112, 64], [1, 1, 64, 128]);
  grad('pw 1x1 [8,14,14,512] -> 512', (x, w) => tf.conv2d(x, w, 1, 'same'), [8, 14, 14, 512], [1, 1, 512, 512]);
  grad('pw 1x1 [8,7,7,1024] -> 1024', (x, w) => tf.conv2d(x, w, 1, 'same'), [8, 7, 7, 1024], [1, 1, 1024, 1024]);
  process.stdout.write(`RESULT ${JSON.stringify(lines)}\n`);
  process.exit(0);
}

function runChild(args: string[]): { out: unknown; error?: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    cwd: path.join(here, '..'),
    timeout: 15 * 60_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return { out: JSON.parse(line.slice(7)) };
  const why = `${r.stderr}`.trim().split('\n').slice(-3).join(' ').slice(0, 200) || `exit ${r.status ?? r.signal}`;
  return { out: null, error: why };
}

const fmt = (v: number | null | undefined) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

export async function run(): Promise<void> {
  const k = runChild(['--kernels']);
  process.stdout.write(`\nSingle kernels on wasm, 2 threads (ms per call, 3 calls after a warm-up)\n`);
  process.stdout.write(k.out ? `${(k.out as string[]).join('\n')}\n` : `failed: ${k.error}\n`);

  const configs: Config[] = [
    { alpha: '0.25', part: 'last4-cached', batch: 8 },
    { alpha: '0.25', part: 'last4-cached', batch: 32 },
    { alpha: '0.25', part: 'last4-uncached', batch: 8 },
    { alpha: '1.0', part: 'last4-cached', batch: 8 },
    { alpha: '1.0', part: 'last4-cached', batch: 32 },
    { alpha: '1.0', part: 'last4-uncached', batch: 8 },
    { alpha: '0.25', part: 'full', batch: 8 },
    { alpha: '0.25', part: 'full', batch: 32 },
    { alpha: '1.0', part: 'full', batch: 8 },
  ];
  const rows: Row[] = [];
  for (const cfg of configs) {
    const r = runChild(['--measure', JSON.stringify(cfg)]);
    const imgPerSec = (r.out as { imgPerSec?: number } | null)?.imgPerSec ?? null;
    rows.push({ ...cfg, imgPerSec, ...(r.error ? { error: r.error } : {}) });
    process.stderr.write(`  ${cfg.alpha} ${cfg.part} batch ${cfg.batch}: ${fmt(imgPerSec)} img/s${r.error ? ` (${r.error})` : ''}\n`);
  }
  const header = ['alpha', 'trains', 'batch', 'img/s', 'notes: first wasm path', 'PyTorch CPU'];
  const body = rows.map((r) => {
    const ref = REFERENCE[`${r.alpha} ${r.part} ${r.batch}`] ?? {};
    return [r.alpha, r.part, String(r.batch), r.error ? `failed: ${r.error.slice(0, 60)}` : fmt(r.imgPerSec), fmt(ref.notes), fmt(ref.pytorch)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  process.stdout.write(
    `\nTraining step img/s, MobileNet v1 at 224, wasm 2 threads, tf.layers (BatchNorm in training mode), SGD, 10-class head\n` +
      `last4 = conv_dw_10..conv_pw_13_relu + head; cached = input is the activation at conv_pw_9_relu; uncached = frozen forward first\n` +
      `${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n${body.map(line).join('\n')}\n`,
  );
}

const self = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (self) {
  const fail = (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  };
  const i = argv.indexOf('--measure');
  if (i >= 0) measureChild(JSON.parse(argv[i + 1] ?? '{}') as Config).catch(fail);
  else if (argv.includes('--kernels')) kernelChild().catch(fail);
  else run().catch(fail);
}
