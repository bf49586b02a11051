/**
 * portable-model: a saved classifier holding Keras' Normalization (learnt statistics, fixed
 * statistics, inverted) becomes one with standard Rescaling layers and without those weights, that
 * TensorFlow.js loads and that computes the same outputs as the original.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Normalization } from '../../../src/main/engine/keras/normalization';
import { portableArtifacts, portableRewrites, type WeightSpec } from '../../../src/main/export/portable-model';

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

describe('portableArtifacts', () => {
  it('rewrites every Normalization as Rescaling with the same arithmetic and drops its weights', async () => {
    const input = tf.input({ shape: [4, 4, 3] });
    let x = new Normalization({ axis: -1, name: 'normalization' }).apply(input) as tf.SymbolicTensor;
    x = new Normalization({ axis: -1, name: 'fixed', mean: [1, 2, 3], variance: [4, 0.25, 9] }).apply(x) as tf.SymbolicTensor;
    x = new Normalization({ axis: -1, name: 'back', mean: [0.5, -1, 2], variance: [1, 4, 16], invert: true }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'conv' }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(x) as tf.SymbolicTensor });
    // Learnt statistics, not the initial zeros and ones.
    model.getLayer('normalization').setWeights([tf.tensor1d([100, 120, 90]), tf.tensor1d([2500, 900, 400]), tf.scalar(10)]);

    const art = await artifactsOf(model);
    const topology = art.modelTopology as Record<string, unknown>;
    expect(portableRewrites(topology)).toEqual(['normalization', 'fixed', 'back']);
    const p = portableArtifacts(topology, art.weightSpecs as WeightSpec[], new Uint8Array(art.weightData as ArrayBuffer));
    expect(p.rewritten).toEqual(['normalization', 'fixed', 'back']);
    expect(JSON.stringify(p.topology)).not.toContain('Normalization');
    expect(portableRewrites(p.topology)).toEqual([]);
    expect(p.specs.map((s) => s.name)).toEqual(['conv/kernel', 'conv/bias']);
    expect(p.data.byteLength).toBe((3 * 2 + 2) * 4);

    const loaded = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: p.topology, weightSpecs: p.specs, weightData: p.data.slice().buffer }));
    expect(loaded.layers.filter((l) => l.getClassName() === 'Rescaling').map((l) => l.name)).toEqual(['normalization', 'fixed', 'back']);
    const images = tf.randomUniform([2, 4, 4, 3], 0, 255, 'float32', 7);
    const want = (await (model.predict(images) as tf.Tensor).data()) as Float32Array;
    const got = (await (loaded.predict(images) as tf.Tensor).data()) as Float32Array;
    got.forEach((v, i) => expect(Math.abs(v - want[i]!), `output ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want[i]!))));
  });

  it('leaves a model without Normalization as it is', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, name: 'd' })] });
    const art = await artifactsOf(model);
    const data = new Uint8Array(art.weightData as ArrayBuffer);
    const p = portableArtifacts(art.modelTopology as Record<string, unknown>, art.weightSpecs as WeightSpec[], data);
    expect(p.rewritten).toEqual([]);
    expect(p.data).toBe(data);
  });
});
