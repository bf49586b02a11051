/**
 * The issue-11 workload against the PyTorch reference, in one process tree:
 * `npm run bench transfer` or `npx tsx bench/transfer.ts [--quick] [--alphas 0.25,0.75] [--skip-torch]
 * [--skip-s2] [--skip-memory] [--counts 10000,60000]`.
 *  1. Scenario 1 through the CLI, as a user runs it: Fashion-MNIST PNGs imported (class folders for
 *     10,000 train, a folder of 2,000 unlabelled test images), split 80/20, MobileNet v1 at 224,
 *     `train --scenario 1 --epochs 20 --patience 0 --batch 64` (all 20 epochs, as the reference trains)
 *     then `predict`; test accuracy from the exported
 *     submission. Wall time of train + predict (import excluded), extraction img/s (decode + resize
 *     + forward, from the run record), head training seconds.
 *  2. Scenario 2 through the CLI: alpha 0.25, frozen up to conv_pw_11_relu, 2,000 train, 3 epochs:
 *     training img/s from the run record.
 *  3. The engine process (EngineClient, a fresh process per count): scenario 1 on 10,000 and on
 *     60,000 training images (extraction + a 10-epoch MLP [128] head on all rows): peak RSS, and
 *     the head's seconds on 60,000 x 256 features.
 *  4. ../shared/bench/torch_transfer.py with the same settings (alpha 0.25 / 0.75 scenario 1, alpha
 *     0.25 scenario 2 with 2,000 train), its whole run timed; ratios printed beside ours.
 * Runs everything one after another (never side by side). Timings depend on the machine's load.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS, SHARED, argv, arg } from './common';
import { FASHION_CLASSES, FASHION_ROOT, fashionPngs, type FashionImage } from './fashion-mnist';

const ROOT = path.resolve(import.meta.dirname, '..');
const quick = argv.includes('--quick');
const N_TRAIN = quick ? 2000 : 10000;
const N_TEST = quick ? 400 : 2000;
const N_S2 = 2000;

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

async function scenario1(alpha: string, data: { train: FashionImage[]; test: FashionImage[] }): Promise<Ours> {
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
    await studio(home, ['split', dir, '--val', '0.2', '--seed', '42']);
    const train = await studio(home, ['train', dir, '--scenario', '1', '--model', model, '--epochs', '20', '--patience', '0', '--batch', '64', '--seed', '42']);
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

async function scenario2(data: FashionImage[]): Promise<{ imgPerSec: number; stepImgPerSec: number; valAcc: number; frozen: string }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-transfer-s2-'));
  try {
    const home = path.join(tmp, 'home');
    const dir = path.join(tmp, 'project');
    const layout = importLayout(path.join(tmp, 'data'), data, []);
    await studio(home, ['models', 'import', path.join(MODELS, 'mobilenet_v1_0.25_224')]);
    await studio(home, ['project', 'create', dir]);
    await studio(home, ['import', dir, layout.train]);
    await studio(home, ['split', dir, '--val', '0.2', '--seed', '42']);
    const r = await studio(home, ['train', dir, '--scenario', '2', '--freeze-to', 'conv_pw_11_relu', '--epochs', '3', '--batch', '32', '--lr', '0.001', '--seed', '42']);
    const run = r.json['run'] as { imagesPerSec: number; stepImagesPerSec: number; valAccuracy: number; frozenKind: string };
    return { imgPerSec: run.imagesPerSec, stepImgPerSec: run.stepImagesPerSec, valAcc: run.valAccuracy, frozen: run.frozenKind };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Scenario 1 in a fresh engine: peak RSS, extraction and head time on `images` rows (all train). */
