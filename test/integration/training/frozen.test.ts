/**
 * In-process TensorFlow.js (wasm, one thread so the test worker holds no pthreads): layer
 * introspection, and the folded + fused frozen part equals the plain layers model.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectModel, loadLayersModel, type LoadedModel } from '../../../src/main/engine/model-layers';
import { initBackend } from '../../../src/main/engine/backend';
import { foldedForward, layersForward } from '../../../src/main/engine/frozen-forward';
import { loadImage } from '../../../src/main/engine/preprocess';
import { MODEL_025, MODEL_075, PHOTOS } from '../../fixtures/assets';

const PHOTO_FILES = ['coffee.png', 'motorcycle_left.png', 'chelsea.png', 'fruits.jpg'];
let batch: tf.Tensor4D;

beforeAll(async () => {
  const info = await initBackend({ prefer: 'wasm', threads: 1 });
  expect(info.name).toBe('wasm');
  const imgs = await Promise.all(PHOTO_FILES.map((f) => loadImage(path.join(PHOTOS, f), 224)));
  const data = new Float32Array(imgs.length * 224 * 224 * 3);
  imgs.forEach((d, i) => data.set(d, i * 224 * 224 * 3));
  batch = tf.tensor4d(data, [imgs.length, 224, 224, 3]);
});

describe.each([
  ['0.25', MODEL_025, 256],
  ['0.75', MODEL_075, 768],
])('MobileNet v1 %s', (_alpha, dir, channels) => {
  let loaded: LoadedModel;
  beforeAll(async () => {
    loaded = await loadLayersModel(dir);
  });

  it('introspects layers, parameters and cut points', () => {
    const info = inspectModel(loaded);
    expect(info.layers).toHaveLength(88);
    expect(info.inputShape).toEqual([224, 224, 3]);
    expect(info.outputShape).toEqual([1000]);
    expect(info.defaultCutLayer).toBe('global_average_pooling2d_1');
    const cuts = info.layers.filter((l) => l.cutPoint).map((l) => l.name);
    expect(cuts).toEqual([...Array.from({ length: 13 }, (_, i) => `conv_pw_${i + 1}_relu`), 'global_average_pooling2d_1']);
    const pw13 = info.layers.find((l) => l.name === 'conv_pw_13_relu');
    expect(pw13?.outputShape).toEqual([7, 7, channels]);
    expect(info.layers.find((l) => l.name === 'conv1')?.params).toBe(3 * 3 * 3 * (channels / 32));
    expect(info.layers.reduce((a, l) => a + l.params, 0)).toBe(info.params);
  });

  it.each(['global_average_pooling2d_1', 'conv_pw_13_relu', 'conv_pw_5_relu', 'conv_dw_3_bn'])(
    'folded == layers model at %s',
    (cut) => {
      for (const pool of ['avg', 'none'] as const) {
        const folded = foldedForward(loaded.model, cut, { pool });
        const plain = layersForward(loaded.model, cut, { pool });
        expect(folded.kind).toBe('folded');
        expect(folded.outputShape).toEqual(plain.outputShape);
        const a = folded.run(batch);
        const b = plain.run(batch);
        const [diff, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? 1, tf.max(tf.abs(b)).dataSync()[0] ?? 0]);
        expect(scale).toBeGreaterThan(0.1);
        expect(diff / scale).toBeLessThan(1e-4);
        a.dispose();
        b.dispose();
        folded.dispose();
      }
    },
  );

  it('top-1 ImageNet class of the photos', () => {
    const top = tf.tidy(() => Array.from((tf.argMax(loaded.model.predict(batch) as tf.Tensor, -1).dataSync())));
    expect(top[0]).toBe(967); // espresso
    expect(top[1]).toBe(665); // moped
    expect(top[2]).toBeGreaterThanOrEqual(281); // a cat: tabby .. lynx
    expect(top[2]).toBeLessThanOrEqual(287);
    expect([950, 951]).toContain(top[3]); // orange / lemon
  });
});
