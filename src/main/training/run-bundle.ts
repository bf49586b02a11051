/**
 * Run bundles: one run of a sweep as a self-contained folder in a shared work folder, which
 * `transfer-studio run-bundle BUNDLE` trains on a compute node (run-bundle-exec.ts) and the
 * studio imports afterwards (run-bundle-import.ts). The work folder:
 *
 *   images/<sha256><ext>        every image once, by content hash (shared by all bundles)
 *   models/<folder hash>/       every model folder once, by the hash of its files
 *   bundles/<project>-run<id>/  bundle.json (what to train: items, classes, config, plan),
 *                               progress.json while it runs, status.json at its end,
 *                               result/ (the run folder: run.json, model, epochs, predictions)
 *   jobs/<submission>/          the sbatch script, its task list and each task's output
 *
 * Paths inside a bundle are relative to the work folder, so it may be mounted elsewhere on the
 * compute nodes. Every file is written whole then renamed (atomic-write.ts). The files coming back
 * are read with a size limit and a schema: a hostile or broken work folder is refused with a
 * message, never trusted.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { StudioError } from '../../shared/errors';
import { buildFolderAtomic, writeFileAtomic } from '../../shared/node/atomic-write';
import { folderHash } from '../../shared/node/folder-hash';
import { imageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import type { SweepTask } from './sweep-executor';

export const BUNDLE_FORMAT = 'transfer-studio-run-bundle';
export const BUNDLE_VERSION = 1;

/** Size limits of the files read back from the work folder. */
export const LIMITS = { bundle: 512 * 2 ** 20, progress: 4 * 2 ** 20, status: 2 ** 20, epochs: 64 * 2 ** 20, predictions: 1024 * 2 ** 20, trainResult: 16 * 2 ** 20 } as const;

const relPath = z
  .string()
  .min(1)
  .max(1000)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'a path inside the work folder');

const bundleItem = z.object({ imageId: z.number().int(), image: relPath, hash: z.string().regex(/^[0-9a-f]{64}$/) });

export const bundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  runId: z.number().int(),
  /** Hash of what the bundle trains: a bundle written again with other input starts over. */
  key: z.string(),
  classNames: z.array(z.string()).min(2),
  modelId: z.string(),
  model: relPath,
  config: z.record(z.string(), z.unknown()),
  plan: z.record(z.string(), z.unknown()),
  items: z.array(bundleItem.extend({ label: z.number().int().min(0), split: z.enum(['train', 'val']) })),
  /** The images the trained model predicts at the end (train, val and test, as a local run does). */
  predict: z.array(bundleItem),
});
export type Bundle = z.infer<typeof bundleSchema>;

const epochMetrics = z.object({
  epoch: z.number().int(),
  trainLoss: z.number(),
  trainAcc: z.number(),
  valLoss: z.number().nullable(),
  valAcc: z.number().nullable(),
  durationMs: z.number(),
});
const confusion = z.object({ epoch: z.number().int(), classNames: z.array(z.string()), matrix: z.array(z.array(z.number())) });
export const epochsSchema = z.array(z.object({ metrics: epochMetrics, confusion: confusion.nullable() }));
export type BundleEpoch = z.infer<typeof epochsSchema>[number];

export const progressSchema = z.object({
  phase: z.enum(['extract', 'train', 'predict']),
  done: z.number(),
  total: z.number(),
  epoch: z.number().optional(),
  epochs: z.number().optional(),
  batch: z.number().optional(),
  batches: z.number().optional(),
  imagesPerSec: z.number().optional(),
  /** Every epoch ended so far (the studio shows them live). */
  ended: epochsSchema,
  /** The compute node it runs on. */
  host: z.string(),
});
export type BundleProgress = z.infer<typeof progressSchema>;

export const statusSchema = z.object({
  state: z.enum(['succeeded', 'failed', 'cancelled']),
  message: z.string().max(10_000).optional(),
  host: z.string(),
  finishedAt: z.string(),
});
export type BundleStatus = z.infer<typeof statusSchema>;

export const predictionsSchema = z.object({ imageIds: z.array(z.number().int()), probabilities: z.array(z.array(z.number())) });

/** Names of the files a bundle's result folder holds beside the engine's run folder files. */
export const RESULT_FILES = { epochs: 'bundle-epochs.json', predictions: 'bundle-predictions.json', train: 'bundle-train-result.json', log: 'bundle-log.json' } as const;

