/**
 * Loading a validated folder into a tf.LayersModel, and layer introspection (name, class, output
 * shape, parameter count, sensible cut points). Imports TensorFlow.js: engine process only.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../models/errors';
import { folderIOHandler, readModelFolder, type ModelFolder } from '../../models/folder';
import type { LayerInfo, ModelInspection } from '../../models/types';

export type { LayerInfo, ModelInspection } from '../../models/types';

export interface LoadedModel {
  folder: ModelFolder;
  model: tf.LayersModel;
}

/** Validate the folder, then load it through a custom IOHandler. */
export async function loadLayersModel(dir: string): Promise<LoadedModel> {
  const folder = await readModelFolder(dir);
  try {
    const model = await tf.loadLayersModel(folderIOHandler(folder));
    return { folder, model };
  } catch (e) {
    throw new ModelError('MODEL_LOAD_FAILED', `TensorFlow.js could not build the model in ${dir}: ${(e as Error).message}`, { dir });
  }
}

function shapeOf(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape;
  const first = (Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
  return first.slice(1).map((d) => d ?? -1);
}

const POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

/** Block boundaries: global pooling, MobileNet v1's conv_pw_N_relu, and (other nets) activations that end a block. */
export function isCutPoint(layer: tf.layers.Layer): boolean {
  const cls = layer.getClassName();
  if (POOLING.has(cls)) return true;
  if (/^conv_pw_\d+_relu$/.test(layer.name)) return true;
  if (/^(block_?\d+_out|block\d+_pool|.*_block\d*_out)$/.test(layer.name)) return true;
  return false;
}

export function inspectModel(loaded: LoadedModel): ModelInspection {
  const { model, folder } = loaded;
  const layers: LayerInfo[] = model.layers.map((l, index) => ({
    index,
    name: l.name,
    className: l.getClassName(),
    outputShape: shapeOf(l),
    params: l.countParams(),
    cutPoint: isCutPoint(l),
  }));
  const pooling = layers.find((l) => POOLING.has(l.className));
  const lastCut = [...layers].reverse().find((l) => l.cutPoint);
  const inputShape = (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? -1);
  const outputShape = (model.outputs[0]?.shape ?? []).slice(1).map((d) => d ?? -1);
  return {
    dir: folder.dir,
    name: folder.modelName,
    format: 'layers-model',
    inputShape,
    outputShape,
    params: model.countParams(),
    weightBytes: folder.weightBytes,
    layers,
    defaultCutLayer: pooling?.name ?? lastCut?.name ?? layers[layers.length - 2]?.name ?? layers[0]?.name ?? '',
  };
}

export function requireLayer(model: tf.LayersModel, name: string): tf.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    throw new ModelError('LAYER_NOT_FOUND', `The model has no layer named "${name}".`, { layer: name });
  }
}
