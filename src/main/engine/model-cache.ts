/**
 * The engine's loaded models, reused across calls (a few, the least recently used dropped), and
 * the input size a loaded network takes.
 */
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadLayersModel, type LoadedModel } from './model-layers';

/** Input side of a network that does not declare one. */
const INPUT_SIZE = 224;

/** Loaded models, reused across jobs (a few, least recently used dropped). */
const models = new Map<string, LoadedModel>();
export async function getModel(dir: string): Promise<LoadedModel> {
  const key = path.resolve(dir);
  const hit = models.get(key);
  if (hit) {
    models.delete(key);
    models.set(key, hit);
    return hit;
  }
  const loaded = await loadLayersModel(key);
  models.set(key, loaded);
  while (models.size > 2) {
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