async function engineRun(images: FashionImage[]): Promise<{ peakRssMB: number; extractImgPerSec: number; headS: number; frozen: string }> {
  const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
  const { trainConfigSchema } = await import('../src/shared/domain');
  const client = new EngineClient(() => forkEngine());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-rss-'));
  try {
    const items = images.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: 'train' as const }));
    const config = trainConfigSchema.parse({ scenario: 1, model: 'mobilenet_v1_0.25_224', epochs: 10, patience: 0, batchSize: 64, head: { hidden: [128], dropout: 0.2, activation: 'relu' } });
    const res = await client.call('train', { job: {
      projectDir: tmp,
      runDir: path.join(tmp, 'run'),
      cacheDir: path.join(tmp, 'cache'),
      modelDir: path.join(MODELS, 'mobilenet_v1_0.25_224'),
      modelId: 'mobilenet_v1_0.25_224',
      classNames: FASHION_CLASSES,
      items,
      config,
    } });
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
  const data = await fashionPngs(pngDir, Math.max(N_TRAIN, ...(argv.includes('--skip-memory') ? [] : counts)), N_TEST);
  const workload = { train: data.train.slice(0, N_TRAIN), test: data.test };

  const rows: { ours: Ours; ref: { result: Torch; seconds: number } | null }[] = [];
  for (const alpha of alphas) {
    const ours = await scenario1(alpha, workload);
    process.stdout.write(`  scenario 1, alpha ${alpha}, ours: ${JSON.stringify(ours)}\n`);
    const ref = skipTorch ? null : await torch(['--alpha', alpha, '--n-train', String(N_TRAIN), '--n-test', String(N_TEST)]);
    rows.push({ ours, ref });
    process.stdout.write(`  scenario 1, alpha ${alpha}, reference: ${f(ref?.seconds)} s ${JSON.stringify(ref?.result ?? null)}\n`);
  }
  process.stdout.write(`\nScenario 1: Fashion-MNIST ${N_TRAIN} train (80/20 split) + ${N_TEST} test, MobileNet v1 at 224, MLP head [128], 20 epochs, batch 64\n`);
  process.stdout.write('| alpha | extract img/s ours | ref | ratio | wall s ours (train + predict) | ref whole run s | ours / ref | head s ours (epochs) | ref head s | test acc ours | ref | frozen part |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n');
  for (const { ours, ref } of rows) {
    const r = ref?.result;
    process.stdout.write(
      `| ${ours.alpha} | ${f(ours.extractImgPerSec, 0)} | ${f(r?.['extract_img_per_s'] as number, 0)} | ${ratio(ours.extractImgPerSec, r?.['extract_img_per_s'] as number)} | ` +
        `${f(ours.wallS)} | ${f(ref?.seconds)} | ${ratio(ours.wallS, ref?.seconds)} | ${f(ours.headS)} (${ours.epochs}) | ${f(r?.['head_train_seconds'] as number)} | ` +
        `${f(ours.testAcc, 4)} | ${f(r?.['test_acc'] as number, 4)} | ${ours.frozen} |\n`,
    );
  }

  if (!argv.includes('--skip-s2')) {
    const s2 = await scenario2(data.train.slice(0, N_S2));
    process.stdout.write(`  scenario 2, ours: ${JSON.stringify(s2)}\n`);
    const ref = skipTorch ? null : await torch(['--alpha', '0.25', '--scenario', '2', '--n-train', String(N_S2), '--n-test', String(N_TEST), '--skip-verify']);
    const refRate = ref?.result['train_img_per_s'] as number | undefined;
    process.stdout.write(`\nScenario 2: alpha 0.25, frozen up to conv_pw_11_relu, ${N_S2} train (80/20), 3 epochs, batch 32\n`);
    // The reference times its training loop alone; ours is given both ways (steps alone, and with each epoch's validation and checkpoint).
    process.stdout.write('| training img/s ours (steps) | ref (steps) | ratio | ours with validation + checkpoints | val acc ours | ref | frozen part |\n|---|---|---|---|---|---|---|\n');
    process.stdout.write(
      `| ${f(s2.stepImgPerSec, 0)} | ${f(refRate, 0)} | ${ratio(s2.stepImgPerSec, refRate)} | ${f(s2.imgPerSec, 0)} | ${f(s2.valAcc, 4)} | ${f(ref?.result['val_acc'] as number, 4)} | ${s2.frozen} |\n`,
    );
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
