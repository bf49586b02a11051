/**
 * The weights of a Keras file, per layer, in each layer's own order, read lazily from HDF5:
 *  - Keras 2 layout (save_weights .h5, and model_weights of a model.save .h5): `layer_names` lists
 *    the layers, each layer's group lists its weights in `weight_names` (datasets at those paths);
 *  - Keras 3 layout (model.weights.h5 of a .keras): layers/<snake_case class>[_n]/vars/<i>, the n-th
 *    layer of a class in the order of the config's layers (keras/src/saving/saving_lib.py), since
 *    Keras 3 addresses layers by class, not by their (auto-generated) names.
 * A nested model's weights are listed under it as "<inner layer>/<weight>". Pure Node (h5wasm).
 */
import type { Group } from 'h5wasm/node';
import { ModelError } from '../../../shared/model-errors';
import { childDataset, childGroup, readFloats, stringListAttr } from '../../../shared/node/h5';
import type { KerasConfigLayer } from '../../../shared/keras-architectures';

export interface FileWeight {
  /** The weight's name in the file (Keras 2 weight name, or "<i>" in Keras 3). */
  name: string;
  shape: number[];
  read(): Float32Array;
}

/** Layer name -> its weights in order; only layers that hold weights. */
export type FileWeights = Map<string, FileWeight[]>;

function dataset(g: Group, name: string, where: string): FileWeight {
  const d = childDataset(g, name);
  if (!d) throw new ModelError('MODEL_WEIGHTS_MISMATCH', `${where} names the weight "${name}" but holds no such dataset: the file is damaged.`, { weight: name });
  return { name, shape: d.shape ?? [], read: () => readFloats(d, `${where}/${name}`).values };
}

/** Keras 2 layout under `root` (the file, or its model_weights group). */
export function legacyWeights(root: Group, file: string): FileWeights {
  const out: FileWeights = new Map();
  const names = stringListAttr(root, 'layer_names');
  if (names === null) throw new ModelError('MODEL_NOT_KERAS', `${file} has no layer_names attribute: it is not a Keras weights file.`, { file });
  for (const layer of names) {
    const g = childGroup(root, layer);
    if (!g) throw new ModelError('MODEL_WEIGHTS_MISMATCH', `${file} lists the layer "${layer}" but has no group for it: the file is damaged.`, { file, layer });
    const weights = (stringListAttr(g, 'weight_names') ?? []).map((w) => dataset(g, w, `${file}: ${layer}`));
    if (weights.length > 0) out.set(layer, weights);
  }
  return out;
}

/** keras.src.utils.naming.to_snake_case. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

const CONTAINERS = new Set(['Functional', 'Model', 'Sequential']);

function layersOf(config: Record<string, unknown>): KerasConfigLayer[] {
  const inner = config['config'];
  const list = inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>)['layers'] : Array.isArray(inner) ? inner : [];
  return Array.isArray(list) ? (list as KerasConfigLayer[]) : [];
}

/** The vars of one layer group in index order ("0", "1", ...). */
function vars(g: Group | null, where: string): FileWeight[] {
  const v = g ? childGroup(g, 'vars') : null;
  if (!v) return [];
  return v
    .keys()
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => dataset(v, k, where));
}

/** Keras 3 layout: `config` is the model's config (config.json), `root` the HDF5 group of the model. */
export function v3Weights(root: Group, config: Record<string, unknown>, file: string): FileWeights {
  const out: FileWeights = new Map();
  const used = new Map<string, number>();
  const layers = childGroup(root, 'layers');
  for (const l of layersOf(config)) {
    const base = toSnakeCase(l.class_name);
    const n = used.has(base) ? used.get(base)! + 1 : 0;
    used.set(base, n);
    const key = n === 0 ? base : `${base}_${n}`;
    const name = String(l.config?.['name'] ?? l.name ?? key);
    const g = layers ? childGroup(layers, key) : null;
    if (CONTAINERS.has(l.class_name)) {
      // A nested model: its own layers, flattened as "<inner>/<i>".
      if (!g) continue;
      const inner = v3Weights(g, l as unknown as Record<string, unknown>, file);
      const flat = [...inner.entries()].flatMap(([innerName, ws]) => ws.map((w) => ({ ...w, name: `${innerName}/${w.name}` })));
      if (flat.length > 0) out.set(name, flat);
      continue;
    }
    const ws = vars(g, `${file}: layers/${key}`);
    if (ws.length > 0) out.set(name, ws);
  }
  return out;
}
