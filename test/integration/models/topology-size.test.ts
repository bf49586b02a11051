/**
 * The parameter counts and output sizes the studio computes from a topology alone
 * (models/topology-size.ts, what hostile files are checked against before anything is built)
 * against what TensorFlow.js builds from the same topology: every catalog architecture, the real
 * MobileNet v1 and Teachable Machine folders, and a Keras 3 config.json of a small model.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { buildArchitecture } from '../../../src/main/engine/keras/architectures';
import { KERAS_ARCHITECTURES } from '../../../src/shared/keras-architectures';
import { topologySize, type LayerSize } from '../../../src/shared/topology-size';
import { keras2Topology, keras3Config } from '../../fixtures/keras';
import { MODEL_025, TEACHABLE_MODEL } from '../../fixtures/assets';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** Every non-container layer of a tf model (nested models' layers included) by path. */
function tfLayers(model: tf.LayersModel, within = ''): Map<string, tf.layers.Layer> {
  const out = new Map<string, tf.layers.Layer>();
  for (const l of model.layers) {
    const p = within ? `${within}/${l.name}` : l.name;
    if (l instanceof tf.LayersModel) for (const [k, v] of tfLayers(l, p)) out.set(k, v);
    else out.set(p, l);
  }
  return out;
}

function expectSameSizes(sizes: LayerSize[], model: tf.LayersModel): void {
  const layers = tfLayers(model);
  expect(sizes.reduce((a, l) => a + l.params, 0)).toBe(model.countParams());
  for (const s of sizes) {
    const layer = layers.get(s.path);
    expect(layer, s.path).toBeDefined();
    expect(s.params, s.path).toBe(layer!.countParams());
    const shape = (Array.isArray(layer!.outputShape[0]) ? layer!.outputShape[0] : layer!.outputShape) as (number | null)[];
    const elements = shape.slice(1).every((d) => typeof d === 'number') ? shape.slice(1).reduce((a: number, b) => a * b!, 1) : null;
    expect(s.outputElements, s.path).toBe(elements);
  }
}

describe('topology sizes', () => {
  it.each(KERAS_ARCHITECTURES)('%s (no top): every layer as TensorFlow.js builds it', (arch) => {
    const model = buildArchitecture(arch, { includeTop: false, init: 'zeros' });
    try {
      expectSameSizes(topologySize(keras2Topology(model), arch), model);
    } finally {
      model.dispose();
    }
  });

  it.each([
    ['MobileNet v1 0.25', MODEL_025],
    ['Teachable Machine (a Sequential in a Sequential)', TEACHABLE_MODEL],
  ])('%s folder: as the loaded model', async (_name, dir) => {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { modelTopology: Record<string, unknown> };
    const topology = (json.modelTopology['model_config'] ?? json.modelTopology) as Record<string, unknown>;
    const model = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`).catch(() => tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON));
    try {
      expectSameSizes(topologySize(topology, dir), model);
    } finally {
      model.dispose();
    }
  });

  it('a Keras 3 config.json', () => {
    const input = tf.input({ shape: [12, 12, 3], name: 'input_1' });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', name: 'conv' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'sep' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten({ name: 'flat' }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, name: 'out' }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out, name: 'small' });
    try {
      expectSameSizes(topologySize(keras3Config(keras2Topology(model)), 'config.json'), model);
    } finally {
      model.dispose();
    }
  });
});
