/**
 * A run's files: a tf.LayersModel saved as TensorFlow.js files (model.json + one weights.bin) into
 * a folder, atomically (written to a temp sibling folder, then renamed into place), and the run
 * record (run.json) written and read.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildFolderAtomic, writeFileAtomic } from '../../shared/node/atomic-write';
import { folderIOHandler, readModelFolder } from '../../shared/node/model-folder';
import type { PreprocessingMode } from '../../shared/domain';
import { preprocessVersion, valueRange } from '../../shared/preprocessing';
import { parseRunRecord, RunRecordError, runRecordText, type RunRecord, type RunRecordFields } from '../../shared/run-record';
import { EngineJobError } from './job-error';
import type { TrainJob } from './protocol';

function toBytes(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (Array.isArray(data)) {
    const total = data.reduce((a, b) => a + b.byteLength, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const b of data) {
      out.set(new Uint8Array(b), o);
      o += b.byteLength;
    }
    return out;
  }
  return new Uint8Array(data);
}

/** Returns the absolute paths written. `extraFiles` (name -> text) land in the folder in the same rename. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, extraFiles: Record<string, string> = {}): Promise<string[]> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await buildFolderAtomic(dir, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const modelJson = {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: 'Transfer Studio',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        };
        await fs.writeFile(path.join(tmp, 'weights.bin'), toBytes(artifacts.weightData));
        await fs.writeFile(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    for (const [name, text] of Object.entries(extraFiles)) await fs.writeFile(path.join(tmp, name), text);
  }, { replace: 'any' });
  return [path.join(dir, 'model.json'), path.join(dir, 'weights.bin'), ...Object.keys(extraFiles).map((n) => path.join(dir, n))];
}

/**
 * The whole classifier as one LayersModel (what runDir/model holds and model export copies): the
 * network from its input to `cutLayer`, global average pooling when that output is 4-D, then the head.
 * Input: the image scaled as the network expects; output: class probabilities.
 */
export function classifierModel(network: tf.LayersModel, cutLayer: string, head: tf.LayersModel): tf.LayersModel {
  const cut = network.getLayer(cutLayer).output as tf.SymbolicTensor;
  const pooled = cut.shape.length === 4 ? (tf.layers.globalAveragePooling2d({ name: 'cut_pool' }).apply(cut) as tf.SymbolicTensor) : cut;
  return tf.model({ inputs: network.inputs, outputs: head.apply(pooled) as tf.SymbolicTensor, name: 'classifier' });
}

/** A model a run saved (runDir/model or runDir/head). */
export async function loadSavedModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(folderIOHandler(await readModelFolder(dir)));
}

/** The run record's fields every scenario fills alike: the job's model and classes, the model's preprocessing. */
export function recordOfJob(job: TrainJob, preprocessing: PreprocessingMode): Pick<RunRecordFields, 'modelId' | 'modelDir' | 'classNames' | 'scaling' | 'preprocessing' | 'preprocess'> {
  return { modelId: job.modelId, modelDir: path.resolve(job.modelDir), classNames: job.classNames, scaling: valueRange(preprocessing), preprocessing, preprocess: preprocessVersion(preprocessing) };
}

/** run.json beside the saved model (atomically): what prediction and export need to use the run. */
export async function writeRunRecord(runDir: string, record: RunRecordFields): Promise<string> {
  const file = path.join(runDir, 'run.json');
  await writeFileAtomic(file, runRecordText(record));
  return file;
}

/** The run record in runDir; a missing or unusable one is RUN_NOT_FOUND. */
export async function readRunRecord(runDir: string): Promise<RunRecord> {
  let text: string;
  try {
    text = await fs.readFile(path.join(runDir, 'run.json'), 'utf8');
  } catch {
    throw new EngineJobError('RUN_NOT_FOUND', `No trained model in ${runDir} (run.json is missing or unreadable).`);
  }
  try {
    return parseRunRecord(text);
  } catch (e) {
    if (e instanceof RunRecordError) throw new EngineJobError('RUN_NOT_FOUND', `The run in ${runDir} cannot be used: ${e.message}`);
    throw e;
  }
}

/**
 * Frees the weights of models a job built (a cloned network, a head). LayersModel.dispose() is not
 * enough: tfjs counts every symbolic call of a layer as a reference, so a head that was also applied
 * inside the whole classifier is not freed by disposing the head.
 */
export function disposeWeights(...models: tf.LayersModel[]): void {
  for (const w of new Set(models.flatMap((m) => m.weights))) {
    try {
      w.dispose();
    } catch {
      // shared by two of the models and freed already
    }
  }
}
