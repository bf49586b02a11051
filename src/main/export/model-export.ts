/**
 * Model export: a run's whole classifier (the cut pretrained part + the head, saved by the engine
 * as <run>/model) copied into a new folder (as TensorFlow.js layers plain TensorFlow.js knows, see
 * portable-model.ts, or as one ONNX file the engine emits) with labels.json (class names in output order),
 * preprocessing.json (exactly what the engine does to an image before the network sees it) and a
 * README.txt, so it loads with tf.loadLayersModel or ONNX Runtime in a browser or Node without this app.
 * Built in a temporary folder and renamed into place (atomic.ts): complete or not at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExportResult } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import { readModelFolder, readWeightData, type ModelFolder } from '../../shared/node/model-folder';
import { modelErrorToStudio } from '../models/library';
import type { ProjectStore } from '../store/project-store';
import { describedVersions, PREPROCESSING, upscalesInFloats } from '../../shared/preprocessing';
import { parseRunRecord, RunRecordError, type RunRecord } from '../../shared/run-record';
import type { Engine } from '../engine/protocol';
import { buildFolderAtomic } from '../../shared/node/atomic-write';
import { portableArtifacts, portableRewrites } from './portable-model';

/** What an export needs of the run record (run.json). */
type RunFacts = Pick<RunRecord, 'classNames' | 'inputSize' | 'scaling' | 'preprocess' | 'preprocessing'>;

function readRunFacts(runDir: string, runId: number): RunRecord {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, 'run.json'), 'utf8');
  } catch {
    throw new StudioError('bad_input', `Run ${runId} has no saved model (run.json is missing or unreadable in ${runDir}).`, 'runId');
  }
  try {
    return parseRunRecord(text);
  } catch (e) {
    if (e instanceof RunRecordError) throw new StudioError('bad_input', `Run ${runId}'s record cannot be used: ${e.message}`, 'runId');
    throw e;
  }
}

/** The normalisation of one channel as a formula (pixel in 0..255). */
function channelFormula(mean: number, std: number): string {
  if (std === 1) return mean === 0 ? 'x = pixel' : `x = pixel - ${mean}`;
  return mean === std ? `x = pixel / ${std} - 1` : `x = (pixel - ${mean}) / ${std}`;
}

/**
 * preprocessing.json: engine/preprocess.ts (loadModelInput) in words and numbers. Tied to
 * the preprocessing version: when the engine's preprocessing changes, this must be brought along.
 */
export function preprocessingSpec(facts: RunFacts): Record<string, unknown> {
  const known = describedVersions(facts.preprocessing);
  if (!known.includes(facts.preprocess)) throw new StudioError('internal', `This version cannot describe the preprocessing "${facts.preprocess}" of the run (it knows ${known.join(' and ')}).`);
  const p = PREPROCESSING[facts.preprocessing];
  const formulas = p.mean.map((m, c) => channelFormula(m, p.std[c]!));
  return {
    version: facts.preprocess,
    mode: p.mode,
    description: p.description,
    inputShape: [null, facts.inputSize, facts.inputSize, 3],
    inputSize: facts.inputSize,
    layout: 'NHWC',
    dtype: 'float32',
    channelOrder: p.channelOrder,
    colourspace: 'sRGB',
    exifOrientation: 'applied (the image is rotated upright first)',
    resize: {
      fit: 'cover',
      position: 'centre',
      kernel: 'bilinear',
      description: `centre crop to a square, then resize to ${facts.inputSize}x${facts.inputSize}`,
      // p2 onwards: small images are upscaled by the engine itself, in floats (preprocess.ts).
      ...(!upscalesInFloats(facts.preprocess)
        ? {}
        : {
            reduce: `an image whose shorter side is longer than ${facts.inputSize}: libvips (sharp) resize with fit cover, position centre, kernel linear, to 8-bit pixels`,
            upscale: {
              when: `the shorter side is at most ${facts.inputSize}`,
              crop: 'the centre square, at whole-pixel offsets: left = floor((width - side) / 2), top = floor((height - side) / 2)',
              interpolation: 'bilinear with half-pixel centres, source coordinates clamped to the square, values kept as floats (not rounded)',
              equivalents: 'TensorFlow tf.image.resize(method="bilinear", antialias=False); PyTorch F.interpolate(mode="bilinear", align_corners=False)',
            },
          }),
    },
    greyscale: 'the grey channel is repeated as R, G and B',
    alpha: 'dropped (not blended onto a background)',
    mean: p.mean,
    std: p.std,
    scaling: facts.scaling,
    formula: new Set(formulas).size === 1
      ? `${formulas[0]}   (pixel in 0..255, each channel, ${p.channelOrder} order)`
      : `per channel in ${p.channelOrder} order: ${formulas.map((f, c) => `${p.channelOrder[c]}: ${f}`).join('; ')}   (pixel in 0..255)`,
    output: 'softmax probabilities, one per class, in the order of labels.json',
  };
}

