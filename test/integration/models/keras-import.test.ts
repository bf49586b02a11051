/**
 * Keras files from disk, written here in Keras' exact layout (test/fixtures/keras.ts, h5wasm's
 * writer), installed by the model library and built by the engine's loader: a Keras 2 model.save
 * .h5 and a Keras 3 .keras whose weights are known (checked value by value, and predictions), a
 * weights-only .h5 of every catalog architecture (seeded weights, mapped by name, features
 * computed), the real MobileNet v1 saved in Keras layout and imported back (same ImageNet
 * predictions on the photos), and every bad file with its own message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLibrary } from '../../../src/main/models/library';
import { initBackend } from '../../../src/main/engine/backend';
import { buildArchitecture } from '../../../src/main/engine/keras/architectures';
import { inspectModel, loadLayersModel } from '../../../src/main/engine/model-layers';
import { foldedForward } from '../../../src/main/engine/frozen-forward';
import { loadModelInput } from '../../../src/main/engine/preprocess';
import { classify } from '../../../src/main/engine/classify';
import { keras2Topology, layerSpecs, seedWeights, writeKeras3, writeModelH5, writeWeightsH5, type LayerSpec } from '../../fixtures/keras';
import { IMAGENET_CLASSES, MODEL_025, PHOTOS } from '../../fixtures/assets';

const dirs: string[] = [];
const tmp = (prefix = 'ts-keras-'): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' }); // the engine's backend (WASM with threads): a VGG16 forward on the plain CPU backend takes minutes
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A small functional model with every kind of weight: conv kernel and bias, BatchNorm's four, dense. */
function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'input_1' });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out, name: 'small' });
  seedWeights(m, 7);
  return m;
}

