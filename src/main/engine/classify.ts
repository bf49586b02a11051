/** ImageNet classification with a pretrained model's own output (the photo test), or a run's exported classifier. */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readTeachable } from '../../shared/node/teachable';
import { getModel, inputSizeOf } from './model-cache';
import { loadModelInput } from './preprocess';
import type { ClassifyResult } from './protocol';

export async function readLabels(modelDir: string, labelsPath?: string): Promise<string[]> {
  // A Teachable Machine export's head knows the export's own classes, whatever lies beside it.
  const teachable = labelsPath ? null : readTeachable(modelDir);
  if (teachable) return teachable.labels;
  const candidates = labelsPath ? [labelsPath] : [path.join(modelDir, 'imagenet_classes.txt'), path.join(path.dirname(modelDir), 'imagenet_classes.txt')];
  for (const c of candidates) {
    try {
      return (await fs.readFile(c, 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean);
    } catch {
      // next candidate
    }
  }
  return [];
}

/** Top-k classes of the pretrained model's own output (ImageNet for the catalog models). */
export async function classify(modelDir: string, imagePaths: string[], topK = 5, labelsPath?: string): Promise<ClassifyResult[]> {
  const loaded = await getModel(modelDir);
  const size = inputSizeOf(loaded.model);
  const labels = await readLabels(modelDir, labelsPath);
  const out: ClassifyResult[] = [];
  for (let s = 0; s < imagePaths.length; s += 16) {
    const paths = imagePaths.slice(s, s + 16);
    const imgs = await Promise.all(paths.map((p) => loadModelInput(p, size, loaded.preprocessing)));
    const batch = new Float32Array(imgs.length * size * size * 3);
    imgs.forEach((d, i) => batch.set(d, i * size * size * 3));
    const probs = tf.tidy(() => tf.reshape(loaded.model.predict(tf.tensor4d(batch, [imgs.length, size, size, 3])) as tf.Tensor, [imgs.length, -1]));
    const values = (await probs.data()) as Float32Array;
    const k = probs.shape[1] ?? 0;
    probs.dispose();
    paths.forEach((p, i) => {
      const row = Array.from(values.subarray(i * k, (i + 1) * k));
      const top = row
        .map((probability, index) => ({ index, probability }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, topK)
        .map((t) => ({ ...t, label: labels[t.index] ?? String(t.index) }));
      out.push({ path: p, top });
    });
  }
  return out;
}
