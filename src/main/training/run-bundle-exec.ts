/**
 * The compute node's side of a run bundle (`transfer-studio run-bundle BUNDLE`): trains the
 * bundle's run with the engine as a local run does (the same `train` call, then `predict` over the
 * bundle's images), writing progress.json as it goes and, at the end, the result folder (the
 * engine's run folder with the epochs, predictions, train result and log beside it) and
 * status.json, each whole or not at all. A run that fails or is cancelled (Slurm's scancel or time
 * limit sends SIGTERM) still writes status.json saying so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import type { TrainConfig } from '../../shared/domain';
import type { TrainPlan } from '../../shared/train-plan';
import type { Engine, EngineEvent, PredictItem } from '../engine/protocol';
import {
  bundlePaths,
  bundleSchema,
  clearBundleState,
  insideWorkdir,
  LIMITS,
  readBundleJson,
  RESULT_FILES,
  writeJson,
  type BundleEpoch,
  type BundleProgress,
  type BundleStatus,
} from './run-bundle';

/** progress.json is rewritten at most this often (a shared file system is slow to write). */
const PROGRESS_EVERY_MS = 500;
/** Images per predict call (as predict-images.ts). */
const CHUNK = 2000;

export async function executeBundle(bundleDir: string, engine: Engine, signal: AbortSignal, log: (line: string) => void = () => undefined): Promise<BundleStatus> {
  const p = bundlePaths(bundleDir);
  const host = os.hostname();
  const finish = async (state: BundleStatus['state'], message?: string): Promise<BundleStatus> => {
    const status: BundleStatus = { state, host, finishedAt: new Date().toISOString(), ...(message ? { message } : {}) };
    await writeJson(p.status, status);
    return status;
  };
  try {
    const bundle = await readBundleJson(p.bundle, bundleSchema, LIMITS.bundle, 'bundle.json');
    await clearBundleState(bundleDir);
    await fs.promises.mkdir(p.cache, { recursive: true });
    const images = path.join(p.workdir, 'images');
    const modelDir = insideWorkdir(p.workdir, bundle.model);

    const ended: BundleEpoch[] = [];
    const lines: string[] = [];
    let progress: BundleProgress = { phase: 'extract', done: 0, total: 0, ended, host };
    let written = 0;
    let writing: Promise<void> = Promise.resolve();
    const saveProgress = (force = false): Promise<void> => {
      const now = Date.now();
      if (!force && now - written < PROGRESS_EVERY_MS) return writing;
      written = now;
      const snapshot = JSON.stringify({ ...progress, ended });
      writing = writing.then(() => writeJson(p.progress, JSON.parse(snapshot))).catch(() => undefined);
      return writing;
    };
    const onEvent = (e: EngineEvent): void => {
      switch (e.type) {
        case 'phase':
          if (e.phase !== 'upload') progress = { ...progress, phase: e.phase, done: 0, total: 0 };
          break;
        case 'progress': {
          const { type: _type, ...rest } = e;
          progress = { ...progress, ...rest };
          void saveProgress();
          break;
        }
        case 'epoch':
          ended.push({ metrics: e.metrics, confusion: e.confusion });
          void saveProgress(true);
          break;
        case 'log':
          lines.push(e.message);
          log(e.message);
          break;
        default:
          break;
      }
    };
    await saveProgress(true);
    const result = await engine.call(
      'train',
      {
        job: {
          projectDir: bundleDir,
          runDir: p.work,
          cacheDir: p.cache,
          modelDir,
          modelId: bundle.modelId,
          classNames: bundle.classNames,
          items: bundle.items.map((i) => ({ imageId: i.imageId, path: insideWorkdir(p.workdir, i.image), root: images, hash: i.hash, label: i.label, split: i.split })),
          config: bundle.config as unknown as TrainConfig, // checked by the studio's schema when the sweep was made
          plan: bundle.plan as unknown as TrainPlan,
        },
      },
      { signal, onEvent },
    );
    if (result.state === 'cancelled' || signal.aborted) return await finish('cancelled', 'The run was stopped (scancel or its time limit) before it ended.');

    progress = { ...progress, phase: 'predict', done: 0, total: bundle.predict.length };
    await saveProgress(true);
    const imageIds: number[] = [];
    const probabilities: number[][] = [];
    for (let start = 0; start < bundle.predict.length; start += CHUNK) {
      if (signal.aborted) return await finish('cancelled', 'The run was stopped while predicting.');
      const chunk = bundle.predict.slice(start, start + CHUNK);
      const items: PredictItem[] = chunk.map((i) => ({ imageId: i.imageId, path: insideWorkdir(p.workdir, i.image), root: images, hash: i.hash }));
      const predicted = await engine.call('predict', { runDir: p.work, items, cacheDir: p.cache }, { signal });
      predicted.items.forEach((item, k) => {
        if (item.probabilities.length === 0) return; // unreadable: left out, as a local run does
        imageIds.push(chunk[k]!.imageId);
        probabilities.push(item.probabilities);
      });
      progress = { ...progress, done: Math.min(bundle.predict.length, start + CHUNK) };
      await saveProgress();
    }
    if (imageIds.length < bundle.predict.length) lines.push(`${bundle.predict.length - imageIds.length} image(s) could not be read for prediction.`);
    const modelFiles = result.modelFiles.map((f) => path.relative(p.work, f).split(path.sep).join('/'));
    await writeJson(path.join(p.work, RESULT_FILES.epochs), ended);
    await writeJson(path.join(p.work, RESULT_FILES.predictions), { imageIds, probabilities });
    await writeJson(path.join(p.work, RESULT_FILES.train), { ...result, modelFiles });
    await writeJson(path.join(p.work, RESULT_FILES.log), lines);
    await saveProgress(true);
    await fs.promises.rename(p.work, p.result);
    return await finish('succeeded');
  } catch (err) {
    const e = StudioError.from(err);
    if (signal.aborted || e.code === 'cancelled') return finish('cancelled', e.message).catch(() => ({ state: 'cancelled', host, finishedAt: '' }));
    return finish('failed', e.message).catch(() => ({ state: 'failed', message: e.message, host, finishedAt: '' }));
  }
}