/** Every weight of `got` equals the same-named layer's weight of `want`, value by value. */
function expectSameWeights(got: tf.LayersModel, want: tf.LayersModel): void {
  let checked = 0;
  for (const layer of want.layers.filter((l) => l.weights.length > 0)) {
    const other = got.getLayer(layer.name);
    layer.weights.forEach((w, i) => {
      // Bit for bit (a byte comparison: deep equality on millions of numbers takes minutes).
      const a = other.weights[i]!.read().dataSync() as Float32Array;
      const b = w.read().dataSync() as Float32Array;
      expect(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${layer.name} weight ${i}`).toBe(0);
      checked++;
    });
  }
  expect(checked).toBeGreaterThan(0);
}

const probe = (seed: number, size = 8): tf.Tensor4D => tf.randomUniform([2, size, size, 3], -1, 1, 'float32', seed) as tf.Tensor4D;

describe('Keras files from disk', () => {
  it('a Keras 2 model.save .h5: the topology from model_config, every weight as written, the same outputs', async () => {
    const model = smallModel();
    const file = path.join(tmp(), 'small.h5');
    await writeModelH5(file, keras2Topology(model), layerSpecs(model));
    const library = new ModelLibrary(tmp('ts-keras-home-'));
    const meta = await library.importPath(file);
    expect(meta).toMatchObject({ id: 'small', format: 'keras-h5', file: 'model.h5', preprocessing: 'tf', source: 'import' });
    const loaded = await loadLayersModel(library.dirOf('small'));
    expectSameWeights(loaded.model, model);
    const x = probe(1);
    expect(Array.from((loaded.model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
  });

  it('a Keras 3 .keras archive: config.json and layers/<class>/vars weights, the same outputs', async () => {
    const model = smallModel();
    const dir = tmp();
    const file = path.join(dir, 'small3.keras');
    await writeKeras3(file, model, path.join(dir, 'weights.h5'));
    const library = new ModelLibrary(tmp('ts-keras-home-'));
    const meta = await library.importPath(file, { preprocessing: 'raw' });
    expect(meta).toMatchObject({ id: 'small3', format: 'keras-v3', file: 'model.weights.h5', preprocessing: 'raw' });
    expect(fs.readdirSync(library.dirOf('small3')).sort()).toEqual(['config.json', 'model.weights.h5', 'studio-model.json']);
    const loaded = await loadLayersModel(library.dirOf('small3'));
    expect(loaded.preprocessing).toBe('raw');
    expectSameWeights(loaded.model, model);
    const x = probe(2);
    expect(Array.from((loaded.model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
  });

  for (const [arch, top] of [
    ['mobilenet_v2', false],
    ['efficientnetb0', true],
    ['resnet50', false],
    ['vgg16', false],
  ] as const) {
    it(`a weights-only ${arch}${top ? '' : ' (no top)'} .h5: matched to the architecture, loaded by name, its features computed`, async () => {
      const source = buildArchitecture(arch, { includeTop: top, init: 'zeros' });
      seedWeights(source, 11);
      const dir = tmp();
      const file = path.join(dir, `my_${arch}.h5`);
      await writeWeightsH5(file, layerSpecs(source));
      const library = new ModelLibrary(tmp('ts-keras-home-'));
      const meta = await library.importPath(file);
      expect(meta).toMatchObject({ format: 'keras-weights', architecture: arch, includeTop: top, file: 'weights.h5' });
      const loaded = await loadLayersModel(library.dirOf(meta.id));
      expect(loaded.model.countParams()).toBe(source.countParams());
      expectSameWeights(loaded.model, source);
      // Scenario 1's features: the default cut, pooled, on a real photo in the family's preprocessing.
      const cut = inspectModel(loaded).defaultCutLayer;
      const forward = foldedForward(loaded.model, cut, { pool: 'avg' });
      const img = await loadModelInput(path.join(PHOTOS, 'chelsea.png'), 224, loaded.preprocessing);
      const x = tf.tensor4d(img, [1, 224, 224, 3]);
      const got = forward.run(x).dataSync();
      const reference = tf.model({ inputs: source.inputs, outputs: source.getLayer(cut).output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
      const want = (reference.rank === 4 ? tf.mean(reference, [1, 2]) : reference).dataSync();
      expect(got.length).toBe(want.length);
      const scale = Math.max(...Array.from(want, Math.abs));
      Array.from(got).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-4 * scale + 1e-5));
      forward.dispose();
      loaded.model.dispose();
      source.dispose();
    }, 400_000);
  }

  it('MobileNet v1 (real weights) saved in Keras layout and imported back gives the same ImageNet predictions on the photos', async () => {
    const original = await loadLayersModel(MODEL_025);
    const file = path.join(tmp(), 'mobilenet_v1_025.h5');
    await writeModelH5(file, keras2Topology(original.model), layerSpecs(original.model));
    const library = new ModelLibrary(tmp('ts-keras-home-'));
    const meta = await library.importPath(file, { id: 'mnv1_keras' });
    expect(meta.format).toBe('keras-h5');
    const photos = fs.readdirSync(PHOTOS).filter((f) => /\.(png|jpg)$/.test(f)).map((f) => path.join(PHOTOS, f));
    const labels = IMAGENET_CLASSES;
    const want = await classify(MODEL_025, photos, 3, labels);
    const got = await classify(library.dirOf('mnv1_keras'), photos, 3, labels);
    expect(got.map((r) => r.top.map((t) => t.label))).toEqual(want.map((r) => r.top.map((t) => t.label)));
    got.forEach((r, i) => r.top.forEach((t, k) => expect(t.probability).toBeCloseTo(want[i]!.top[k]!.probability, 5)));
    expect(got.find((r) => r.path.endsWith('coffee.png'))?.top[0]?.label).toBe('espresso');
  });
});

describe('bad Keras files get their own message', () => {
  const library = () => new ModelLibrary(tmp('ts-keras-home-'));

  it('a truncated HDF5 file', async () => {
    const model = smallModel();
    const file = path.join(tmp(), 'cut.h5');
    await writeModelH5(file, keras2Topology(model), layerSpecs(model));
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    await expect(library().importPath(file)).rejects.toMatchObject({ code: 'bad_model', message: expect.stringMatching(/cut\.h5 is a truncated HDF5 file \(\d+ bytes of the \d+ it declares\)/) });
  });

  it('a file that is not HDF5', async () => {
    const file = path.join(tmp(), 'notes.h5');
    fs.writeFileSync(file, 'these are not weights\n'.repeat(100));
    await expect(library().importPath(file)).rejects.toMatchObject({ code: 'bad_model', message: expect.stringContaining('notes.h5 is not an HDF5 file') });
  });

  it('a model with a layer the studio cannot run, named', async () => {
    const model = smallModel();
    const topology = keras2Topology(model);
    const layers = (topology['config'] as { layers: Record<string, unknown>[] }).layers;
    layers.splice(2, 0, { class_name: 'Lambda', name: 'my_lambda', config: { name: 'my_lambda', function: 'x * 2' }, inbound_nodes: [[['conv', 0, 0, {}]]] });
    const file = path.join(tmp(), 'lambda.h5');
    await writeModelH5(file, topology, layerSpecs(model));
    await expect(library().importPath(file)).rejects.toMatchObject({ code: 'bad_model', message: expect.stringContaining('my_lambda (Lambda)') });
  });

  it('weights that match no architecture', async () => {
    const file = path.join(tmp(), 'mystery_weights.h5');
    await writeWeightsH5(file, layerSpecs(smallModel()));
    await expect(library().importPath(file)).rejects.toMatchObject({ code: 'bad_model', message: expect.stringMatching(/mystery_weights\.h5 holds weights only .*\(conv, bn, out\) match no architecture/) });
  });

  it("a file under Keras' published name whose md5 is not the one Keras pins", async () => {
    const source = buildArchitecture('efficientnetb0', { includeTop: false, init: 'zeros' });
    seedWeights(source, 3);
    const file = path.join(tmp(), 'efficientnetb0_notop.h5');
    await writeWeightsH5(file, layerSpecs(source));
    source.dispose();
    await expect(library().importPath(file)).rejects.toMatchObject({ code: 'bad_model', message: expect.stringContaining('Keras pins 50bc09e76180e00e4465e1a485ddc09d') });
  });

  it('a weights file missing a layer, with a wrong-shaped weight, or with an extra layer: the engine names the layer', async () => {
    const source = buildArchitecture('mobilenet_v2', { includeTop: false, init: 'zeros' });
    const specs = layerSpecs(source);
    source.dispose();
    const variants: [string, (s: LayerSpec[]) => LayerSpec[], RegExp][] = [
      ['missing', (s) => s.filter((l) => l.name !== 'block_5_project'), /the layer "block_5_project" \(Conv2D: kernel \[1, 1, 192, 32\]\) has no weights in weights\.h5/],
      ['shape', (s) => s.map((l) => (l.name === 'Conv1' ? { ...l, weights: [{ ...l.weights[0]!, shape: [3, 3, 3, 16], values: new Float32Array(432) }] } : l)), /the layer "Conv1" expects kernel of shape \[3, 3, 3, 32\] but weights\.h5 holds \[3, 3, 3, 16\]/],
      ['extra', (s) => [...s, { name: 'mystery_dense', className: 'Dense', weights: [{ name: 'mystery_dense/kernel:0', shape: [2, 2], values: new Float32Array(4) }] }], /weights\.h5 has weights for a layer "mystery_dense" the model does not have/],
    ];
    for (const [what, change, message] of variants) {
      const file = path.join(tmp(), `${what}.h5`);
      await writeWeightsH5(file, change(specs));
      const lib = library();
      const meta = await lib.importPath(file); // the host recognises MobileNetV2 by its layer names...
      await expect(loadLayersModel(lib.dirOf(meta.id)), what).rejects.toMatchObject({ code: 'MODEL_WEIGHTS_MISMATCH', message: expect.stringMatching(message) }); // ...the engine checks every weight
    }
  });
});
