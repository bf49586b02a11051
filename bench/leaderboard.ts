/**
 * The leaderboard workflow measured (issue 22): `npm run bench -- leaderboard [--train 10000 --test 2000 --epochs 5]`
 *
 * Fashion-MNIST (Debian's dataset-fashion-mnist): `--train` labelled images of its train split
 * (20% validation) and `--test` test images whose labels only this benchmark knows, MobileNet v1
 * 0.25, scenario 1, through the Studio (the sweep service, the same code path as the CLI):
 *  1. a 2x2 sweep (lr x seed): the test accuracy of its best run by validation accuracy;
 *  2. 5-fold cross-validation of the sweep's best configuration: the test accuracy of the ensemble
 *     of its 5 fold models (and the out-of-fold accuracy, the estimate of one fold model);
 *  3. the same ensemble with test-time augmentation.
 * Each with the time it took (training, then predicting the test images). Slurm's overhead per
 * task is bench/slurm.ts's (`npm run bench -- slurm`). Numbers only; the machine's load distorts the times.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostEngine } from '../src/main/host/engine';
import { Studio } from '../src/main/host/studio';
import { forkEngine } from '../src/main/training/engine-client';
import type { PredictionSource, SweepRequestInput } from '../src/shared/domain';
import { MODELS, arg, timed } from './common';
import { exitWithoutFashion, fashionFolders, storedTestAccuracy } from './fashion-mnist';

const TRAIN = Number(arg('--train') ?? 10000);
const TEST = Number(arg('--test') ?? 2000);
const EPOCHS = Number(arg('--epochs') ?? 5);

exitWithoutFashion();

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-leaderboard-'));
const { truth } = await fashionFolders(work, TRAIN, TEST);

const studio = new Studio({ userDataDir: path.join(work, 'home'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

const testAccuracy = (source: PredictionSource): Promise<number> => storedTestAccuracy(studio, source, truth);

async function sweep(req: SweepRequestInput): Promise<number> {
  const started = await studio.call('startSweep', req);
  const done = await studio.jobs.wait(started.job);
  if (done.state !== 'succeeded') throw new Error(`sweep ${started.sweepId} ${done.state}: ${JSON.stringify(done.error)}`);
  return started.sweepId;
}

try {
  const model = 'mobilenet_v1_0.25_224';
  const t0 = performance.now();
  await studio.call('createProject', { dir: path.join(work, 'project') });
  await studio.jobs.wait((await studio.call('importImages', { source: path.join(work, 'train') })).id);
  await studio.jobs.wait((await studio.call('importImages', { source: path.join(work, 'test'), split: 'test' })).id);
  await studio.call('autoSplit', { val: 0.2, seed: 1 });
  await studio.call('importModel', { dir: path.join(MODELS, model), id: model });
  const setup = (performance.now() - t0) / 1000;

  const base = { scenario: [1 as const], model: [model], epochs: [EPOCHS], batchSize: [32] };
  // 1. The sweep (its first run extracts and caches the features of every image, test included).
  const small = await timed(() => sweep({ grid: { ...base, lr: [0.001, 0.003], seed: [1, 2] } }));
  const board = await studio.call('sweepLeaderboard', { id: small.value });
  const best = [...board.rows].sort((a, b) => (b.valAcc?.mean ?? 0) - (a.valAcc?.mean ?? 0))[0]!;
  const bestRun = best.runs[0]!;
  const bestAcc = await testAccuracy({ runId: bestRun.id });

  // 2. 5-fold CV of the best configuration, then its fold models as one ensemble on the test images.
  const { lr, seed } = best.config as { lr: number; seed: number };
  const cv = await timed(() => sweep({ grid: { ...base, lr: [lr], seed: [seed] }, folds: 5 }));
  const row = (await studio.call('sweepLeaderboard', { id: cv.value })).rows[0]!;
  const folds = row.runs.map((r) => r.id);
  const plain = await timed(async () => studio.jobs.wait((await studio.call('predictImages', { runs: folds, splits: ['test'] })).id));
  const plainAcc = await testAccuracy({ runs: folds });
  // 3. The same with test-time augmentation.
  const tta = await timed(async () => studio.jobs.wait((await studio.call('predictImages', { runs: folds, splits: ['test'], tta: true })).id));
  const ttaAcc = await testAccuracy({ runs: folds });
  const views = (await studio.call('ensembleSummary', { runs: folds })).views;

  const out = process.stdout;
  out.write(`Fashion-MNIST: ${TRAIN} labelled (train split; 80/20 train/val for the sweep, all of them in the folds), ${TEST} test with known labels; MobileNet v1 0.25, scenario 1, ${EPOCHS} epochs, batch 32\n`);
  out.write(`Setup (import ${TRAIN + TEST} images, split, model): ${setup.toFixed(1)} s\n`);
  out.write(`  ${'what'.padEnd(58)} ${'test acc'.padStart(9)}  time\n`);
  out.write(`  ${`best run of a 2x2 sweep (run ${bestRun.id}: ${best.label}, val ${pct(best.valAcc!.mean)})`.padEnd(58)} ${pct(bestAcc).padStart(9)}  ${small.s.toFixed(1)} s for the 4 runs (features extracted in the first)\n`);
  out.write(`  ${`5-fold ensemble (runs ${folds.join(',')}; out-of-fold ${pct(row.oofAcc ?? 0)})`.padEnd(58)} ${pct(plainAcc).padStart(9)}  ${cv.s.toFixed(1)} s CV + ${plain.s.toFixed(1)} s predict\n`);
  out.write(`  ${`5-fold ensemble + TTA (${views?.join(', ') ?? 'views differ'})`.padEnd(58)} ${pct(ttaAcc).padStart(9)}  ${cv.s.toFixed(1)} s CV + ${tta.s.toFixed(1)} s predict\n`);
  out.write(`Folds' val acc ${pct(row.valAcc!.mean)} ± ${pct(row.valAcc!.sd)}. Slurm's overhead per task: npm run bench -- slurm.\n`);
} finally {
  await studio.dispose();
  fs.rmSync(work, { recursive: true, force: true });
}
