/**
 * Puts a Keras file's weights into a tf.LayersModel by layer name (the weights of one layer by
 * position, as Keras itself loads them), and fails on any mismatch with a message naming the
 * layer: a layer the file lacks, a layer of the file the model lacks, a different number of
 * weights, a different shape. Nothing is assigned unless everything matches.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../../shared/model-errors';
import type { FileWeight, FileWeights } from './file-weights';

const shapeText = (s: readonly (number | null)[]): string => `[${s.join(', ')}]`;
const shortName = (w: tf.LayerVariable): string => w.originalName.split('/').slice(1).join('/') || w.originalName;

/** Layers that hold weights, nested models included as one entry each. */
const weighted = (layers: tf.layers.Layer[]): tf.layers.Layer[] => layers.filter((l) => l.weights.length > 0);

const isContainer = (l: tf.layers.Layer): l is tf.LayersModel => l instanceof tf.LayersModel;

/** Auto-named layers (normalization, rescaling_1...) may carry another counter in the file than in the model. */
function autoNamed(name: string, available: Map<string, FileWeight[]>): string | null {
  const base = name.replace(/_\d+$/, '');
  if (!/^[a-z][a-z0-9_]*$/.test(base)) return null;
  const candidates = [...available.keys()].filter((k) => k.replace(/_\d+$/, '') === base);
  return candidates.length === 1 ? candidates[0]! : null;
}

/** Groups a nested model's flattened weights ("inner/weight") by inner layer. */
function byInnerLayer(ws: FileWeight[]): FileWeights {
  const out: FileWeights = new Map();
  for (const w of ws) {
    const cut = w.name.indexOf('/');
    const inner = cut > 0 ? w.name.slice(0, cut) : w.name;
    const list = out.get(inner) ?? [];
    list.push({ ...w, name: cut > 0 ? w.name.slice(cut + 1) : w.name });
    out.set(inner, list);
  }
  return out;
}

/**
 * The file's weights for a model whose nested models were flattened (models/flatten.ts): a nested
 * model's entry ("inner/weight" names) becomes one entry per inner layer, at any depth.
 */
export function inlineNestedWeights(file: FileWeights, layerNames: ReadonlySet<string>): FileWeights {
  let out = file;
  for (let changed = true; changed; ) {
    changed = false;
    const next: FileWeights = new Map();
    for (const [key, ws] of out) {
      if (!layerNames.has(key) && ws.length > 0 && ws.every((w) => w.name.includes('/'))) {
        for (const [inner, iws] of byInnerLayer(ws)) next.set(inner, [...(next.get(inner) ?? []), ...iws]);
        changed = true;
      } else next.set(key, [...(next.get(key) ?? []), ...ws]);
    }
    out = next;
  }
  return out;
}

interface Pending {
  layer: tf.layers.Layer;
  weights: FileWeight[];
}

/** Pairs each weighted layer with its weights in `file` (into `out`), nested models included; the mismatches found. */
function matchWeights(layers: tf.layers.Layer[], file: FileWeights, source: string, where: string, out: Pending[]): string[] {
  const problems: string[] = [];
  const left = new Map(file);
  for (const layer of weighted(layers)) {
    const key = left.has(layer.name) ? layer.name : autoNamed(layer.name, left);
    const label = `${where}${layer.name}`;
    if (key === null) {
      problems.push(`the layer "${label}" (${layer.getClassName()}: ${layer.weights.map((w) => `${shortName(w)} ${shapeText(w.shape)}`).join(', ')}) has no weights in ${source}`);
      continue;
    }
    const ws = left.get(key)!;
    left.delete(key);
    if (isContainer(layer)) {
      problems.push(...matchWeights(layer.layers, byInnerLayer(ws), source, `${label}/`, out));
      continue;
    }
    if (ws.length !== layer.weights.length) {
      problems.push(`the layer "${label}" has ${layer.weights.length} weights (${layer.weights.map(shortName).join(', ')}) but ${source} holds ${ws.length} for it (${ws.map((w) => w.name).join(', ')})`);
      continue;
    }
    const bad = layer.weights.map((w, i) => ({ w, f: ws[i]! })).filter(({ w, f }) => shapeText(w.shape) !== shapeText(f.shape));
    if (bad.length > 0) {
      problems.push(...bad.map(({ w, f }) => `the layer "${label}" expects ${shortName(w)} of shape ${shapeText(w.shape)} but ${source} holds ${shapeText(f.shape)} (${f.name})`));
      continue;
    }
    out.push({ layer, weights: ws });
  }
  for (const extra of left.keys()) problems.push(`${source} has weights for a layer "${where}${extra}" the model does not have`);
  return problems;
}

/** Assigns `file` to `model` or throws MODEL_WEIGHTS_MISMATCH listing what does not match (up to 8 problems). */
export function assignWeights(model: tf.LayersModel, file: FileWeights, source: string): void {
  const pending: Pending[] = [];
  const problems = matchWeights(model.layers, inlineNestedWeights(file, new Set(model.layers.map((l) => l.name))), source, '', pending);
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join('; ');
    throw new ModelError('MODEL_WEIGHTS_MISMATCH', `The weights do not fit the model: ${shown}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}.`, {
      source,
      problems: problems.slice(0, 50),
    });
  }
  for (const { layer, weights } of pending) {
    const tensors = weights.map((w, i) => tf.tensor(w.read(), layer.weights[i]!.shape as number[], 'float32'));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}
