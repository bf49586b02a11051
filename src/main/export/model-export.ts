/**
 * Model export: a run's whole classifier (the cut pretrained part + the head, saved by the engine
 * as <run>/model) copied into a new folder with labels.json (class names in output order),
 * preprocessing.json (exactly what the engine does to an image before the network sees it) and a
 * README.txt, so it loads with tf.loadLayersModel in a browser or Node without this app.
 * Built in a temporary folder and renamed into place (atomic.ts): complete or not at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExportResult } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import { readModelFolder } from '../models/folder';
import { modelErrorToStudio } from '../models/library';
import type { ProjectStore } from '../store/project-store';
import { PREPROCESS_VERSION } from '../training/engine/preprocess';
import { buildFolderAtomic } from './atomic';

/** What the engine wrote beside the model (run.json); only the fields an export needs. */
interface RunFacts {
  classNames: string[];
  inputSize: number;
  scaling: [number, number];
  preprocess: string;
}

function readRunFacts(runDir: string, runId: number): RunFacts {
  let raw: Partial<RunFacts>;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as Partial<RunFacts>;
  } catch {
    throw new StudioError('bad_input', `Run ${runId} has no saved model (run.json is missing or unreadable in ${runDir}).`, 'runId');
  }
  const { classNames, inputSize, scaling, preprocess } = raw;
  if (!Array.isArray(classNames) || typeof inputSize !== 'number' || !Array.isArray(scaling) || scaling.length !== 2 || typeof preprocess !== 'string')
    throw new StudioError('bad_input', `run.json of run ${runId} lacks the class names, input size, scaling or preprocessing of its model.`, 'runId');
  return { classNames, inputSize, scaling, preprocess };
}

/**
 * preprocessing.json: training/preprocess.ts (loadImage) in words and numbers. Tied to the
 * preprocessing version: when the engine's preprocessing changes, this must be brought along.
 */
export function preprocessingSpec(facts: RunFacts): Record<string, unknown> {
  if (facts.preprocess !== PREPROCESS_VERSION)
    throw new StudioError('internal', `This version cannot describe the preprocessing "${facts.preprocess}" of the run (it knows ${PREPROCESS_VERSION}).`);
  const [lo, hi] = facts.scaling;
  return {
    version: facts.preprocess,
    inputShape: [null, facts.inputSize, facts.inputSize, 3],
    inputSize: facts.inputSize,
    layout: 'NHWC',
    dtype: 'float32',
    channelOrder: 'RGB',
    colourspace: 'sRGB',
    exifOrientation: 'applied (the image is rotated upright first)',
    resize: { fit: 'cover', position: 'centre', kernel: 'bilinear', description: `centre crop to a square, then resize to ${facts.inputSize}x${facts.inputSize}` },
    greyscale: 'the grey channel is repeated as R, G and B',
    alpha: 'dropped (not blended onto a background)',
    scaling: [lo, hi],
    formula: `x = pixel * ${(hi - lo) / 255} ${lo < 0 ? '-' : '+'} ${Math.abs(lo)}   (pixel in 0..255, so x in [${lo}, ${hi}])`,
    output: 'softmax probabilities, one per class, in the order of labels.json',
  };
}

function readme(facts: RunFacts, runId: number): string {
  const [lo, hi] = facts.scaling;
  return [
    `Transfer Studio model export (run ${runId}): a TensorFlow.js LayersModel.`,
    '',
    '  model.json + weights.bin   the classifier (pretrained part up to the cut, and the trained head)',
    '  labels.json                class names, in the order of the model\'s outputs',
    '  preprocessing.json         how to turn an image into the input tensor',
    '',
    `Input: [batch, ${facts.inputSize}, ${facts.inputSize}, 3] float32 RGB, pixels scaled from 0..255 to [${lo}, ${hi}],`,
    'after a centre square crop and a bilinear resize (see preprocessing.json). Output: class probabilities.',
    '',
    'Loading it in Node (npm i @tensorflow/tfjs-node sharp; in a browser load model.json from its URL instead):',
    '',
    "  const model = await tf.loadLayersModel('file:///path/to/this/folder/model.json');",
    "  const labels = JSON.parse(fs.readFileSync('/path/to/this/folder/labels.json', 'utf8'));",
    `  const px = await sharp('image.jpg').rotate().resize(${facts.inputSize}, ${facts.inputSize}, { fit: 'cover', kernel: 'linear' }).toColourspace('srgb').removeAlpha().raw().toBuffer();`,
    `  const p = await model.predict(tf.tensor4d(Float32Array.from(px, (v) => v * ${(hi - lo) / 255} ${lo < 0 ? '-' : '+'} ${Math.abs(lo)}), [1, ${facts.inputSize}, ${facts.inputSize}, 3])).data();`,
    '  console.log(labels[p.indexOf(Math.max(...p))]);',
    '',
  ].join('\n');
}

/** Copies a run's model with its labels, preprocessing and README into a new or empty folder `target`. */
export async function exportModel(store: ProjectStore, run: { id: number; state: string }, ctx: JobContext, target: string): Promise<ExportResult> {
  const runDir = store.runDir(run.id);
  const facts = readRunFacts(runDir, run.id);
  const modelDir = path.join(runDir, 'model');
  if (!fs.existsSync(path.join(modelDir, 'model.json')))
    throw new StudioError('bad_input', `Run ${run.id} (${run.state}) has no saved model to export.`, 'runId');
  // The same validation as an imported model: a missing or truncated shard is named.
  const folder = await readModelFolder(modelDir).catch((err: unknown) => {
    throw modelErrorToStudio(err);
  });
  // preprocessing.json is written from run.json: it must describe the input the model really takes.
  const declared = folder.layers.find((l) => l.class_name === 'InputLayer')?.config.batch_input_shape;
  const fixed = Array.isArray(declared) && declared.length === 4 ? declared.slice(1, 3).filter((d): d is number => typeof d === 'number') : [];
  if (fixed.some((d) => d !== facts.inputSize))
    throw new StudioError('internal', `Run ${run.id}'s model takes ${fixed.join('x')} images but its run.json says ${facts.inputSize}; it cannot be exported consistently.`);
  const files = ['model.json', ...folder.shards.map((s) => s.path)];
  const preprocessing = preprocessingSpec(facts);
  await buildFolderAtomic(target, async (tmp) => {
    for (let i = 0; i < files.length; i++) {
      ctx.throwIfCancelled();
      const dest = path.join(tmp, files[i]!);
      await fs.promises.mkdir(path.dirname(dest), { recursive: true });
      await fs.promises.copyFile(path.join(modelDir, files[i]!), dest);
      ctx.progress(i + 1, files.length + 3, 'Copying the model');
    }
    await fs.promises.writeFile(path.join(tmp, 'labels.json'), JSON.stringify(facts.classNames, null, 2) + '\n');
    await fs.promises.writeFile(path.join(tmp, 'preprocessing.json'), JSON.stringify(preprocessing, null, 2) + '\n');
    await fs.promises.writeFile(path.join(tmp, 'README.txt'), readme(facts, run.id));
    ctx.progress(files.length + 3, files.length + 3, 'Model exported');
    ctx.throwIfCancelled();
  });
  return { kind: 'model', files: [target], rows: files.length + 3, runId: run.id, labels: facts.classNames };
}
