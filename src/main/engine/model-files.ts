/**
 * Saving a tf.LayersModel as TensorFlow.js files (model.json + one weights.bin) into a folder,
 * atomically: written to a temp sibling folder, then renamed into place.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildFolderAtomic, writeFileAtomic } from '../../shared/node/atomic-write';

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

/** run.json beside the saved model (atomically): what prediction and export need to use the run. */
export async function writeRunJson(runDir: string, data: Record<string, unknown>): Promise<string> {
  const file = path.join(runDir, 'run.json');
  await writeFileAtomic(file, JSON.stringify(data, null, 2));
  return file;
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
