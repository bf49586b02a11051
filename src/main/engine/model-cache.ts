/**
 * The engine's loaded models, reused across calls (a few, the least recently used dropped), and
 * the input size a loaded network takes.
 */
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadLayersModel, type LoadedModel } from './model-layers';

/** Input side of a network that does not declare one. */
const INPUT_SIZE = 224;

/** Models kept loaded between calls; more may be loaded for a moment (see getModel). */
const KEEP = 2;
/** Loaded models by folder, least recently used first. */
const models = new Map<string, LoadedModel>();
/** Loads in progress, so that two calls asking for one folder share one load. */
const loading = new Map<string, Promise<LoadedModel>>();

/**
 * The model in `dir`, loaded once and reused. `evict: false` (calls answered beside a running
 * one) never drops a model, which the running call may be using; the next call that waits its
 * turn drops the least recently used down to KEEP.
 */
export async function getModel(dir: string, { evict = true }: { evict?: boolean } = {}): Promise<LoadedModel> {
  const key = path.resolve(dir);
  let loaded = models.get(key);
  if (!loaded) {
    let pending = loading.get(key);
    if (!pending) {
      pending = loadLayersModel(key).finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    loaded = await pending;
  }
  models.delete(key); // most recently used last
  models.set(key, loaded);
  while (evict && models.size > KEEP) {
    const [oldKey, old] = models.entries().next().value as [string, LoadedModel];
    old.model.dispose();
    models.delete(oldKey);
  }
  return loaded;
}

export function inputSizeOf(model: tf.LayersModel): number {
  const s = model.inputs[0]?.shape;
  return typeof s?.[1] === 'number' ? s[1] : INPUT_SIZE;
}
