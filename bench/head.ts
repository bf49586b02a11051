/**
 * Head training on cached features (issue 11's target): 60,000 x 256 features, MLP [128], 10
 * epochs, batch 32 (scenario 1's defaults otherwise), 10,000 validation rows evaluated every
 * epoch; once with the step on ONNX Runtime and once on TensorFlow.js, each in its own process.
 * The features are random but learnable (noisy class centres), so the accuracies compare.
 *   --quick   20,000 rows, 2 epochs; HEAD_BENCH_N=rows overrides 60,000
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { argv } from './common';

const quick = argv.includes('--quick');
const N = quick ? 20_000 : Number(process.env["HEAD_BENCH_N"] ?? 60_000);
const EPOCHS = quick ? 2 : 10;
const VAL = 10_000;
const DIM = 256;
const K = 10;

interface Result {
  stepKind: string;
  backend: string;
  trainSeconds: number;
  cpuSeconds: number;
  imagesPerSec: number;
  bestValAcc: number;
  epochs: number;
}

async function child(runtime: 'auto' | 'tfjs'): Promise<void> {
  const { initBackend } = await import('../src/main/engine/backend');
  const { trainHead } = await import('../src/main/engine/head');
  const { trainConfigSchema } = await import('../src/shared/domain');
  const { seededRandom } = await import('../src/shared/random');
  const info = await initBackend({ prefer: 'wasm' });
  const random = seededRandom(7);
  const centres = Float32Array.from({ length: K * DIM }, () => random() * 2 - 1);
  const rows = (n: number) => {
    const x = new Float32Array(n * DIM);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(random() * K);
      y[i] = c;
      // Noise well above the centres' spread: the classes overlap, accuracy stays below 1.
      for (let j = 0; j < DIM; j++) x[i * DIM + j] = (centres[c * DIM + j] as number) * 0.15 + (random() - 0.5) * 2;
    }
    return { x, y };
  };
  const train = rows(N);
  const val = rows(VAL);
  const config = trainConfigSchema.parse({ scenario: 1, model: 'bench', epochs: EPOCHS, patience: 0, head: { hidden: [128] } });
  const cpu0 = process.cpuUsage();
  const res = await trainHead({ dim: DIM, classNames: Array.from({ length: K }, (_, i) => `c${i}`), train, val, config, runtime });
  const cpu = process.cpuUsage(cpu0);
  const out: Result = {
    stepKind: res.stepKind,
    backend: `${info.name} x${info.threads}`,
    trainSeconds: res.trainMs / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    imagesPerSec: res.imagesPerSec,
    bestValAcc: res.metrics[(res.bestEpoch ?? 1) - 1]?.valAcc ?? NaN,
    epochs: res.epochsRun,
  };
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  process.exit(0);
}

function run(runtime: 'auto' | 'tfjs'): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', runtime, ...argv], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`head bench (${runtime}) failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as Result;
}

const childAt = argv.indexOf('--child');
if (childAt >= 0) {
  await child(argv[childAt + 1] === 'tfjs' ? 'tfjs' : 'auto');
} else {
  process.stdout.write(`Head training: ${N} x ${DIM} features, MLP [128], ${EPOCHS} epochs, batch 32, ${VAL} validation rows; load ${os.loadavg()[0]?.toFixed(2)}\n`);
  const results = [run('auto'), run('tfjs')];
  for (const r of results) {
    process.stdout.write(
      `  ${r.stepKind.padEnd(28)} train ${r.trainSeconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), ${Math.round(r.imagesPerSec)} rows/s, best val acc ${r.bestValAcc.toFixed(4)}, ${r.epochs} epochs (tfjs backend ${r.backend})\n`,
    );
  }
  const [ort, tfjs] = results as [Result, Result];
  process.stdout.write(`  ONNX Runtime vs TensorFlow.js: ${(tfjs.trainSeconds / ort.trainSeconds).toFixed(1)}x faster, accuracy difference ${(ort.bestValAcc - tfjs.bestValAcc).toFixed(4)}; load now ${os.loadavg()[0]?.toFixed(2)}\n`);
  process.stdout.write(`RESULT ${JSON.stringify({ workload: { n: N, dim: DIM, epochs: EPOCHS, val: VAL }, ort, tfjs })}\n`);
}
