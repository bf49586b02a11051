/**
 * `npm run bench [-- name ...]`: runs the benchmarks one after another, each in its own process
 * (they measure memory and load TensorFlow.js or Chromium, so they must not share one), and
 * prints their output. Without names it runs all of them. Numbers go to the terminal and into
 * the issue notes; nothing here asserts a timing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/** In the order a reader meets the product: import, gallery, engine, head training, training kernels, scenarios, audit, the PyTorch comparison, the first run and the Teachable Machine base, the engine over ssh, ensembles and TTA, sweeps, sweeps on Slurm, the leaderboard workflow (sweep, k-fold ensemble, TTA). */
const BENCHES = ['import', 'gallery', 'engine', 'head', 'kernels', 'scenarios', 'audit', 'transfer', 'out-of-box', 'ssh', 'ensemble', 'sweep', 'slurm', 'leaderboard'] as const;
const NEEDS_BUILD = new Set(['gallery']);

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(BENCHES as readonly string[]).includes(w));
if (unknown.length) {
  process.stderr.write(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${BENCHES.join(', ')}\n`);
  process.exit(2);
}
const selected = BENCHES.filter((b) => (wanted.length === 0 || wanted.includes(b)) && fs.existsSync(path.join(ROOT, 'bench', `${b}.ts`)));

process.stdout.write(`Transfer Studio benchmarks on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}\n`);
if (selected.some((b) => NEEDS_BUILD.has(b)) && !fs.existsSync(path.join(ROOT, 'out', 'main', 'cli.js'))) {
  const build = spawnSync('npx', ['electron-vite', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
let failed = 0;
for (const name of selected) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', `${name}.ts`)], { cwd: ROOT, stdio: 'inherit' });
  process.stdout.write(`=== ${name}: ${r.status === 0 ? 'done' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s ===\n`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
