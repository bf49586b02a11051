/**
 * The issue-11 and issue-26 workloads against the PyTorch reference, in one process tree:
 * `npm run bench transfer` or `npx tsx bench/transfer.ts [--quick] [--alphas 0.25,0.75] [--seeds 42,1,2]
 * [--scenarios 2,3,4] [--skip-torch] [--skip-families] [--skip-memory] [--counts 10000,60000]
 * [--ft-images 2000] [--family-images 160]`.
 *  1. Scenario 1 through the CLI, as a user runs it, once per seed (--seeds; split and train take
 *     it, so does the reference): Fashion-MNIST PNGs imported (class folders for
 *     10,000 train, a folder of 2,000 unlabelled test images), split 80/20, MobileNet v1 at 224,
 *     `train --scenario 1 --epochs 20 --patience 0 --batch 64` (all 20 epochs, as the reference trains)
 *     then `predict`; test accuracy from the exported
 *     submission. Wall time of train + predict (import excluded), extraction img/s (decode + resize
 *     + forward, from the run record), head training seconds; with several seeds, the means.
 *  2. Scenarios 2, 3 and 4 (issue 26), once per seed (--seeds: ours trains with it on the reference's own
 *     80/20 split of that seed, the reference gets --seed; with several seeds, each scenario's mean
 *     test accuracy and spread), each in a fresh engine process (EngineClient): MobileNet v1
 *     0.25 at 224, 2,000 train (80/20), batch 32, no augmentation, the reference's head (MLP [128],
 *     no dropout) and rates (Adam: head 1e-3, pretrained layers 1e-4; scenario 3 1e-3 everywhere);
 *     S2 frozen through conv_pw_11 and S3 (from random weights, BatchNorm learning) 3 epochs, S4
 *     (every layer) 2 epochs. Training img/s in the steps alone and with validation and checkpoints,
 *     validation (last epoch) and test accuracy, the engine's peak RSS (VmHWM) and its RSS peak per
 *     epoch (sampled), the runtime that trained (from the run record). Then scenario 4 on the
 *     Teachable Machine MobileNetV2 0.35 and on EfficientNetB0 with seeded Keras weights (fewer
 *     images, no reference).
 *  3. The engine process (EngineClient, a fresh process per count): scenario 1 on 10,000 and on
 *     60,000 training images (extraction + a 10-epoch MLP [128] head on all rows): peak RSS, and
 *     the head's seconds on 60,000 x 256 features.
 *  4. ../shared/bench/torch_transfer.py with the same settings after each of ours, its whole run
 *     timed; ratios printed beside ours.
 * Runs everything one after another (never side by side). Timings depend on the machine's load.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inferenceLabel, trainConfigSchema, type BackendInfo, type InferenceInfo, type TrainConfigInput, type TrainResult } from '../src/shared/domain';
import { MODELS, SHARED, argv, arg } from './common';
import { FASHION_CLASSES, FASHION_ROOT, fashionPngs, type FashionImage } from './fashion-mnist';

const ROOT = path.resolve(import.meta.dirname, '..');
const quick = argv.includes('--quick');
const N_TRAIN = quick ? 2000 : 10000;
const N_TEST = quick ? 400 : 2000;
/** Scenarios 2-4 (issue 26): 2,000 train images; the other families' scenario 4 on fewer (hours on TensorFlow.js). */
const N_FT = Number(arg('--ft-images') ?? (quick ? 320 : 2000));
const N_FAMILY = Number(arg('--family-images') ?? (quick ? 40 : 160));

interface Proc {
  code: number;
  out: string;
  err: string;
  seconds: number;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, out, err, seconds: (performance.now() - t0) / 1000 }));
  });
}

