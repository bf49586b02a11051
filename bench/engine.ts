/**
 * Engine benchmark: `npx tsx bench/engine.ts [--quick] [--skip-fashion] [--alphas 0.25,0.75,1.0]`
 *
 *  1. feature extraction (to the pooled features, batch 32, 224x224) img/s: plain tf.layers model
 *     on stock-equivalent wasm (1 thread) and on 2 threads, vs the folded + fused path on 1 and
 *     2 threads; MobileNet v1 0.25 and 0.75 (real weights) and 1.0 (the 0.75 topology widened to
 *     alpha 1.0, random weights: speed only). Each thread count runs in its own process (the wasm
 *     thread pool is per process).
 *  2. head training img/s on cached features (10,000 x 256, MLP head [128]).
 *  3. scenario 1 end to end on Fashion-MNIST (10,000 train of which 10% val, then prediction of
 *     2,000 test images) through EngineClient and a real engine process: times, accuracy, the
 *     engine's peak RSS. Needs Debian's dataset-fashion-mnist.
 * Prints a table. Timings depend on the load of the machine; never assert on them in tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS, argv, arg } from './common';
import { FASHION_CLASSES, FASHION_ROOT, fashionPngs } from './fashion-mnist';

const here = path.dirname(fileURLToPath(import.meta.url));

interface InferRow {
  alpha: string;
  threads: number;
  path: 'layers' | 'folded';
  imgPerSec: number;
}

// ---------------------------------------------------------------- child: inference at one thread count
async function inferChild(threads: number, alphas: string[], quick: boolean): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../src/main/engine/backend');
  const { loadLayersModel } = await import('../src/main/engine/model-layers');
  const { foldedForward, layersForward } = await import('../src/main/engine/frozen-forward');
  const info = await initBackend({ prefer: 'wasm', threads });
  const rows: InferRow[] = [];
  for (const alpha of alphas) {
    let model: import('@tensorflow/tfjs').LayersModel;
    if (alpha === '1.0') {
      // alpha 1.0 architecture from the 0.75 topology: every conv 4/3 wider; random weights.
      const json = JSON.parse(fs.readFileSync(path.join(MODELS, 'mobilenet_v1_0.75_224/model.json'), 'utf8')) as {
        modelTopology: { model_config: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } };
      };
      for (const l of json.modelTopology.model_config.config.layers) {
        if (l.class_name === 'Conv2D' && l.config['filters'] !== 1000) l.config['filters'] = Math.round((Number(l.config['filters']) * 4) / 3);
        if (l.class_name === 'Reshape' && Array.isArray(l.config['target_shape']) && l.config['target_shape'].length === 3) l.config['target_shape'] = [1, 1, 1024];
      }
      // Topology only, no weights manifest: tfjs initialises the weights randomly.
      const cfg = { modelTopology: json.modelTopology } as unknown as import('@tensorflow/tfjs').ModelAndWeightsConfig;
      model = (await tf.models.modelFromJSON(cfg)) as import('@tensorflow/tfjs').LayersModel;
    } else {
      model = (await loadLayersModel(path.join(MODELS, `mobilenet_v1_${alpha}_224`))).model;
    }
    const bs = 32;
    const x = tf.randomUniform([bs, 224, 224, 3], -1, 1) as import('@tensorflow/tfjs').Tensor4D;
    for (const kind of ['layers', 'folded'] as const) {
      const fwd = kind === 'folded' ? foldedForward(model, 'global_average_pooling2d_1') : layersForward(model, 'global_average_pooling2d_1');
      const run = () => {
        const y = fwd.run(x);
        y.dataSync();
        y.dispose();
      };
      run(); // warm-up
      const budgetMs = quick ? 3000 : 8000;
      let n = 0;
      const t0 = performance.now();
      do {
        run();
        n += bs;
      } while (performance.now() - t0 < budgetMs && n < 2048);
      rows.push({ alpha, threads: info.threads, path: kind, imgPerSec: n / ((performance.now() - t0) / 1000) });
      fwd.dispose();
    }
    x.dispose();
    model.dispose();
  }
  process.stdout.write(`RESULT ${JSON.stringify({ backend: info, rows })}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- child: head training on cached features
async function headChild(): Promise<void> {
  const { initBackend } = await import('../src/main/engine/backend');
  const { trainHead } = await import('../src/main/engine/head');
  const { trainConfigSchema } = await import('../src/shared/domain');
  const info = await initBackend({ prefer: 'wasm' });
  const n = 10000;
  const dim = 256;
  const k = 10;
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  let s = 1;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < dim; j++) x[i * dim + j] = r() + (j % k === i % k ? 1 : 0);
  }
  const config = trainConfigSchema.parse({ scenario: 1, model: 'x', epochs: 5, patience: 0, batchSize: 32 });
  const res = await trainHead({ dim, classNames: Array.from({ length: k }, (_, i) => String(i)), train: { x, y }, val: { x: x.subarray(0, 1000 * dim), y: y.subarray(0, 1000) }, config });
  process.stdout.write(`RESULT ${JSON.stringify({ backend: info, imgPerSec: res.imagesPerSec, epochs: res.epochsRun, batch: 32, hidden: config.head.hidden })}\n`);
  process.exit(0);
}

function runChild(args: string[]): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    cwd: path.join(here, '..'),
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`bench child ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7));
}

// ---------------------------------------------------------------- Fashion-MNIST end to end
async function fashion(alphas: string[]) {
  const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
  const { trainConfigSchema } = await import('../src/shared/domain');
  const { trainPlanned } = await import('../test/fixtures/train-job');
  const data = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), 10000, 2000);
  const out = [];
  for (const alpha of alphas) {
    const client = new EngineClient(() => forkEngine());
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-s1-'));
    const modelDir = path.join(MODELS, `mobilenet_v1_${alpha}_224`);
    const items = data.train.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: (i % 10 === 9 ? 'val' : 'train') as 'train' | 'val' }));
    const config = trainConfigSchema.parse({ scenario: 1, model: `mobilenet_v1_${alpha}_224`, epochs: 30, patience: 4, batchSize: 64, head: { hidden: [256], dropout: 0.3, activation: 'relu' } });
    const t0 = performance.now();
    const res = await trainPlanned(client, {
      projectDir: tmp,
      runDir: path.join(tmp, 'run'),
      cacheDir: path.join(tmp, 'cache'),
      modelDir,
      modelId: `mobilenet_v1_${alpha}_224`,
      classNames: FASHION_CLASSES,
      items,
      config,
    });
    const totalTrainS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const pred = await client.call('predict', { runDir: path.join(tmp, 'run'), items: data.test.map((d) => ({ path: d.path, hash: d.hash })), cacheDir: path.join(tmp, 'cache') });
    const predictS = (performance.now() - t1) / 1000;
    const correct = pred.items.filter((p, i) => p.probabilities.indexOf(Math.max(...p.probabilities)) === data.test[i]?.label).length;
    const stats = await client.call('stats', {});
    client.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
    const best = res.metrics.find((m) => m.epoch === res.bestEpoch);
    out.push({
      alpha,
      backend: `${res.backend.name} x${res.backend.threads}`,
      extractS: res.extractMs / 1000,
      extractImgPerSec: 10000 / (res.extractMs / 1000),
      trainS: res.trainMs / 1000,
      epochs: res.epochsRun,
      bestEpoch: res.bestEpoch,
      valAcc: best?.valAcc ?? null,
      testAcc: correct / data.test.length,
      totalS: totalTrainS,
      predictS,
      peakRssMB: stats.maxRssBytes / 2 ** 20,
    });
  }
  return out;
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const part = arg('--part');
  const quick = argv.includes('--quick');
  const alphas = (arg('--alphas') ?? '0.25,0.75,1.0').split(',');
  if (part === 'infer') return inferChild(Number(arg('--threads') ?? 1), alphas, quick);
  if (part === 'head') return headChild();

  console.log(`engine bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
  const cores = os.availableParallelism();
  const inferRows: InferRow[] = [];
  for (const threads of [...new Set([1, cores])]) {
    const r = runChild(['--part', 'infer', '--threads', String(threads), '--alphas', alphas.join(','), ...(quick ? ['--quick'] : [])]) as { rows: InferRow[] };
    inferRows.push(...r.rows);
  }
  console.log('\nFeature extraction to pooled features, batch 32, 224x224 (img/s; wasm SIMD)');
  console.log('| alpha | layers 1 thr | layers ' + cores + ' thr | folded 1 thr | folded ' + cores + ' thr | folded ' + cores + ' thr / layers 1 thr |');
  console.log('|---|---|---|---|---|---|');
  for (const a of alphas) {
    const get = (t: number, p: string) => inferRows.find((r) => r.alpha === a && r.threads === t && r.path === p)?.imgPerSec ?? NaN;
    const l1 = get(1, 'layers');
    const f2 = get(cores, 'folded');
    console.log(`| ${a}${a === '1.0' ? ' (random weights)' : ''} | ${l1.toFixed(1)} | ${get(cores, 'layers').toFixed(1)} | ${get(1, 'folded').toFixed(1)} | ${f2.toFixed(1)} | ${(f2 / l1).toFixed(2)}x |`);
  }

  const head = runChild(['--part', 'head']) as { imgPerSec: number; backend: { threads: number } };
  console.log(`\nHead training on cached features (10,000 x 256, hidden [128], batch 32, Adam): ${head.imgPerSec.toFixed(0)} img/s (wasm x${head.backend.threads})`);

  if (!argv.includes('--skip-fashion') && fs.existsSync(FASHION_ROOT)) {
    const rows = await fashion((arg('--fashion-alphas') ?? '0.25,0.75').split(','));
    console.log('\nScenario 1 end to end, Fashion-MNIST: 10,000 train (9,000 fit / 1,000 val), 2,000 test predicted; fresh cache');
    console.log('| alpha | backend | extract s (img/s) | head train s (epochs, best) | val acc | test acc | train job total s | predict 2,000 s | engine peak RSS MB |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.alpha} | ${r.backend} | ${r.extractS.toFixed(1)} (${r.extractImgPerSec.toFixed(0)}) | ${r.trainS.toFixed(1)} (${r.epochs}, ${r.bestEpoch}) | ${r.valAcc?.toFixed(4)} | ${r.testAcc.toFixed(4)} | ${r.totalS.toFixed(1)} | ${r.predictS.toFixed(1)} | ${r.peakRssMB.toFixed(0)} |`,
      );
    }
  }
  console.log(`\nload after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

await main();
