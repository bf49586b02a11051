/**
 * Sweep benchmark (issue 22): `npm run bench -- sweep [--train 2000]`
 *
 * Fashion-MNIST, `--train` labelled images in a project (20% validation), MobileNet v1 0.25,
 * scenario 1, 5 epochs, on this machine through the Studio (the sweep service and its local
 * executor, the same code path as `transfer-studio sweep`):
 *  1. A single seeded run (features extracted and cached) and a second one (the per-run reference).
 *  2. A 2x2 sweep (lr x seed): the plan's estimate against the time it took, and the time per run
 *     against the single run's (what a sweep adds per run).
 *  3. 5-fold cross-validation of one configuration: time, validation accuracy mean ± sd over the
 *     folds, and the out-of-fold accuracy over every labelled image.
 * Numbers only; the machine's load distorts the times.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODELS, arg } from './common';
import { FASHION_CLASSES, fashionPngs } from './fashion-mnist';
import { HostEngine } from '../src/main/host/engine';
import { Studio } from '../src/main/host/studio';
import { forkEngine } from '../src/main/training/engine-client';

const TRAIN = Number(arg('--train') ?? 2000);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-sweep-'));
const seconds = (t0: number): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

try {
  const { train } = await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion'), TRAIN, 0);
  // Class folders, as a user imports them ('T-shirt/top' cannot be a folder name).
  for (const img of train) {
    const dir = path.join(root, 'images', FASHION_CLASSES[img.label]!.replace('/', '-'));
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(img.path, path.join(dir, path.basename(img.path)));
  }
  const studio = new Studio({ userDataDir: path.join(root, 'home'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
  try {
    await studio.call('createProject', { dir: path.join(root, 'project') });
    await studio.jobs.wait((await studio.call('importImages', { source: path.join(root, 'images') })).id);
    await studio.call('autoSplit', { val: 0.2, seed: 1 });
    await studio.call('importModel', { dir: path.join(MODELS, 'mobilenet_v1_0.25_224'), id: 'm025' });
    const base = { scenario: 1 as const, model: 'm025', epochs: 5, batchSize: 32 };
    console.log(`Fashion-MNIST, ${TRAIN} labelled images, MobileNet v1 0.25, scenario 1, ${base.epochs} epochs`);

    let single = 0;
    for (const seed of [1, 2]) {
      const t0 = Date.now();
      const { job, runId } = await studio.call('startTraining', { config: { ...base, seed } });
      await studio.jobs.wait(job);
      single = (Date.now() - t0) / 1000;
      const run = await studio.call('getRun', { id: runId });
      console.log(`single run (seed ${seed}${seed === 1 ? ', features extracted' : ', features cached'}): ${single.toFixed(1)} s, val acc ${run.bestValAcc?.toFixed(3)}`);
    }

    const grid = { scenario: [1 as const], model: ['m025'], epochs: [base.epochs], batchSize: [base.batchSize], lr: [0.001, 0.0003], seed: [3, 4] };
    const plan = await studio.call('planSweep', { grid });
    const t1 = Date.now();
    const sweep = await studio.call('startSweep', { grid });
    await studio.jobs.wait(sweep.job);
    const took = (Date.now() - t1) / 1000;
    console.log(`2x2 sweep: estimated ${plan.estimate.seconds.toFixed(1)} s, took ${took.toFixed(1)} s; ${(took / 4).toFixed(2)} s per run against ${single.toFixed(2)} s for the single run`);
    const board = await studio.call('sweepLeaderboard', { id: sweep.sweepId });
    for (const r of board.rows) console.log(`  ${r.label.padEnd(24)} val acc ${r.valAcc?.mean.toFixed(3)}`);

    const t2 = Date.now();
    const cv = await studio.call('startSweep', { grid: { ...grid, lr: [0.001], seed: [5] }, folds: 5 });
    await studio.jobs.wait(cv.job);
    const row = (await studio.call('sweepLeaderboard', { id: cv.sweepId })).rows[0]!;
    const oof = await studio.call('listPredictions', { runId: row.cvRunId!, limit: 1 });
    console.log(`5-fold CV: ${seconds(t2)}; val acc ${row.valAcc!.mean.toFixed(3)} ± ${row.valAcc!.sd.toFixed(3)} over the folds, out-of-fold ${row.oofAcc!.toFixed(3)} over ${oof.total} images`);
  } finally {
    await studio.dispose();
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
