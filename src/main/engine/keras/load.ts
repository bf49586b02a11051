/**
 * An installed Keras model (models/library.ts: the file as imported or downloaded, and
 * studio-model.json saying what it is) as a tf.LayersModel with its weights:
 *  - weights-only .h5: the catalog architecture's builder, weights by layer name;
 *  - Keras 2 .h5: the topology from its model_config attribute, weights from model_weights;
 *  - Keras 3 .keras (extracted): config.json translated to the Keras 2 form TensorFlow.js reads,
 *    weights from model.weights.h5 (Keras 3 layout).
 */
import path from 'node:path';
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../../shared/model-errors';
import { flattenModelTopology } from '../../../shared/flatten-topology';
import { childGroup, withH5 } from '../../../shared/node/h5';
import { modernResnetName, type KerasArchitecture } from '../../../shared/keras-architectures';
import { legacyWeights, v3Weights, type FileWeights } from './file-weights';
import { checkTopologySize } from '../../../shared/topology-size';
import { engineBudgetBytes } from '../../../shared/node/memory-budget';
import { buildArchitecture } from './architectures';
import { assignWeights } from './weights';
import './normalization';

export interface KerasModelMeta {
  format: 'keras-weights' | 'keras-h5' | 'keras-v3';
  /** The file in the model folder: weights.h5, model.h5, or model.weights.h5 (with config.json). */
  file: string;
  architecture?: KerasArchitecture;
  includeTop?: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Keras 3 tensor reference in a node's args: {class_name: '__keras_tensor__', config: {keras_history: [layer, node, index]}}. */
function kerasTensors(v: unknown, out: [string, number, number, Record<string, never>][] = []): [string, number, number, Record<string, never>][] {
  if (Array.isArray(v)) for (const x of v) kerasTensors(x, out);
  else if (isRecord(v)) {
    if (v['class_name'] === '__keras_tensor__' && isRecord(v['config']) && Array.isArray(v['config']['keras_history'])) {
      const [layer, node, index] = v['config']['keras_history'] as [string, number, number];
      out.push([layer, node, index, {}]);
    }
  }
  return out;
}

/** Keras 3 serialisation details TensorFlow.js (which reads Keras 2 configs) does not know. */
function layerConfigToKeras2(config: Record<string, unknown>): Record<string, unknown> {
  const c = { ...config };
  if (isRecord(c['dtype'])) {
    const policy = c['dtype']['config'];
    c['dtype'] = isRecord(policy) && typeof policy['name'] === 'string' ? policy['name'] : 'float32';
  }
  if (c['batch_shape'] !== undefined && c['batch_input_shape'] === undefined) {
    c['batch_input_shape'] = c['batch_shape'];
    delete c['batch_shape'];
  }
  if (c['activation'] === 'silu') c['activation'] = 'swish'; // Keras 3's name for swish
  return c;
}

/** config.json of a .keras archive as the Keras 2 topology tf.models.modelFromJSON reads. */
export function keras3ToKeras2(model: Record<string, unknown>): Record<string, unknown> {
  const inner = isRecord(model['config']) ? model['config'] : {};
  let layers = (Array.isArray(inner['layers']) ? inner['layers'] : []).filter(isRecord).map((l) => {
    const converted: Record<string, unknown> = {
      class_name: l['class_name'],
      name: l['name'] ?? (isRecord(l['config']) ? l['config']['name'] : undefined),
      config: layerConfigToKeras2(isRecord(l['config']) ? l['config'] : {}),
    };
    if (l['class_name'] === 'Functional' || l['class_name'] === 'Sequential') {
      converted['config'] = keras3ToKeras2(l)['config'];
    }
    if (Array.isArray(l['inbound_nodes'])) {
      converted['inbound_nodes'] = l['inbound_nodes'].map((node) => (isRecord(node) ? kerasTensors(node['args']) : node));
    }
    return converted;
  });
  const out: Record<string, unknown> = { ...inner, layers };
  if (model['class_name'] === 'Sequential' && layers[0]?.['class_name'] === 'InputLayer' && layers.length > 1) {
    // TensorFlow.js' Sequential takes its input shape from the first layer.
    const input = layers[0]!['config'] as Record<string, unknown>;
    layers = layers.slice(1);
    layers[0]!['config'] = { ...(layers[0]!['config'] as Record<string, unknown>), batch_input_shape: input['batch_input_shape'] };
    out['layers'] = layers;
  }
  return { class_name: model['class_name'] === 'Functional' ? 'Model' : model['class_name'], config: out };
}

/**
 * A topology is checked against its weights file's size and this engine's memory before it is
 * built (a Dense(500000000) in a 10 KB file would otherwise allocate 10 GB here).
 */
function checkSize(topology: Record<string, unknown>, file: string, weightsFile: string): void {
  checkTopologySize(topology, file, { bytesPresent: fs.statSync(weightsFile).size, budgetBytes: engineBudgetBytes(tf.getBackend()) });
}

async function fromTopology(topology: Record<string, unknown>, file: string): Promise<tf.LayersModel> {
  try {
    // Nested models (Sequential([base, head])) become one graph of their layers; the weights follow by name.
    return await tf.models.modelFromJSON({ modelTopology: flattenModelTopology(topology) } as tf.io.ModelJSON);
  } catch (e) {
    throw new ModelError('MODEL_LOAD_FAILED', `TensorFlow.js could not build the model of ${file}: ${(e as Error).message}`, { file });
  }
}

function translated(weights: FileWeights, arch: KerasArchitecture | undefined): FileWeights {
  if (arch !== 'resnet50') return weights;
  return new Map([...weights.entries()].map(([k, v]) => [modernResnetName(k), v]));
}

/** Builds the installed Keras model in `dir` described by `meta`, weights loaded and checked. */
export async function loadKerasModel(dir: string, meta: KerasModelMeta): Promise<tf.LayersModel> {
  const file = path.join(dir, meta.file);
  const source = path.basename(meta.file);
  if (meta.format === 'keras-weights') {
    if (!meta.architecture) throw new ModelError('MODEL_UNKNOWN_ARCHITECTURE', `The model in ${dir} is a weights file without an architecture.`, { dir });
    const model = buildArchitecture(meta.architecture, { includeTop: meta.includeTop === true, init: 'zeros' });
    try {
      await withH5(file, (f) => assignWeights(model, translated(legacyWeights(f, source), meta.architecture), source));
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }
  if (meta.format === 'keras-h5') {
    return withH5(file, async (f) => {
      const text = f.get_attribute('model_config', true);
      const topology = JSON.parse(typeof text === 'string' ? text : String(text)) as Record<string, unknown>;
      checkSize(topology, source, file);
      const model = await fromTopology(topology, source);
      const root = childGroup(f, 'model_weights');
      if (!root) throw new ModelError('MODEL_NOT_KERAS', `${source} has no model_weights group.`, { file });
      try {
        assignWeights(model, legacyWeights(root, source), source);
      } catch (e) {
        model.dispose();
        throw e;
      }
      return model;
    });
  }
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  checkSize(config, 'config.json', file); // before the conversion, which walks nested models too
  const model = await fromTopology(keras3ToKeras2(config), 'config.json');
  try {
    await withH5(file, (f) => assignWeights(model, v3Weights(f, config, source), source));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
