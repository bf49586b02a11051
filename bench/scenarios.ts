/**
 * Scenarios 2-4 benchmark: `npx tsx bench/scenarios.ts [--quick] [--alphas 0.25,0.75] [--skip-speed]
 * [--skip-accuracy] [--skip-memory] [--skip-families] [--counts 2000,20000] [--memory-s4]` (or `npm run bench scenarios`). Every measurement runs in a fresh
 * engine process (EngineClient + forkEngine, the backend the engine picks; ENGINE_BACKEND forces one),
 * on Fashion-MNIST (Debian's dataset-fashion-mnist) written as PNG files.
 *  1. speed at 224x224, MobileNet v1 per alpha: scenario 2 with the last 4 blocks trainable (frozen
 *     up to conv_pw_9_relu), epochs from the activation cache vs augmented (the full forward every
 *     epoch); scenarios 3 and 4 (whole network). Training img/s and seconds per epoch.
 *  2. accuracy after a few epochs on a Fashion-MNIST subset, all four scenarios side by side, at
 *     96x96 input (said in the table: training the whole network at 224 on a CPU takes hours).
 *  3. memory: the engine's peak RSS with 2,000 and with 20,000 images for scenario 2 frozen up to
 *     the last block (extraction + an epoch from the activation cache; an epoch streamed from disk,
 *     augmented, through the frozen part), and with --memory-s4 scenario 4 streamed at 64x64.
 *  4. per family (VGG16, ResNet50, MobileNetV2, EfficientNetB0 with seeded weights in Keras' layout,
 *     imported as a user's .h5): extraction img/s, scenario-2 img/s (last block trainable, epochs
 *     from the activation cache) and the engine's peak RSS, at 224x224.
 * Prints tables. Timings depend on the machine's load; nothing asserts on them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfigInput, TrainResult } from '../src/shared/domain';
import { FASHION_CLASSES, FASHION_ROOT, fashionPngs, type FashionImage } from './fashion-mnist';
import { MODELS, argv, arg } from './common';

const quick = argv.includes('--quick');

interface Row {
  what: string;
  alpha: string;
  size: number;
  images: number;
  backend: string;
  batch: number;
  epochs: number;
  epochS: number;
  imgPerSec: number;
  extractS: number;
  valAcc: number | null;
  peakRssMB: number;
  note: string;
}

interface Measure {
  what: string;
  alpha: string;
  config: Omit<TrainConfigInput, 'model'>;
  images: FashionImage[];
  inputSize?: number;
  /** Another installed model than MobileNet v1 `alpha` (the per-family rows). */
  model?: { id: string; dir: string };
  /** Skip the activation cache fill from the timing: train twice, report the second run. */
  warmCache?: boolean;
}