function readme(facts: RunFacts, runId: number, format: 'tfjs' | 'onnx'): string {
  const p = PREPROCESSING[facts.preprocessing];
  const order = p.channelOrder === 'BGR' ? '[2, 1, 0]' : '[0, 1, 2]';
  const s = facts.inputSize;
  const input = [
    `Input: [batch, ${s}, ${s}, 3] float32 (NHWC), ${p.description},`,
    'after a centre square crop and a bilinear resize (see preprocessing.json). Output: class probabilities.',
    ...(!upscalesInFloats(facts.preprocess)
      ? []
      : [`An image whose shorter side is at most ${s} (28x28 digits, say) is upscaled as preprocessing.json's resize.upscale says`, '(TensorFlow\'s tf.image.resize bilinear does the same); the sharp line below is for larger images.']),
    '',
  ];
  const pixels = [
    `  const px = await sharp('image.jpg').rotate().resize(${s}, ${s}, { fit: 'cover', kernel: 'linear' }).toColourspace('srgb').removeAlpha().raw().toBuffer();`,
    `  const mean = ${JSON.stringify(p.mean)}, std = ${JSON.stringify(p.std)}, order = ${order}; // channel order ${p.channelOrder}`,
    '  const x = Float32Array.from(px, (_, i) => (px[i - (i % 3) + order[i % 3]] - mean[i % 3]) / std[i % 3]);',
  ];
  if (format === 'onnx')
    return [
      `Transfer Studio model export (run ${runId}): an ONNX model.`,
      '',
      '  model.onnx                 the classifier (pretrained part up to the cut, and the trained head), BatchNorm folded',
      '  labels.json                class names, in the order of the model\'s outputs',
      '  preprocessing.json         how to turn an image into the input tensor',
      '',
      ...input,
      'The input is named "input", the output "output" [batch, classes].',
      '',
      'Loading it in Node (npm i onnxruntime-node sharp; onnxruntime-web, Python onnxruntime and others read the same file):',
      '',
      "  const session = await ort.InferenceSession.create('/path/to/this/folder/model.onnx');",
      "  const labels = JSON.parse(fs.readFileSync('/path/to/this/folder/labels.json', 'utf8'));",
      ...pixels,
      `  const { output } = await session.run({ input: new ort.Tensor('float32', x, [1, ${s}, ${s}, 3]) });`,
      '  const p = Array.from(output.data);',
      '  console.log(labels[p.indexOf(Math.max(...p))]);',
      '',
    ].join('\n');
  return [
    `Transfer Studio model export (run ${runId}): a TensorFlow.js LayersModel.`,
    '',
    '  model.json + weights.bin   the classifier (pretrained part up to the cut, and the trained head)',
    '  labels.json                class names, in the order of the model\'s outputs',
    '  preprocessing.json         how to turn an image into the input tensor',
    '',
    ...input,
    'Only layers TensorFlow.js itself knows: it needs no code of Transfer Studio.',
    'Loading it in Node (npm i @tensorflow/tfjs-node sharp; in a browser load model.json from its URL instead):',
    '',
    "  const model = await tf.loadLayersModel('file:///path/to/this/folder/model.json');",
    "  const labels = JSON.parse(fs.readFileSync('/path/to/this/folder/labels.json', 'utf8'));",
    ...pixels,
    `  const p = await model.predict(tf.tensor4d(x, [1, ${s}, ${s}, 3])).data();`,
    '  console.log(labels[p.indexOf(Math.max(...p))]);',
    '',
  ].join('\n');
}

