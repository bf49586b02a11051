/**
 * Out of the box (issue 23): `npm run bench -- out-of-box` or `npx tsx bench/out-of-box.ts [--quick]
 * [--per-class N] [--skip-first-run] [--skip-fashion] [--skip-s2]`. Everything through the CLI, as a user runs it, each
 * case with a fresh user data folder (nothing installed: the built-in model only).
 *  1. First run: a fresh project, the OpenCV digits imported (class folders, --per-class of each
 *     digit, 500 = the whole sheet), split 80/20, `train --scenario 1` with no --model (the built-in
 *     MobileNet v1 0.25) at its defaults: the seconds of each step and from `project create` to the
 *     finished run.
 *  2. Fashion-MNIST 10,000 train (80/20 split) / 2,000 test, scenario 1 (20 epochs, batch 64, as
 *     bench/transfer.ts): test accuracy with the built-in MobileNet v1 0.25 and with the Teachable
 *     Machine export's MobileNetV2 0.35 base (its out_relu, the default cut), side by side;
 *  3. scenario 2 on the latter, frozen at the advisor's default boundary (2,000 train, 3 epochs).
 * Timings depend on the machine's load (printed); accuracies do not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODELS, argv, arg } from './common';
import { FASHION_ROOT, fashionPngs, type FashionImage } from './fashion-mnist';
import { importLayout, studio, submissionAccuracy } from './transfer';
import { writeDigits } from '../test/fixtures/digits';

const quick = argv.includes('--quick');
const PER_CLASS = Number(arg('--per-class') ?? (quick ? 100 : 500));
const N_TRAIN = quick ? 2000 : 10000;
const N_TEST = quick ? 400 : 2000;
/** Scenario 2 trains the later blocks on every image each epoch: 2,000 train as in bench/transfer.ts. */
const N_S2 = quick ? 1000 : 2000;
const TEACHABLE = path.join(MODELS, 'teachable_machine_mobilenet_v2_0.35_224');
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const s = (v: number) => v.toFixed(1);

type Run = { valAccuracy: number; epochsRun: number; model: string; imagesPerSec: number; durations: { extractMs: number; trainMs: number }; frozenLayersUpTo?: string | null };

async function firstRun(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-oob-'));
  try {
    const home = path.join(tmp, 'home');
    const digits = path.join(tmp, 'digits');
    await writeDigits(digits, PER_CLASS);
    const dir = path.join(tmp, 'project');
    const steps: [string, number][] = [];
    const step = async (name: string, args: string[]) => {
      const r = await studio(home, args);
      steps.push([name, r.seconds]);
      return r.json;
    };
    await step('project create', ['project', 'create', dir]);
    await step(`import ${PER_CLASS * 10} digits`, ['import', dir, digits]);
    await step('split', ['split', dir, '--val', '0.2', '--seed', '42']);
    const run = (await step('train --scenario 1 (built-in model, defaults)', ['train', dir, '--scenario', '1']))['run'] as Run;
    const total = steps.reduce((a, [, t]) => a + t, 0);
    process.stdout.write(`\nFirst run: the OpenCV digits (${PER_CLASS * 10}), a fresh machine (built-in model only), through the CLI; load ${load()}\n| step | s |\n|---|---|\n`);
    for (const [name, t] of steps) process.stdout.write(`| ${name} | ${s(t)} |\n`);
    process.stdout.write(`| **project create to finished run** | **${s(total)}** |\n`);
    process.stdout.write(`model ${run.model}, ${run.epochsRun} epochs, validation accuracy ${run.valAccuracy.toFixed(4)}, extraction ${s(run.durations.extractMs / 1000)} s, head ${s(run.durations.trainMs / 1000)} s\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

interface FashionCase {
  name: string;
  trainImages: number;
  /** Installed before the project (null: nothing, the built-in model). */
  importModel: string | null;
  model: string | null;
  train: string[];
}

async function fashion(c: FashionCase, data: { train: FashionImage[]; test: FashionImage[] }): Promise<{ testAcc: number; run: Run; seconds: number }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-oob-fashion-'));
  try {
    const home = path.join(tmp, 'home');
    const dir = path.join(tmp, 'project');
    const layout = importLayout(path.join(tmp, 'data'), data.train, data.test);
    if (c.importModel) await studio(home, ['models', 'import', c.importModel, '--id', c.model!]);
    await studio(home, ['project', 'create', dir]);
    await studio(home, ['import', dir, layout.train]);
    await studio(home, ['import', dir, layout.test, '--split', 'test']);
    await studio(home, ['split', dir, '--val', '0.2', '--seed', '42']);
    const trained = await studio(home, ['train', dir, ...(c.model ? ['--model', c.model] : []), ...c.train, '--seed', '42']);
    const predicted = await studio(home, ['predict', dir]);
    const testAcc = await submissionAccuracy(home, dir, path.join(tmp, 'submission.csv'), layout.truth);
    return { testAcc, run: trained.json['run'] as Run, seconds: trained.seconds + predicted.seconds };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(`out-of-box bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${load()}\n`);
  if (!argv.includes('--skip-first-run')) await firstRun();
  if (argv.includes('--skip-fashion')) return;
  if (!fs.existsSync(FASHION_ROOT)) {
    process.stdout.write('Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist): no accuracy comparison.\n');
    return;
  }
  const data = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), N_TRAIN, N_TEST);
  const s1 = ['--scenario', '1', '--epochs', '20', '--patience', '0', '--batch', '64'];
  const cases: FashionCase[] = [
    { name: 'scenario 1, built-in MobileNet v1 0.25 (conv_pw_13_relu pooled, 256)', trainImages: N_TRAIN, importModel: null, model: null, train: s1 },
    { name: 'scenario 1, Teachable Machine MobileNetV2 0.35 (out_relu pooled, 1280)', trainImages: N_TRAIN, importModel: TEACHABLE, model: 'tm', train: s1 },
  ];
  const s2 = { name: 'scenario 2, Teachable Machine MobileNetV2 0.35 (advisor boundary)', trainImages: N_S2, importModel: TEACHABLE, model: 'tm', train: ['--scenario', '2', '--epochs', '3', '--batch', '32', '--lr', '0.001'] };
  if (!argv.includes('--skip-s2')) cases.push(s2);
  process.stdout.write(`\nFashion-MNIST, ${N_TEST} test images, train images split 80/20, through the CLI\n| case | train images | test acc | val acc | epochs | frozen up to | train + predict s | load |\n|---|---|---|---|---|---|---|---|\n`);
  for (const c of cases) {
    const r = await fashion(c, { train: data.train.slice(0, c.trainImages), test: data.test });
    process.stdout.write(`| ${c.name} | ${c.trainImages} | ${r.testAcc.toFixed(4)} | ${r.run.valAccuracy.toFixed(4)} | ${r.run.epochsRun} | ${r.run.frozenLayersUpTo ?? '-'} | ${s(r.seconds)} | ${load()} |\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
