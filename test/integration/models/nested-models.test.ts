/**
 * Models inside models, flattened at import: the real Teachable Machine export (Sequential holding a
 * Sequential holding MobileNetV2's functional graph, then its own head) installed as one functional
 * graph of its 158 real layers, MobileNetV2's block ends offered as cuts, out_relu as its default
 * features, and the same outputs as the nested original; a Keras 2 .h5 of Sequential([base, head])
 * with its weights found under the nested model's group.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLibrary } from '../../../src/main/models/library';
import { initBackend } from '../../../src/main/engine/backend';
import { inspectModel, loadLayersModel } from '../../../src/main/engine/model-layers';
import { keras2Topology, seedWeights, writeModelH5, type LayerSpec } from '../../fixtures/keras';
import { TEACHABLE_MODEL } from '../../fixtures/assets';
import { removeTempDirs, tempDir } from '../helpers';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});
afterAll(removeTempDirs);

/** The export exactly as written (nested), loaded from memory without the studio's reader. */
async function nestedOriginal(): Promise<tf.LayersModel> {
  const json = JSON.parse(fs.readFileSync(path.join(TEACHABLE_MODEL, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const data = fs.readFileSync(path.join(TEACHABLE_MODEL, 'weights.bin'));
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: new Uint8Array(data).buffer }));
}

describe('a Teachable Machine export', () => {
  it('installs flattened with its metadata, offers the block ends and out_relu, and predicts as the nested original', async () => {
    const library = new ModelLibrary(tempDir('ts-nested-home-'));
    const meta = await library.importPath(TEACHABLE_MODEL, { id: 'tm' });
    expect(meta).toMatchObject({ id: 'tm', layers: 158, teachable: { version: '2.4.5', labels: ['노마스크', '마스크', '가위', '바위', '보'] } });
    const dir = library.dirOf('tm');
    expect(fs.readdirSync(dir).sort()).toEqual(['metadata.json', 'model.json', 'studio-model.json', 'weights.bin']);
    expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).not.toMatch(/"class_name":"Sequential"/);
    expect(fs.readFileSync(path.join(dir, 'weights.bin')).equals(fs.readFileSync(path.join(TEACHABLE_MODEL, 'weights.bin')))).toBe(true);

    const loaded = await loadLayersModel(dir);
    expect(loaded.model.layers).toHaveLength(158);
    const inspection = inspectModel(loaded);
    expect(inspection.defaultCutLayer).toBe('out_relu');
    expect(inspection.teachable?.labels).toHaveLength(5);
    const cuts = inspection.layers.filter((l) => l.cutPoint).map((l) => l.name);
    // MobileNetV2's block ends: a block's projection where no skip connection goes around it, else its add.
    for (const end of ['expanded_conv_project_BN', 'block_1_project_BN', 'block_2_add', 'block_3_project_BN', 'block_5_add', 'block_12_add', 'block_16_project_BN', 'out_relu', 'global_average_pooling2d_GlobalAveragePooling2D2'])
      expect(cuts, end).toContain(end);
    // Inside a residual block nothing can be cut: the skip connection goes around it.
    expect(cuts).not.toContain('block_2_project_BN');
    expect(cuts).not.toContain('block_5_expand_relu');
    expect(inspection.params).toBe(538_808);

    const original = await nestedOriginal();
    expect(original.layers).toHaveLength(2);
    const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 5);
    const want = (original.predict(x) as tf.Tensor).dataSync();
    const got = (loaded.model.predict(x) as tf.Tensor).dataSync();
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
  }, 120_000);
});

describe('a Keras 2 .h5 of Sequential([base, head])', () => {
  it("flattens to the base's and the head's layers, with the weights of the nested model's group", async () => {
    const input = tf.input({ shape: [8, 8, 3], name: 'image' });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv' }).apply(input) as tf.SymbolicTensor;
    const y = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.add({ name: 'skip_add' }).apply([x, y]) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: 'relu' }).apply(x) as tf.SymbolicTensor;
    const base = tf.model({ inputs: input, outputs: x, name: 'base' });
    const model = tf.sequential({ name: 'classifier', layers: [base, tf.layers.globalAveragePooling2d({ name: 'gap' }), tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' })] });
    seedWeights(model, 9);
    // Keras 2's layout: the nested model is one group, its weights named "<inner layer>/<weight>:0".
    const specs: LayerSpec[] = model.layers.map((l) => ({
      name: l.name,
      className: l.getClassName(),
      weights: (l instanceof tf.LayersModel ? l.layers : [l]).flatMap((inner) =>
        inner.weights.map((w) => ({ name: `${inner.name}/${w.originalName.split('/').at(-1)}:0`, shape: [...w.shape] as number[], values: w.read().dataSync() as Float32Array })),
      ),
    }));
    const file = path.join(tempDir('ts-nested-keras-'), 'nested.h5');
    await writeModelH5(file, keras2Topology(model), specs);
    const library = new ModelLibrary(tempDir('ts-nested-home-'));
    await library.importPath(file);
    const loaded = await loadLayersModel(library.dirOf('nested'));
    expect(loaded.model.layers.map((l) => l.name)).toEqual(['image', 'conv', 'bn', 'skip_add', 'relu', 'gap', 'out']);
    expect(inspectModel(loaded).layers.filter((l) => l.cutPoint).map((l) => l.name)).toContain('skip_add');
    const probe = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 4);
    expect(Array.from((loaded.model.predict(probe) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(probe) as tf.Tensor).dataSync()));
  });
});
