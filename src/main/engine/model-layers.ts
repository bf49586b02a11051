/**
 * Loading a validated folder into a tf.LayersModel, and layer introspection (name, class, output
 * shape, parameter count, inbound layers, the block ends the graph can be cut at). Imports
 * TensorFlow.js: engine process only.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LayerInfo, ModelInspection, PreprocessingMode, TeachableInfo } from '../../shared/domain';
import { ModelError } from '../../shared/model-errors';
import { folderIOHandler, readModelFolder } from '../../shared/node/model-folder';
import { readInstalledMeta } from '../../shared/node/installed-model';
import { readTeachable, TEACHABLE_FEATURES_LAYER } from '../../shared/node/teachable';
import { engineBudgetBytes } from '../../shared/node/memory-budget';
import { tensorsFromOutputs } from './frozen/plan';
import { loadKerasModel } from './keras/load';
import { LayerGraph } from '../../shared/train-plan';

export interface LoadedModel {
  dir: string;
  name: string;
  /** Bytes of weights on disk (the shards, or the Keras file). */
  weightBytes: number;
  model: tf.LayersModel;
  /** How images become this network's input (the family's; [-1, 1] unless the model says otherwise). */
  preprocessing: PreprocessingMode;
  /** A Teachable Machine export: its head is trained on the export's own classes. */
  teachable?: TeachableInfo | null;
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
    return { dir, name: meta.name, weightBytes, model, preprocessing: meta.preprocessing ?? 'tf', teachable: null };
  }
  const folder = await readModelFolder(dir, { budgetBytes: engineBudgetBytes(tf.getBackend()) });
  try {
    const model = await tf.loadLayersModel(folderIOHandler(folder));
    return { dir: folder.dir, name: folder.modelName, weightBytes: folder.weightBytes, model, preprocessing: meta?.preprocessing ?? 'tf', teachable: readTeachable(dir) };
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

/**
 * Which block a layer ends, by the names the families give their layers, or null. Whether the
 * network can really be cut there (no skip connection around it) is the graph's to say (isCut).
 */
export function blockEnd(layer: tf.layers.Layer): string | null {
  const cls = layer.getClassName();
  const n = layer.name;
  // EfficientNet's squeeze-and-excitation pools inside a block: not a boundary.
  if (POOLING.has(cls)) return /se_squeeze$/.test(n) ? null : 'global pooling';
  let m: RegExpExecArray | null;
  if ((m = /^conv_pw_(\d+)_relu$/.exec(n))) return `block ${m[1]}`; // MobileNet v1
  if ((m = /^block(\d+)_pool$/.exec(n))) return `block ${m[1]}`; // VGG
  if ((m = /^conv(\d+)_block(\d+)_out$/.exec(n))) return `stage conv${m[1]}, block ${m[2]}`; // ResNet
  if ((m = /^(?:block_(\d+)_(?:add|project_BN)|expanded_conv_project_BN)$/.exec(n))) return `block ${m[1] ?? 0}`; // MobileNetV2
  if ((m = /^block(\d)([a-z])_(?:add|project_bn)$/.exec(n))) return `stage ${m[1]}, block ${m[1]}${m[2]}`; // EfficientNet
  if (/^(pool1_pool|Conv1_relu|stem_activation)$/.test(n)) return 'stem';
  if (/^(out_relu|top_activation|post_relu)$/.test(n)) return 'last convolution';
  if (/^(block_?\d+_out|.*_block\d*_out)$/.test(n)) return 'block';
  return null;
}

/** A generic block end for networks whose names the studio does not know: an activation, a merge or a pooling. */
const GENERIC_END = new Set(['Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Add', 'Concatenate', 'MaxPooling2D', 'AveragePooling2D']);

/**
 * The top-level layer graph of `model` (inbound layer names per layer), from its outputs back: a
 * nested model is one node, and a layer's nodes outside this model (a nested model's own) are not edges.
 */
function inboundNames(model: tf.LayersModel): Map<string, Set<string>> {
  const inbound = new Map<string, Set<string>>(model.layers.map((l) => [l.name, new Set<string>()]));
  for (const t of tensorsFromOutputs(model)) {
    // An InputLayer's node lists its own output as its input: it has no inbound layer.
    if (t.sourceLayer.getClassName() === 'InputLayer') continue;
    for (const x of t.sourceLayer.inboundNodes[t.nodeIndex]?.inputTensors ?? []) inbound.get(t.sourceLayer.name)?.add(x.sourceLayer.name);
  }
  return inbound;
}

/** Appends "(end of the stage)" to the last block of each stage ("stage X, block Y" labels). */
function markStageEnds(layers: LayerInfo[]): void {
  const last = new Map<string, LayerInfo>();
  for (const l of layers) {
    const stage = l.cutPoint ? /^stage ([^,]+),/.exec(l.block ?? '')?.[1] : undefined;
    if (stage) last.set(stage, l);
  }
  for (const l of last.values()) l.block = `${l.block} (end of the stage)`;
}

export function inspectModel(loaded: LoadedModel): ModelInspection {
  const { model } = loaded;
  const inbound = inboundNames(model);
  const layers: LayerInfo[] = model.layers.map((l, index) => ({
    index,
    name: l.name,
    className: l.getClassName(),
    outputShape: shapeOf(l),
    params: l.countParams(),
    cutPoint: false,
    inbound: [...(inbound.get(l.name) ?? [])],
  }));
  // Block ends the graph can be cut at: every path from the input to the output crosses them.
  const graph = new LayerGraph(layers);
  const output = model.outputLayers[0]?.name ?? layers[layers.length - 1]?.name ?? '';
  const named = model.layers.map((l) => blockEnd(l));
  const generic = !named.some((b, i) => b !== null && !POOLING.has(layers[i]!.className));
  layers.forEach((l, i) => {
    const block = named[i] ?? (generic && GENERIC_END.has(l.className) ? 'block' : null);
    if (block !== null && graph.isCut(l.name, output)) {
      l.cutPoint = true;
      l.block = block;
    }
  });
  markStageEnds(layers);
  const pooling = layers.find((l) => POOLING.has(l.className) && l.cutPoint);
  const lastCut = [...layers].reverse().find((l) => l.cutPoint);
  // A Teachable Machine export: the base's last convolution, the features its own head was trained on.
  const teachableCut = loaded.teachable ? layers.find((l) => l.name === TEACHABLE_FEATURES_LAYER && l.cutPoint) : undefined;
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
    ...(loaded.teachable ? { teachable: loaded.teachable } : {}),
    defaultCutLayer: teachableCut?.name ?? pooling?.name ?? lastCut?.name ?? layers[layers.length - 2]?.name ?? layers[0]?.name ?? '',
  };
}

export function requireLayer(model: tf.LayersModel, name: string): tf.layers.Layer {
  try {
    return model.getLayer(name);
  } catch {
    throw new ModelError('LAYER_NOT_FOUND', `The model has no layer named "${name}".`, { layer: name });
  }
}

export function pickCutLayer(loaded: LoadedModel, requested: string | undefined): string {
  if (requested) {
    requireLayer(loaded.model, requested);
    return requested;
  }
  return inspectModel(loaded).defaultCutLayer;
}