async function measure(m: Measure): Promise<Row> {
  const { EngineClient, forkEngine } = await import('../src/main/training/engine-client');
  const { trainConfigSchema } = await import('../src/shared/domain');
  const client = new EngineClient(() => forkEngine());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-scen-'));
  const modelId = m.model?.id ?? `mobilenet_v1_${m.alpha}_224`;
  const items = m.images.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: (i % 10 === 9 ? 'val' : 'train') as 'train' | 'val' }));
  const job = (name: string) => ({
    projectDir: tmp,
    runDir: path.join(tmp, name),
    cacheDir: path.join(tmp, 'cache'),
    modelDir: m.model?.dir ?? path.join(MODELS, modelId),
    modelId,
    classNames: FASHION_CLASSES,
    items,
    config: trainConfigSchema.parse({ model: modelId, seed: 1, patience: 0, ...m.config }),
    tuning: m.inputSize ? { inputSize: m.inputSize } : {},
  });
  try {
    let res: TrainResult;
    if (m.warmCache) await client.call('train', { job: { ...job('warm'), config: { ...job('warm').config, epochs: 1 } } });
    try {
      res = await client.call('train', { job: job('run') }, { onEvent: (e) => e.type === 'log' && /lowered|Skipped/.test(e.message) && process.stderr.write(`  ${e.message}\n`) });
    } catch (e) {
      const err = e as Error;
      return { what: m.what, alpha: m.alpha, size: m.inputSize ?? 224, images: items.length, backend: '-', batch: 0, epochs: 0, epochS: NaN, imgPerSec: NaN, extractS: NaN, valAcc: null, peakRssMB: NaN, note: `FAILED: ${err.message.split('\n')[0]?.slice(0, 120)}` };
    }
    const stats = await client.call('stats', {});
    const best = res.metrics.find((x) => x.epoch === res.bestEpoch);
    return {
      what: m.what,
      alpha: m.alpha,
      size: m.inputSize ?? 224,
      images: items.length,
      backend: `${res.backend.name} x${res.backend.threads}`,
      batch: res.batchSize ?? 0,
      epochs: res.epochsRun,
      epochS: res.metrics.reduce((a, x) => a + x.durationMs, 0) / Math.max(1, res.metrics.length) / 1000,
      imgPerSec: res.imagesPerSec ?? NaN,
      extractS: res.extractMs / 1000,
      valAcc: best?.valAcc ?? null,
      peakRssMB: stats.maxRssBytes / 2 ** 20,
      note: [res.frozenPart, ...(res.batchReductions ?? []).map(() => 'batch lowered')].filter(Boolean).join(', '),
    };
  } finally {
    client.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function table(rows: Row[]): string {
  const head = 'what                              alpha  input  images  backend   batch  epochs  s/epoch  train img/s  extract s  val acc  peak RSS MB  note';
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  return [
    head,
    ...rows.map((r) =>
      [
        r.what.padEnd(33),
        r.alpha.padStart(5),
        String(r.size).padStart(6),
        String(r.images).padStart(7),
        r.backend.padStart(8),
        String(r.batch).padStart(6),
        String(r.epochs).padStart(7),
        f(r.epochS).padStart(8),
        f(r.imgPerSec).padStart(12),
        f(r.extractS).padStart(10),
        (r.valAcc === null ? '-' : r.valAcc.toFixed(3)).padStart(8),
        f(r.peakRssMB, 0).padStart(12),
        ` ${r.note}`,
      ].join(' '),
    ),
  ].join('\n');
}

const AUGMENT = { flip: true, crop: true, rotate: false, brightness: true, contrast: false };

export async function run(): Promise<void> {
  if (!fs.existsSync(FASHION_ROOT)) {
    process.stdout.write('Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist): nothing to measure.\n');
    return;
  }
  const alphas = (arg('--alphas') ?? '0.25,0.75').split(',');
  const memoryCounts = (arg('--counts') ?? (quick ? '500,2000' : '2000,20000')).split(',').map(Number);
  const data = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), Math.max(...memoryCounts), 0);
  const take = (n: number) => data.train.slice(0, n);

  if (!argv.includes('--skip-speed')) {
    const rows: Row[] = [];
    const n = quick ? 128 : 320;
    for (const alpha of alphas) {
      const s2 = { scenario: 2 as const, freezeTo: 'conv_pw_9_relu', batchSize: 32 };
      rows.push(await measure({ what: 'S2 last 4 blocks, activation cache', alpha, config: { ...s2, epochs: 2 }, images: take(n), warmCache: true }));
      rows.push(await measure({ what: 'S2 last 4 blocks, augmented', alpha, config: { ...s2, epochs: 1, augment: AUGMENT }, images: take(n / 2) }));
      rows.push(await measure({ what: 'S3 whole network, from scratch', alpha, config: { scenario: 3, epochs: 1, batchSize: 16 }, images: take(n / 4) }));
      rows.push(await measure({ what: 'S4 whole network, fine-tune', alpha, config: { scenario: 4, epochs: 1, batchSize: 16 }, images: take(n / 4) }));
    }
    process.stdout.write(`\nSpeed at 224x224 (Fashion-MNIST images; training img/s over all epochs; S2 cached: after a warm-up run filled the cache)\n${table(rows)}\n`);
  }

  if (!argv.includes('--skip-accuracy')) {
    const rows: Row[] = [];
    const images = take(quick ? 500 : 2000);
    const epochs = quick ? 2 : 4;
    const common = { epochs, batchSize: 32, lr: 0.001 };
    for (const scenario of [1, 2, 3, 4] as const) {
      const config = { ...common, scenario, ...(scenario === 2 ? { freezeTo: 'conv_pw_9_relu' } : {}) };
      rows.push(await measure({ what: `S${scenario} ${epochs} epochs`, alpha: '0.25', config, images, ...(scenario === 1 ? {} : { inputSize: 96 }) }));
    }
    process.stdout.write(`\nAccuracy after ${epochs} epochs, ${images.length} Fashion-MNIST images (10% validation), MobileNet v1 0.25; scenario 1 at 224, 2-4 at 96x96\n${table(rows)}\n`);
  }

  if (!argv.includes('--skip-families')) {
    const { ModelLibrary } = await import('../src/main/models/library');
    const { writeCatalogWeights } = await import('../test/fixtures/keras');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-families-'));
    const library = new ModelLibrary(home);
    // Frozen up to the block before the last (the last block and the head train).
    const FREEZE = { vgg16: 'block4_pool', resnet50: 'conv5_block2_out', mobilenet_v2: 'block_15_add', efficientnetb0: 'block6d_add' } as const;
    const rows: Row[] = [];
    const n = quick ? 64 : 256;
    try {
      for (const [family, freezeTo] of Object.entries(FREEZE) as [keyof typeof FREEZE, string][]) {
        const file = path.join(home, `seeded_${family}.h5`);
        await writeCatalogWeights({ family, includeTop: false }, file, 1);
        const installed = await library.importKeras(file, { id: family, replace: true });
        const config = { scenario: 2 as const, freezeTo, epochs: 2, batchSize: 32 };
        rows.push(await measure({ what: `${family} S2 from ${freezeTo}`, alpha: '-', model: { id: family, dir: library.dirOf(installed.id) }, config, images: take(n) }));
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
    const lines = rows.map((r) => `${r.what.padEnd(40)} extraction ${(r.images / r.extractS).toFixed(1).padStart(6)} img/s   S2 ${r.imgPerSec.toFixed(1).padStart(6)} img/s   peak RSS ${r.peakRssMB.toFixed(0).padStart(5)} MB  ${r.note}`);
    process.stdout.write(`\nPer family at 224x224, seeded weights, ${n} Fashion-MNIST images, 2 epochs from the activation cache\n${table(rows)}\n${lines.join('\n')}\n`);
  }

  if (!argv.includes('--skip-memory')) {
    // Frozen up to the last block, the data pipeline (extraction into the activation cache, reading
    // it back, decoding + augmenting + the frozen forward every epoch) is what depends on the count.
    const rows: Row[] = [];
    const s2 = { scenario: 2 as const, freezeTo: 'conv_pw_13_relu', epochs: 1, batchSize: 32 };
    for (const count of memoryCounts) {
      rows.push(await measure({ what: `S2 cached, ${count} images`, alpha: '0.25', config: s2, images: take(count) }));
      rows.push(await measure({ what: `S2 streamed + augmented, ${count}`, alpha: '0.25', config: { ...s2, augment: AUGMENT }, images: take(count) }));
      if (argv.includes('--memory-s4')) {
        rows.push(await measure({ what: `S4 streamed + augmented, ${count}`, alpha: '0.25', config: { scenario: 4, epochs: 1, batchSize: 32, augment: AUGMENT }, images: take(count), inputSize: 64 }));
      }
    }
    process.stdout.write(
      `\nMemory: the engine's peak RSS with ${memoryCounts.join(' vs ')} images (MobileNet v1 0.25 at 224 frozen up to conv_pw_13_relu, one epoch${argv.includes('--memory-s4') ? '; S4 at 64x64' : ''})\n${table(rows)}\n`,
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