const lastJson = (p: Proc): Record<string, unknown> => {
  const line = p.out.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON result (exit ${p.code}): ${p.err.slice(-1500)}`);
  }
};

/** `transfer-studio ...` from the source (tsx), with its own user data folder. */
export async function studio(home: string, args: string[]): Promise<{ json: Record<string, unknown>; seconds: number }> {
  const p = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main/cli/index.ts'), ...args, '--json'], { TRANSFER_STUDIO_HOME: home });
  if (p.code !== 0) throw new Error(`transfer-studio ${args.join(' ')} failed (exit ${p.code}): ${p.err.slice(-1500)}`);
  return { json: lastJson(p), seconds: p.seconds };
}

/** Class folders of hard links to the PNGs (what an analyst imports), and a test folder. */
export function importLayout(root: string, train: FashionImage[], test: FashionImage[]): { train: string; test: string; truth: Map<string, string> } {
  const trainDir = path.join(root, 'train');
  const testDir = path.join(root, 'test');
  const truth = new Map<string, string>();
  for (const [i, img] of train.entries()) {
    const dir = path.join(trainDir, String(img.label));
    fs.mkdirSync(dir, { recursive: true });
    fs.linkSync(img.path, path.join(dir, `${i}.png`));
  }
  fs.mkdirSync(testDir, { recursive: true });
  for (const [i, img] of test.entries()) {
    fs.linkSync(img.path, path.join(testDir, `t${i}.png`));
    truth.set(`t${i}.png`, String(img.label));
  }
  return { train: trainDir, test: testDir, truth };
}

interface Ours {
  alpha: string;
  wallS: number;
  trainS: number;
  predictS: number;
  extractImgPerSec: number;
  headS: number;
  epochs: number;
  testAcc: number;
  frozen: string;
}

async function scenario1(alpha: string, data: { train: FashionImage[]; test: FashionImage[] }, seed: number): Promise<Ours> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-transfer-'));
  try {
    const home = path.join(tmp, 'home');
    const dir = path.join(tmp, 'project');
    const layout = importLayout(path.join(tmp, 'data'), data.train, data.test);
    const model = `mobilenet_v1_${alpha}_224`;
    await studio(home, ['models', 'import', path.join(MODELS, model)]);
    await studio(home, ['project', 'create', dir]);
    await studio(home, ['import', dir, layout.train]);
    await studio(home, ['import', dir, layout.test, '--split', 'test']);
    await studio(home, ['split', dir, '--val', '0.2', '--seed', String(seed)]);
    const train = await studio(home, ['train', dir, '--scenario', '1', '--model', model, '--epochs', '20', '--patience', '0', '--batch', '64', '--seed', String(seed)]);
    const predict = await studio(home, ['predict', dir]);
    const testAcc = await submissionAccuracy(home, dir, path.join(tmp, 'submission.csv'), layout.truth);
    const r = train.json['run'] as { durations: { extractMs: number; trainMs: number }; epochsRun: number; frozenKind: string; backend: { inference?: { runtime: string } }; predictions: number };
    // Extraction covers the run's own images (10,000) and then the predictions of the test images.
    return {
      alpha,
      wallS: train.seconds + predict.seconds,
      trainS: train.seconds,
      predictS: predict.seconds,
      extractImgPerSec: N_TRAIN / (r.durations.extractMs / 1000),
      headS: r.durations.trainMs / 1000,
      epochs: r.epochsRun,
      testAcc,
      frozen: r.frozenKind,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Test accuracy of the project's latest predictions: its exported submission against the true labels. */
export async function submissionAccuracy(home: string, dir: string, csv: string, truth: Map<string, string>): Promise<number> {
  await studio(home, ['export', dir, 'submission', '--out', csv]);
  const rows = fs.readFileSync(csv, 'utf8').trim().split('\n').slice(1);
  const correct = rows.filter((r) => {
    const [file, label] = r.split(',');
    return truth.get(path.basename(file ?? '')) === label;
  }).length;
  return correct / rows.length;
}

/** The issue-26 workload of scenarios 2-4, as torch_transfer.py trains it (its defaults: head MLP [128] without dropout, Adam). */
const FINE_TUNE: Record<2 | 3 | 4, { epochs: number; config: Omit<TrainConfigInput, 'model' | 'scenario'>; torch: string[] }> = {
  2: { epochs: 3, config: { freezeTo: 'conv_pw_11_relu', lr: 0.001, lrPretrained: 0.0001 }, torch: [] },
  // From random weights: one rate (lr) for every layer, BatchNorm learning its statistics.
  3: { epochs: 3, config: { lr: 0.001 }, torch: [] },
  4: { epochs: 2, config: { lr: 0.001, lrPretrained: 0.0001 }, torch: ['--epochs', '2'] },
};

interface FineTuneRow {
  what: string;
  scenario: 2 | 3 | 4;
  seed: number;
  stepImgPerSec: number;
  imgPerSec: number;
  valAcc: number | null;
  testAcc: number | null;
  bestEpoch: number | null;
  batch: number;
  peakRssMB: number;
  epochPeakMB: number[];
  trainedOn: string;
  frozen: string;
  error?: string;
}

/**
 * What trained, from the run record: the training runtime when the record names one (the ONNX
 * trainer's `backend.training`, an InferenceInfo like the frozen part's), else the TensorFlow.js backend.
 */
function trainedOn(res: TrainResult): string {
  // Typed here until BackendInfo has `training` (the ONNX trainer's branch adds it); harmless after.
  const info = (res.backend as BackendInfo & { training?: InferenceInfo }).training;
  const b = res.backend;
  const tfjs = `TensorFlow.js ${b.name}${b.simd ? ' SIMD' : ''} x${b.threads}`;
  if (!info) return tfjs;
  return info.runtime === 'tfjs' ? `${tfjs}${info.reason ? ` (${info.reason})` : ''}` : inferenceLabel(info);
}

/** The resident memory of a process (kB lines of /proc/PID/status), in MB; null once it is gone. */
function procMB(pid: number, key: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * One fine-tuning run in a fresh engine process (EngineClient, the runtime the engine picks), then
 * its model predicting the test images: record speeds, validation accuracy of the last epoch (as the
 * reference reports it), test accuracy, and the engine's RSS sampled every 100 ms (peak per epoch)
 * beside its VmHWM (peak over the process' life: model load, caches, training).
 */
async function fineTune(
  what: string,
  scenario: 2 | 3 | 4,
  model: { id: string; dir: string },
  data: { train: FashionImage[]; test: FashionImage[] },
  epochs: number,
  config: Omit<TrainConfigInput, 'model' | 'scenario'>,
  seed = 42,
  valSet: ReadonlySet<number> | null = null,
): Promise<FineTuneRow> {
  const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
  const { trainPlanned } = await import('../test/fixtures/train-job');
  const client = new EngineClient(() => forkEngine());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-transfer-ft-'));
  const epochPeakMB: number[] = [];
  let current = 0;
  let hwm = 0;
  const sample = () => {
    const rss = client.pid ? procMB(client.pid, 'VmRSS') : null;
    if (rss !== null) current = Math.max(current, rss);
    if (client.pid) hwm = Math.max(hwm, procMB(client.pid, 'VmHWM') ?? 0);
  };
  const sampler = setInterval(sample, 100);
  const row = { what, scenario, seed, batch: 0, epochPeakMB, frozen: '-' };
  try {
    // The reference's own 80/20 split of this seed when given, else every fifth image validates; seeded head and order.
    const isVal = (i: number) => (valSet ? valSet.has(i) : i % 5 === 4);
    const items = data.train.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: (isVal(i) ? 'val' : 'train') as 'train' | 'val' }));
    const runDir = path.join(tmp, 'run');
    const cacheDir = path.join(tmp, 'cache');
    const full = trainConfigSchema.parse({ scenario, model: model.id, epochs, batchSize: 32, patience: 0, seed, augment: null, head: { hidden: [128], dropout: 0 }, ...config });
    const res = await trainPlanned(
      client,
      { projectDir: tmp, runDir, cacheDir, modelDir: model.dir, modelId: model.id, classNames: FASHION_CLASSES, items, config: full },
      {
        onEvent: (e) => {
          if (e.type === 'phase' && e.phase === 'train') current = 0; // per-epoch peaks count from the first step
          if (e.type === 'epoch') {
            sample();
            epochPeakMB.push(current);
            current = 0;
          }
          if (e.type === 'log' && /lowered|fell back|falls back|fallback|trains on|trained on/i.test(e.message)) process.stdout.write(`    engine: ${e.message}\n`);
        },
      },
    );
    sample();
    const predicted = await client.call('predict', { runDir, cacheDir, items: data.test.map((d) => ({ path: d.path, hash: d.hash })) });
    const correct = predicted.items.filter((p, i) => p.probabilities.indexOf(Math.max(...p.probabilities)) === data.test[i]?.label).length;
    sample();
    return {
      ...row,
      stepImgPerSec: res.stepImagesPerSec ?? NaN,
      imgPerSec: res.imagesPerSec ?? NaN,
      valAcc: res.metrics.at(-1)?.valAcc ?? null,
      testAcc: data.test.length ? correct / data.test.length : null,
      bestEpoch: res.bestEpoch,
      batch: res.batchSize ?? full.batchSize,
      peakRssMB: hwm,
      trainedOn: trainedOn(res),
      frozen: res.frozenPart ?? res.frozenKind,
    };
  } catch (e) {
    return { ...row, stepImgPerSec: NaN, imgPerSec: NaN, valAcc: null, testAcc: null, bestEpoch: null, peakRssMB: hwm, trainedOn: '-', error: (e as Error).message.split('\n')[0]?.slice(0, 200) ?? 'failed' };
  } finally {
    clearInterval(sampler);
    client.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Scenario 4 on a model of another family (no reference): the Teachable Machine MobileNetV2 0.35, EfficientNetB0 with seeded Keras weights. */
async function otherFamilies(data: { train: FashionImage[]; test: FashionImage[] }, epochs: number): Promise<FineTuneRow[]> {
  const { ModelLibrary } = await import('../src/main/models/library');
  const { writeCatalogWeights } = await import('../test/fixtures/keras');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-transfer-families-'));
  const library = new ModelLibrary(home);
  const rows: FineTuneRow[] = [];
  try {
    const tm = await library.importPath(path.join(MODELS, 'teachable_machine_mobilenet_v2_0.35_224'), { id: 'tm_mobilenet_v2_0.35' });
    const seeded = path.join(home, 'seeded_efficientnetb0.h5');
    await writeCatalogWeights({ family: 'efficientnetb0', includeTop: false }, seeded, 1);
    const effnet = await library.importPath(seeded, { id: 'efficientnetb0_seeded' });
    for (const m of [tm, effnet]) {
      const row = await fineTune(`S4 ${m.id}`, 4, { id: m.id, dir: library.dirOf(m.id) }, data, epochs, FINE_TUNE[4].config);
      process.stdout.write(`  ${row.what}: ${JSON.stringify(row)}\n`);
      rows.push(row);
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  return rows;
}

/** Scenario 1 in a fresh engine: peak RSS, extraction and head time on `images` rows (all train). */
async function engineRun(images: FashionImage[]): Promise<{ peakRssMB: number; extractImgPerSec: number; headS: number; frozen: string }> {
  const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
  const { trainConfigSchema } = await import('../src/shared/domain');
  const { trainPlanned } = await import('../test/fixtures/train-job');
  const client = new EngineClient(() => forkEngine());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-rss-'));
  try {
    const items = images.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: 'train' as const }));
    const config = trainConfigSchema.parse({ scenario: 1, model: 'mobilenet_v1_0.25_224', epochs: 10, patience: 0, batchSize: 64, head: { hidden: [128], dropout: 0.2, activation: 'relu' } });
    const res = await trainPlanned(client, {
      projectDir: tmp,
      runDir: path.join(tmp, 'run'),
      cacheDir: path.join(tmp, 'cache'),
      modelDir: path.join(MODELS, 'mobilenet_v1_0.25_224'),
      modelId: 'mobilenet_v1_0.25_224',
      classNames: FASHION_CLASSES,
      items,
      config,
    });
    const stats = await client.call('stats', {});
    return { peakRssMB: stats.maxRssBytes / 2 ** 20, extractImgPerSec: images.length / (res.extractMs / 1000), headS: res.trainMs / 1000, frozen: res.frozenKind };
  } finally {
    client.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

type Torch = Record<string, number | string | boolean | null>;

async function torch(args: string[]): Promise<{ result: Torch; seconds: number } | null> {
  const script = path.join(SHARED, 'bench/torch_transfer.py');
  if (!fs.existsSync('/usr/bin/python3') || !fs.existsSync(script)) return null;
  const p = await run('/usr/bin/python3', [script, ...args]);
  if (p.code !== 0) {
    process.stdout.write(`torch_transfer.py ${args.join(' ')} failed (exit ${p.code}): ${p.err.slice(-800)}\n`);
    return null;
  }
  return { result: lastJson(p) as Torch, seconds: p.seconds };
}

/**
 * The validation images of torch_transfer.py's split for this seed (the first round(n * 0.2) of
 * torch.randperm(n) from a generator seeded with it), so that ours and the reference train and
 * validate on the same images; null without python3 and torch (then every fifth image validates).
 */
async function torchValSet(n: number, seed: number): Promise<Set<number> | null> {
  if (!fs.existsSync('/usr/bin/python3')) return null;
  const code = `import torch,json;g=torch.Generator().manual_seed(${seed});print(json.dumps(torch.randperm(${n},generator=g)[:int(round(${n}*0.2))].tolist()))`;
  const p = await run('/usr/bin/python3', ['-c', code]);
  return p.code === 0 ? new Set(JSON.parse(p.out.trim()) as number[]) : null;
}

const f = (v: number | undefined | null, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : '-');

export async function main(): Promise<void> {
  if (!fs.existsSync(FASHION_ROOT)) {
    process.stdout.write('Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist): nothing to measure.\n');
    return;
  }
  const alphas = (arg('--alphas') ?? '0.25,0.75').split(',').filter(Boolean); // --alphas '' runs no scenario-1 case
  const counts = (arg('--counts') ?? (quick ? '2000,10000' : '10000,60000')).split(',').map(Number);
  const skipTorch = argv.includes('--skip-torch');
  process.stdout.write(`transfer bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N_TRAIN} train / ${N_TEST} test\n`);
  const pngDir = path.join(os.tmpdir(), 'ts-bench-fashion-png');
  const data = await fashionPngs(pngDir, Math.max(N_TRAIN, N_FT, ...(argv.includes('--skip-memory') ? [] : counts)), N_TEST);
  const workload = { train: data.train.slice(0, N_TRAIN), test: data.test };

  // --seeds 42,1,2: each seed splits and trains anew (ours: split --seed and train --seed; the reference: --seed), and the means are printed.
  const seeds = (arg('--seeds') ?? '42').split(',').filter(Boolean).map(Number);
  const rows: { seed: number; ours: Ours; ref: { result: Torch; seconds: number } | null }[] = [];
  for (const alpha of alphas) {
    for (const seed of seeds) {
      const ours = await scenario1(alpha, workload, seed);
      process.stdout.write(`  scenario 1, alpha ${alpha}, seed ${seed}, ours: ${JSON.stringify(ours)}\n`);
      const ref = skipTorch ? null : await torch(['--alpha', alpha, '--n-train', String(N_TRAIN), '--n-test', String(N_TEST), '--seed', String(seed)]);
      rows.push({ seed, ours, ref });
      process.stdout.write(`  scenario 1, alpha ${alpha}, seed ${seed}, reference: ${f(ref?.seconds)} s ${JSON.stringify(ref?.result ?? null)}\n`);
    }
  }
  if (rows.length) {
    process.stdout.write(`\nScenario 1: Fashion-MNIST ${N_TRAIN} train (80/20 split) + ${N_TEST} test, MobileNet v1 at 224, MLP head [128], 20 epochs, batch 64\n`);
    process.stdout.write('| alpha | seed | extract img/s ours | ref | ratio | wall s ours (train + predict) | ref whole run s | ours / ref | head s ours (epochs) | ref head s | test acc ours | ref | frozen part |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n');
  }
  for (const { seed, ours, ref } of rows) {
    const r = ref?.result;
    process.stdout.write(
      `| ${ours.alpha} | ${seed} | ${f(ours.extractImgPerSec, 0)} | ${f(r?.['extract_img_per_s'] as number, 0)} | ${ratio(ours.extractImgPerSec, r?.['extract_img_per_s'] as number)} | ` +
        `${f(ours.wallS)} | ${f(ref?.seconds)} | ${ratio(ours.wallS, ref?.seconds)} | ${f(ours.headS)} (${ours.epochs}) | ${f(r?.['head_train_seconds'] as number)} | ` +
        `${f(ours.testAcc, 4)} | ${f(r?.['test_acc'] as number, 4)} | ${ours.frozen} |\n`,
    );
  }
  const mean = (v: (number | undefined)[]) => (v.every((x) => typeof x === 'number') ? (v as number[]).reduce((a, b) => a + b, 0) / v.length : undefined);
  for (const alpha of seeds.length > 1 ? alphas : []) {
    const of = rows.filter((x) => x.ours.alpha === alpha);
    const ourMean = mean(of.map((x) => x.ours.testAcc));
    const refMean = mean(of.map((x) => x.ref?.result['test_acc'] as number | undefined));
    process.stdout.write(`| ${alpha} | mean of ${seeds.length} | | | | | | | | | ${f(ourMean, 4)} | ${f(refMean, 4)} | difference ${ourMean !== undefined && refMean !== undefined ? (ourMean - refMean).toFixed(4) : '-'} |\n`);
  }

  const scenarios = (arg('--scenarios') ?? '2,3,4').split(',').map(Number).filter((n): n is 2 | 3 | 4 => (n === 2 && !argv.includes('--skip-s2')) || n === 3 || n === 4);
  if (scenarios.length) {
    const ftData = { train: data.train.slice(0, N_FT), test: data.test.slice(0, N_TEST) };
    const mobilenet = { id: 'mobilenet_v1_0.25_224', dir: path.join(MODELS, 'mobilenet_v1_0.25_224') };
    const ftRows: { ours: FineTuneRow; ref: { result: Torch; seconds: number } | null }[] = [];
    for (const scenario of scenarios) {
      const spec = FINE_TUNE[scenario];
      const what = scenario === 2 ? 'S2 frozen through conv_pw_11' : scenario === 3 ? 'S3 from random weights' : 'S4 every layer';
      for (const seed of seeds) {
        const valSet = skipTorch ? null : await torchValSet(N_FT, seed);
        const ours = await fineTune(what, scenario, mobilenet, ftData, spec.epochs, spec.config, seed, valSet);
        process.stdout.write(`  scenario ${scenario}, seed ${seed}${valSet ? ' (the reference\'s split)' : ''}, ours: ${JSON.stringify(ours)}\n`);
        const ref = skipTorch
          ? null
          : await torch(['--alpha', '0.25', '--scenario', String(scenario), '--n-train', String(N_FT), '--n-test', String(N_TEST), '--skip-verify', '--seed', String(seed), ...spec.torch]);
        process.stdout.write(`  scenario ${scenario}, seed ${seed}, reference: ${f(ref?.seconds)} s ${JSON.stringify(ref?.result ?? null)}\n`);
        ftRows.push({ ours, ref });
      }
    }
    const familyRows = argv.includes('--skip-families') || !scenarios.includes(4) ? [] : await otherFamilies({ train: data.train.slice(0, N_FAMILY), test: data.test.slice(0, Math.min(N_TEST, N_FAMILY)) }, FINE_TUNE[4].epochs);
    process.stdout.write(
      `\nScenarios 2-4: MobileNet v1 0.25 at 224, ${N_FT} train (80/20), ${N_TEST} test, batch 32, no augmentation, head [128] without dropout, Adam (head lr 1e-3, pretrained layers 1e-4; S3 1e-3 everywhere), S2/S3 3 epochs, S4 2 epochs` +
        `${familyRows.length ? `; S4 on other families: ${N_FAMILY} train (80/20), no reference` : ''}\n`,
    );
    // The reference times its training loop alone (its train_img_per_s); ours both ways: the steps alone, and the whole training with each epoch's validation and checkpoint.
    process.stdout.write(
      '| run | seed | img/s ours (steps) | ref (steps) | ratio | ours with validation + checkpoints | val acc ours (last epoch) | ref | test acc ours (best epoch) | ref | peak RSS MB (VmHWM) | RSS peak per epoch MB | batch | trained on | frozen part |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n',
    );
    for (const { ours, ref } of [...ftRows, ...familyRows.map((ours) => ({ ours, ref: null }))]) {
      const r = ref?.result;
      const refRate = r?.['train_img_per_s'] as number | undefined;
      process.stdout.write(
        `| ${ours.what} | ${ours.seed} | ${f(ours.stepImgPerSec)} | ${f(refRate)} | ${ratio(ours.stepImgPerSec, refRate)} | ${f(ours.imgPerSec)} | ${f(ours.valAcc, 4)} | ${f(r?.['val_acc'] as number, 4)} | ` +
          `${f(ours.testAcc, 4)} (${ours.bestEpoch ?? '-'}) | ${f(r?.['test_acc'] as number, 4)} | ${f(ours.peakRssMB, 0)} | ${ours.epochPeakMB.map((m) => m.toFixed(0)).join(' / ') || '-'} | ${ours.batch} | ${ours.trainedOn} | ${ours.error ? `FAILED: ${ours.error}` : ours.frozen} |\n`,
      );
    }
    // Over several seeds: each scenario's mean test accuracy (and the spread, max - min) beside the reference's.
    for (const scenario of seeds.length > 1 ? scenarios : []) {
      const of = ftRows.filter((x) => x.ours.scenario === scenario);
      const ours = of.map((x) => x.ours.testAcc ?? undefined);
      const refs = of.map((x) => x.ref?.result['test_acc'] as number | undefined);
      const spread = (v: (number | undefined)[]) => (v.every((x) => typeof x === 'number') ? Math.max(...(v as number[])) - Math.min(...(v as number[])) : undefined);
      const [o, r] = [mean(ours), mean(refs)];
      process.stdout.write(
        `| S${scenario} mean of ${seeds.length} | | | | | | | | ${f(o, 4)} (spread ${f(spread(ours), 4)}) | ${f(r, 4)} (spread ${f(spread(refs), 4)}) | difference ${o !== undefined && r !== undefined ? (o - r).toFixed(4) : '-'} | | | | |\n`,
      );
    }
  }

  if (!argv.includes('--skip-memory')) {
    process.stdout.write(`\nEngine process, scenario 1 on all rows as training data (MobileNet v1 0.25, MLP [128], 10 epochs, batch 64)\n`);
    process.stdout.write('| images | peak RSS MB | extract img/s | head s (10 epochs) | frozen part |\n|---|---|---|---|---|\n');
    for (const n of counts) {
      const r = await engineRun(data.train.slice(0, n));
      process.stdout.write(`| ${n} | ${f(r.peakRssMB, 0)} | ${f(r.extractImgPerSec, 0)} | ${f(r.headS)} | ${r.frozen} |\n`);
    }
  }
  process.stdout.write(`\nload after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
