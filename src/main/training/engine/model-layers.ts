/**
 * Loading a validated folder into a tf.LayersModel, and layer introspection (name, class, output
 * shape, parameter count, sensible cut points). Imports TensorFlow.js: engine process only.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { PreprocessingMode } from '../../../shared/domain';
import { ModelError } from '../../models/errors';
import { folderIOHandler, readModelFolder } from '../../models/folder';
import { readInstalledMeta } from '../../models/library';
import type { LayerInfo, ModelInspection } from '../../models/types';
import { loadKerasModel } from './keras/load';

export type { LayerInfo, ModelInspection } from '../../models/types';

export interface LoadedModel {
  dir: string;
  name: string;
  /** Bytes of weights on disk (the shards, or the Keras file). */
  weightBytes: number;
  model: tf.LayersModel;
  /** How images become this network's input (the family's; [-1, 1] unless the model says otherwise). */
  preprocessing: PreprocessingMode;
}

/**
 * Loads a model folder: a TensorFlow.js LayersModel (validated first, then through a custom
 * IOHandler), or an installed Keras model (studio-model.json + the Keras file, keras/load.ts).
 */
export async function loadLayersModel(dir: string): Promise<LoadedModel> {
  const meta = readInstalledMeta(dir);
  if (meta && meta.format !== undefined && meta.format !== 'tfjs') {
    if (!meta.file) throw new ModelError('MODEL_JSON_INVALID', `The model in ${dir} does not say which Keras file it is (studio-model.json lacks "file").`, { dir });
    const model = await loadKerasModel(dir, { format: meta.format, file: meta.file, architecture: meta.architecture, includeTop: meta.includeTop });
    const weightBytes = fs.statSync(path.join(dir, meta.file)).size;
    return { dir, name: meta.name, weightBytes, model, preprocessing: meta.preprocessing ?? 'tf' };
  }
  const folder = await readModelFolder(dir);
  try {
    const model = await tf.loadLayersModel(folderIOHandler(folder));
    return { dir: folder.dir, name: folder.modelName, weightBytes: folder.weightBytes, model, preprocessing: meta?.preprocessing ?? 'tf' };
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
  // EfficientNet's squeeze-and-excitation pools inside a block: not a boundary.
  if (POOLING.has(cls)) return !/se_squeeze$/.test(layer.name);
  if (/^conv_pw_\d+_relu$/.test(layer.name)) return true;
  if (/^(block_?\d+_out|block\d+_pool|.*_block\d*_out)$/.test(layer.name)) return true;
  // MobileNetV2 and EfficientNet: a residual block's sum, and the last activation before pooling.
  if (/^(block_\d+_add|block\d[a-z]_add|out_relu|top_activation)$/.test(layer.name)) return true;
  return false;
}

export function inspectModel(loaded: LoadedModel): ModelInspection {
  const { model } = loaded;
  const layers: LayerInfo[] = model.layers.map((l, index) => ({
    index,
    name: l.name,
    className: l.getClassName(),
    outputShape: shapeOf(l),
    params: l.countParams(),
    cutPoint: isCutPoint(l),
  }));
  const pooling = layers.find((l) => POOLING.has(l.className) && l.cutPoint);
  const lastCut = [...layers].reverse().find((l) => l.cutPoint);
  const inputShape = (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? -1);
  const outputShape = (model.outputs[0]?.shape ?? []).slice(1).map((d) => d ?? -1);
  return {
    dir: loaded.dir,
    name: loaded.name,
    format: 'layers-model',
    inputShape,
    outputShape,
    params: model.countParams(),
    weightBytes: loaded.weightBytes,
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