/** The files of the model itself, written into `tmp`; returns how many. */
type WriteModel = (tmp: string) => Promise<number>;

/** The saved classifier as plain TensorFlow.js: copied, or rewritten where it holds a layer only this app registers. */
function tfjsWriter(folder: ModelFolder, ctx: JobContext, total: number): WriteModel {
  const topology = folder.modelJson['modelTopology'] as Record<string, unknown>;
  if (!portableRewrites(topology).length) {
    const files = ['model.json', ...folder.shards.map((s) => s.path)];
    return async (tmp) => {
      for (let i = 0; i < files.length; i++) {
        ctx.throwIfCancelled();
        const dest = path.join(tmp, files[i]!);
        await fs.promises.mkdir(path.dirname(dest), { recursive: true });
        await fs.promises.copyFile(path.join(folder.dir, files[i]!), dest);
        ctx.progress(i + 1, total, 'Copying the model');
      }
      return files.length;
    };
  }
  return async (tmp) => {
    const specs = folder.manifest.flatMap((g) => g.weights);
    const portable = portableArtifacts(topology, specs, new Uint8Array(await readWeightData(folder)));
    const modelJson = { ...folder.modelJson, modelTopology: portable.topology, weightsManifest: [{ paths: ['weights.bin'], weights: portable.specs }] };
    await fs.promises.writeFile(path.join(tmp, 'weights.bin'), portable.data);
    await fs.promises.writeFile(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
    ctx.progress(2, total, `Wrote the model (${portable.rewritten.join(', ')} as standard Rescaling layers)`);
    return 2;
  };
}

/**
 * Writes a run's classifier with its labels, preprocessing and README into a new or empty folder
 * `target`: as a TensorFlow.js folder, or with `engine` as one ONNX file (the engine emits it).
 */
export async function exportModel(store: ProjectStore, run: { id: number; state: string }, ctx: JobContext, target: string, engine?: Engine): Promise<ExportResult> {
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
  const preprocessing = preprocessingSpec(facts);
  const total = (engine ? 1 : 1 + folder.shards.length) + 3;
  const write: WriteModel = engine
    ? async (tmp) => {
        ctx.progress(0, total, 'Writing the ONNX model');
        await engine.call('exportOnnx', { runDir, out: path.join(tmp, 'model.onnx') }, { signal: ctx.signal });
        return 1;
      }
    : tfjsWriter(folder, ctx, total);
  let written = 0;
  await buildFolderAtomic(target, async (tmp) => {
    written = (await write(tmp)) + 3;
    ctx.throwIfCancelled();
    await fs.promises.writeFile(path.join(tmp, 'labels.json'), JSON.stringify(facts.classNames, null, 2) + '\n');
    await fs.promises.writeFile(path.join(tmp, 'preprocessing.json'), JSON.stringify(preprocessing, null, 2) + '\n');
    await fs.promises.writeFile(path.join(tmp, 'README.txt'), readme(facts, run.id, engine ? 'onnx' : 'tfjs'));
    ctx.progress(written, written, 'Model exported');
    ctx.throwIfCancelled();
  }, { durable: true });
  return { kind: engine ? 'onnx' : 'model', files: [target], rows: written, runId: run.id, labels: facts.classNames };
}