/** A JSON file of the work folder, parsed by `schema`; a clear StudioError if missing, too big or malformed. */
export async function readBundleJson<T>(file: string, schema: z.ZodType<T>, maxBytes: number, what: string): Promise<T> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(file);
  } catch {
    throw new StudioError('not_found', `${what} is missing (${file}).`);
  }
  if (!stat.isFile()) throw new StudioError('bad_input', `${what} is not a plain file (${file}); refused.`);
  if (stat.size > maxBytes) throw new StudioError('bad_input', `${what} is ${(stat.size / 2 ** 20).toFixed(1)} MB, more than the ${(maxBytes / 2 ** 20).toFixed(0)} MB it may be (${file}); refused.`);
  let data: unknown;
  try {
    data = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch {
    throw new StudioError('bad_input', `${what} is not valid JSON (${file}); refused.`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new StudioError('bad_input', `${what} is not what the studio writes (${parsed.error.issues[0]?.path.join('.') || 'root'}: ${parsed.error.issues[0]?.message}) (${file}); refused.`);
  return parsed.data;
}

export const writeJson = (file: string, value: unknown): Promise<void> => writeFileAtomic(file, JSON.stringify(value));

/** The folders of a work folder and of one bundle in it. */
export function bundlePaths(bundleDir: string): { workdir: string; bundle: string; progress: string; status: string; result: string; work: string; cache: string } {
  const bundle = path.resolve(bundleDir);
  return {
    workdir: path.dirname(path.dirname(bundle)),
    bundle: path.join(bundle, 'bundle.json'),
    progress: path.join(bundle, 'progress.json'),
    status: path.join(bundle, 'status.json'),
    result: path.join(bundle, 'result'),
    work: path.join(bundle, 'work'),
    cache: path.join(bundle, 'cache'),
  };
}

/** A project's own prefix of bundle names (two projects may share a work folder). */
function projectKey(store: ProjectStore): string {
  return createHash('sha256').update(`${os.hostname()}\0${path.resolve(store.dir)}`).digest('hex').slice(0, 12);
}

export function bundleDirOf(workdir: string, store: ProjectStore, runId: number): string {
  return path.join(path.resolve(workdir), 'bundles', `${projectKey(store)}-run${runId}`);
}

const IMAGE_EXT = /^\.[a-z0-9]{1,8}$/;

/** Copies `file` into the work folder's images/ by content hash unless it is there; its relative path. */
async function storeImage(workdir: string, file: string, hash: string): Promise<string> {
  const ext = path.extname(file).toLowerCase();
  const rel = `images/${hash}${IMAGE_EXT.test(ext) ? ext : ''}`;
  const target = path.join(workdir, ...rel.split('/'));
  if (!fs.existsSync(target)) {
    // A file gone since import is left out: the engine reports it unreadable, as it would here.
    await writeFileAtomic(target, (tmp) => fs.promises.copyFile(file, tmp)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
  return rel;
}

/** Copies a model folder into the work folder's models/ by its hash unless it is there; its relative path. */
export async function storeModel(workdir: string, modelDir: string, hashes: Map<string, string>): Promise<string> {
  let hash = hashes.get(modelDir);
  if (!hash) {
    hash = await folderHash(modelDir);
    hashes.set(modelDir, hash);
  }
  const rel = `models/${hash}`;
  const target = path.join(workdir, 'models', hash);
  if (!fs.existsSync(target)) await buildFolderAtomic(target, (tmp) => fs.promises.cp(modelDir, tmp, { recursive: true }));
  return rel;
}

export interface WrittenBundle {
  dir: string;
  /** A result of this very input is there, finished (a re-run imports it instead of training again). */
  finished: boolean;
}

/**
 * Writes task's bundle (its images and model stored once in the work folder). A bundle already
 * there with the same input keeps its status and result; one with other input starts over.
 */
export async function writeBundle(store: ProjectStore, workdir: string, task: SweepTask, modelHashes: Map<string, string>, signal?: AbortSignal): Promise<WrittenBundle> {
  const root = path.resolve(workdir);
  for (const sub of ['images', 'models', 'bundles', 'jobs']) await fs.promises.mkdir(path.join(root, sub), { recursive: true });
  const dir = bundleDirOf(root, store, task.runId);
  const p = bundlePaths(dir);
  const { input } = task;
  const model = await storeModel(root, input.modelDir, modelHashes);
  const items: Bundle['items'] = [];
  for (const item of input.items) {
    if (signal?.aborted) throw new StudioError('cancelled', 'Cancelled while writing the run bundles.');
    items.push({ imageId: item.imageId, image: await storeImage(root, item.path, item.hash), hash: item.hash, label: item.label, split: item.split });
  }
  const predict: Bundle['predict'] = [];
  for (const row of imageFiles(store.db, ['train', 'val', 'test'])) {
    if (signal?.aborted) throw new StudioError('cancelled', 'Cancelled while writing the run bundles.');
    predict.push({ imageId: row.id, image: await storeImage(root, row.path, row.hash), hash: row.hash });
  }
  const body = { runId: task.runId, classNames: input.classNames, modelId: input.config.model, model, config: input.config, plan: input.plan, items, predict };
  const key = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const bundle: Bundle = bundleSchema.parse({ format: BUNDLE_FORMAT, version: BUNDLE_VERSION, key, ...body });
  await fs.promises.mkdir(dir, { recursive: true });
  const old = await readBundleJson(p.bundle, bundleSchema, LIMITS.bundle, 'bundle.json').catch(() => null);
  if (old?.key === key) {
    const status = await readBundleJson(p.status, statusSchema, LIMITS.status, 'status.json').catch(() => null);
    if (status?.state === 'succeeded' && fs.existsSync(p.result)) return { dir, finished: true };
  }
  await clearBundleState(dir);
  await writeJson(p.bundle, bundle);
  return { dir, finished: false };
}

/** Removes what a bundle's earlier attempt left (status, progress, result, partial run folder); its feature cache stays. */
export async function clearBundleState(dir: string): Promise<void> {
  const p = bundlePaths(dir);
  for (const f of [p.status, p.progress, p.result, p.work]) await fs.promises.rm(f, { recursive: true, force: true });
}

/** The absolute path of a bundle's relative path, refused if it leaves the work folder. */
export function insideWorkdir(workdir: string, rel: string): string {
  const abs = path.resolve(workdir, ...rel.split('/'));
  if (!abs.startsWith(path.resolve(workdir) + path.sep)) throw new StudioError('bad_input', `The bundle names ${rel}, outside its work folder; refused.`);
  return abs;
}
