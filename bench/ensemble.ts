/**
 * Ensembles and test-time augmentation on Fashion-MNIST (Debian's dataset-fashion-mnist), through
 * the Studio with the real engine process: K scenario 1 runs of MobileNet v1 0.25 (seeds 1..K),
 * then the test accuracy of the best single run, of their ensemble, and of the ensemble with TTA,
 * with the time each took and the ensemble's gain over its best member on the validation images.
 *
 *   npm run bench -- ensemble            (--train 2000 --test 1000 --runs 3 --epochs 8)
 *   npx tsx bench/ensemble.ts --train 10000 --test 2000
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostEngine } from '../src/main/host/engine';
import { Studio } from '../src/main/host/studio';
import { forkEngine } from '../src/main/training/engine-client';
import type { PredictionSource } from '../src/shared/domain';
import { MODELS, arg, timed } from './common';
import { exitWithoutFashion, fashionFolders, storedTestAccuracy } from './fashion-mnist';

const TRAIN = Number(arg('--train') ?? 2000);
const TEST = Number(arg('--test') ?? 1000);
const RUNS = Number(arg('--runs') ?? 3);
const EPOCHS = Number(arg('--epochs') ?? 8);

exitWithoutFashion();

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-ensemble-'));
const { truth } = await fashionFolders(work, TRAIN, TEST);

const studio = new Studio({ userDataDir: path.join(work, 'home'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });

const testAccuracy = (source: PredictionSource): Promise<number> => storedTestAccuracy(studio, source, truth);

try {
  await studio.call('createProject', { dir: path.join(work, 'project') });
  await studio.jobs.wait((await studio.call('importImages', { source: path.join(work, 'train') })).id);
  await studio.jobs.wait((await studio.call('importImages', { source: path.join(work, 'test'), split: 'test' })).id);
  await studio.call('autoSplit', { val: 0.2, seed: 1 });
  await studio.call('importModel', { dir: path.join(MODELS, 'mobilenet_v1_0.25_224'), id: 'mobilenet_v1_0.25_224' });

  const runs: { id: number; s: number; acc: number }[] = [];
  for (let seed = 1; seed <= RUNS; seed++) {
    const { value: id, s } = await timed(async () => {
      const { job, runId } = await studio.call('startTraining', { config: { scenario: 1, model: 'mobilenet_v1_0.25_224', epochs: EPOCHS, seed, lr: 0.002 * seed } });
      const done = await studio.jobs.wait(job.id);
      if (done.state !== 'succeeded') throw new Error(`run ${runId} ${done.state}: ${JSON.stringify(done.error)}`);
      return runId;
    });
    runs.push({ id, s, acc: await testAccuracy({ runId: id }) });
  }
  const members = runs.map((r) => r.id);
  const best = [...runs].sort((a, b) => b.acc - a.acc)[0]!;
  const plain = await timed(async () => studio.jobs.wait((await studio.call('predictImages', { runs: members, splits: ['test'] })).id));
  const plainAcc = await testAccuracy({ runs: members });
  const plainGain = await studio.call('ensembleSummary', { runs: members });
  const tta = await timed(async () => studio.jobs.wait((await studio.call('predictImages', { runs: members, splits: ['test'], tta: true })).id));
  const ttaAcc = await testAccuracy({ runs: members });
  const ttaGain = await studio.call('ensembleSummary', { runs: members });

  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  const val = (g: typeof plainGain): string => (g.gain ? `val ${pct(g.ensemble!.accuracy)} vs best member ${pct(g.best!.accuracy)} (${g.gain.accuracy >= 0 ? '+' : ''}${(100 * g.gain.accuracy).toFixed(2)} points) on ${g.images}` : 'no val');
  process.stdout.write(`Fashion-MNIST: ${TRAIN} labelled (80/20 train/val), ${TEST} test; ${RUNS} scenario 1 runs of MobileNet v1 0.25, ${EPOCHS} epochs\n`);
  for (const r of runs) process.stdout.write(`  run ${r.id}: test accuracy ${pct(r.acc)}, trained and predicted in ${r.s.toFixed(1)} s${r.id === best.id ? '  (best single run)' : ''}\n`);
  process.stdout.write(`  ensemble of ${RUNS}: test accuracy ${pct(plainAcc)} (best single ${pct(best.acc)}); predict ${plain.s.toFixed(1)} s; ${val(plainGain)}\n`);
  process.stdout.write(`  ensemble + TTA (${ttaGain.views?.join(', ') ?? 'mixed'}): test accuracy ${pct(ttaAcc)}; predict ${tta.s.toFixed(1)} s; ${val(ttaGain)}\n`);
} finally {
  await studio.dispose();
  fs.rmSync(work, { recursive: true, force: true });
}
