/**
 * A finished run bundle comes home: its result folder is checked (plain files and folders only,
 * nothing pointing outside, within size limits, every file the studio reads parsed by its schema),
 * copied whole into the run's folder, and its epochs, confusion matrices, predictions and outcome
 * recorded in one transaction. Whole or not at all: a refused or failed import leaves the run's
 * folder and rows as they were and says why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { BackendInfo, TrainRunResult } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { buildFolderAtomic } from '../../shared/node/atomic-write';
import { imageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import * as runs from '../store/runs';
import { bundlePaths, bundleSchema, epochsSchema, LIMITS, predictionsSchema, readBundleJson, RESULT_FILES, statusSchema, type BundleEpoch } from './run-bundle';

/** A whole result folder may not be larger than this (a model and its checkpoint fit many times). */
export const RESULT_MAX_BYTES = 8 * 2 ** 30;

const trainResultSchema = z
  .object({
    state: z.literal('succeeded'),
    backend: z.object({ name: z.enum(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']), simd: z.boolean(), threads: z.number() }).passthrough(),
    baseline: z.number().nullable(),
    modelFiles: z.array(z.string().max(1000)),
  })
  .passthrough();

/** The result folder's files as relative paths; refused when anything in it is not a plain file or folder. */
async function resultFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) throw new StudioError('bad_input', `The result folder holds a link (${r}); refused: a run's files must be in it.`);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        files.push(r);
        bytes += (await fs.promises.stat(path.join(dir, r))).size;
        if (bytes > RESULT_MAX_BYTES) throw new StudioError('bad_input', `The result folder is larger than ${RESULT_MAX_BYTES / 2 ** 30} GB; refused.`);
      } else throw new StudioError('bad_input', `The result folder holds ${r}, which is not a file; refused.`);
    }
  };
  await walk('');
  return files;
}

export interface ImportedRun {
  epochs: BundleEpoch[];
  predictions: number;
}

/** Imports the finished bundle of run `runId`; throws a StudioError saying what was refused, and nothing is changed then. */
export async function importBundle(store: ProjectStore, runId: number, bundleDir: string): Promise<ImportedRun> {
  const p = bundlePaths(bundleDir);
  const resolved = await fs.promises.realpath(bundleDir).catch(() => bundleDir);
  if (path.dirname(path.dirname(resolved)) !== (await fs.promises.realpath(p.workdir).catch(() => p.workdir)))
    throw new StudioError('bad_input', `The bundle ${bundleDir} resolves outside its work folder; refused.`);
  const status = await readBundleJson(p.status, statusSchema, LIMITS.status, 'The task\'s status.json');
  if (status.state !== 'succeeded') throw new StudioError('bad_input', `The task ended ${status.state}${status.message ? `: ${status.message}` : ''}.`);
  const bundle = await readBundleJson(p.bundle, bundleSchema, LIMITS.bundle, 'bundle.json');
  if (bundle.runId !== runId) throw new StudioError('bad_input', `The bundle ${bundleDir} is run ${bundle.runId}'s, not run ${runId}'s; refused.`);
  const stat = await fs.promises.lstat(p.result).catch(() => null);
  if (!stat?.isDirectory()) throw new StudioError('bad_input', `The task says it succeeded but its result folder is missing or not a folder (${p.result}).`);
  const files = await resultFiles(p.result);
  const epochs = await readBundleJson(path.join(p.result, RESULT_FILES.epochs), epochsSchema, LIMITS.epochs, 'The result\'s epochs');
  const predictions = await readBundleJson(path.join(p.result, RESULT_FILES.predictions), predictionsSchema, LIMITS.predictions, 'The result\'s predictions');
  const train = await readBundleJson(path.join(p.result, RESULT_FILES.train), trainResultSchema, LIMITS.trainResult, 'The result\'s train summary');
  const log = await readBundleJson(path.join(p.result, RESULT_FILES.log), z.array(z.string()), LIMITS.epochs, 'The result\'s log');
  const classes = bundle.classNames.length;
  if (predictions.imageIds.length !== predictions.probabilities.length || predictions.probabilities.some((row) => row.length !== classes))
    throw new StudioError('bad_input', `The result's predictions do not have ${classes} probabilities for each image; refused.`);
  for (const e of epochs)
    if (e.confusion && (e.confusion.matrix.length !== classes || e.confusion.matrix.some((r) => r.length !== classes)))
      throw new StudioError('bad_input', `The confusion matrix of epoch ${e.metrics.epoch} is not ${classes} x ${classes}; refused.`);
  for (const f of train.modelFiles)
    if (path.isAbsolute(f) || f.split('/').includes('..') || !files.includes(f)) throw new StudioError('bad_input', `The result names a model file ${f} that is not in its folder; refused.`);

  // Labels as the evaluation views match them: by class name; images deleted since are left out.
  const known = new Map(imageFiles(store.db).map((r) => [r.id, r.className]));
  const index = new Map(bundle.classNames.map((n, i) => [n.toLowerCase(), i]));
  const batch: runs.PredictionInput[] = [];
  predictions.imageIds.forEach((imageId, i) => {
    if (!known.has(imageId)) return;
    const name = known.get(imageId);
    batch.push({ imageId, probabilities: predictions.probabilities[i]!, trueIndex: name ? (index.get(name.toLowerCase()) ?? null) : null });
  });

  const runDir = store.runDir(runId);
  await fs.promises.mkdir(path.dirname(runDir), { recursive: true });
  await buildFolderAtomic(runDir, async (tmp) => {
    for (const f of files) {
      await fs.promises.mkdir(path.dirname(path.join(tmp, ...f.split('/'))), { recursive: true });
      await fs.promises.copyFile(path.join(p.result, ...f.split('/')), path.join(tmp, ...f.split('/')));
    }
  }, { replace: 'any' });
  const { modelFiles: relFiles, ...rest } = train;
  const summary = { ...rest, runId, modelFiles: relFiles.map((f) => path.join(runDir, ...f.split('/'))), predictions: batch.length, log } as unknown as TrainRunResult; // checked above field by field the studio reads
  try {
    const backend = { ...(train.backend as BackendInfo), server: { address: 'slurm', hostname: status.host, version: '' } };
    runs.recordImportedRun(store.db, runId, { backend, baseline: train.baseline, epochs, predictions: batch, result: summary });
  } catch (err) {
    await fs.promises.rm(runDir, { recursive: true, force: true });
    throw err;
  }
  return { epochs, predictions: batch.length };
}
