/**
 * Nested models flattened (models/flatten.ts) on the real Teachable Machine export's model.json and
 * on small hand-written topologies, and a Teachable Machine export recognised by its metadata.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flattenModelTopology, flattenTopology, hasNestedModel } from '../../../src/shared/flatten-topology';
import { readTeachable } from '../../../src/shared/node/teachable';
import { MODEL_025, TEACHABLE_MODEL } from '../../fixtures/assets';
import { removeTempDirs, tempDir } from '../helpers';

afterAll(removeTempDirs);

type Json = Record<string, unknown>;
type Layer = { class_name: string; name: string; config: Json; inbound_nodes: [string, number, number, Json][][] };
const layersOf = (t: Json): Layer[] => (t['config'] as { layers: Layer[] }).layers;
const topologyOf = (dir: string): Json => (JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { modelTopology: Json }).modelTopology;
const inputsOf = (l: Layer): string[] => l.inbound_nodes.flatMap((node) => node.map((r) => r[0]));

const dense = (name: string, units: number, extra: Json = {}): Json => ({ class_name: 'Dense', config: { name, units, ...extra } });

describe('flattenTopology', () => {
  it("inlines Teachable Machine's Sequential(Sequential(MobileNetV2 functional, pooling), head) keeping every inner name and edge", () => {
    const raw = topologyOf(TEACHABLE_MODEL);
    expect(hasNestedModel(raw)).toBe(true);
    const flat = flattenModelTopology(raw);
    expect(flat['class_name']).toBe('Model');
    expect(flat['keras_version']).toBe(raw['keras_version']);
    const layers = layersOf(flat);
    // 155 base layers (its InputLayer included), the pooling, the two Dense of the head.
    expect(layers).toHaveLength(158);
    expect(layers.some((l) => ['Sequential', 'Model', 'Functional'].includes(l.class_name))).toBe(false);
    expect(new Set(layers.map((l) => l.name)).size).toBe(158);
    const byName = new Map(layers.map((l) => [l.name, l]));
    expect(layers.filter((l) => l.class_name === 'Add').map((l) => l.name)).toEqual([2, 4, 5, 7, 8, 9, 11, 12, 14, 15].map((n) => `block_${n}_add`));
    expect(inputsOf(byName.get('block_2_add')!).sort()).toEqual(['block_1_project_BN', 'block_2_project_BN']);
    expect(inputsOf(byName.get('Conv1_pad')!)).toEqual(['input_1']);
    expect(inputsOf(byName.get('global_average_pooling2d_GlobalAveragePooling2D2')!)).toEqual(['out_relu']);
    expect(inputsOf(byName.get('dense_Dense3')!)).toEqual(['global_average_pooling2d_GlobalAveragePooling2D2']);
    const config = flat['config'] as Json;
    expect(config['input_layers']).toEqual([['input_1', 0, 0]]);
    expect(config['output_layers']).toEqual([['dense_Dense4', 0, 0]]);
    expect(config['name']).toBe('sequential_8');
    // Every weight of the manifest belongs to a layer of the flat model under its own name.
    const manifest = (JSON.parse(fs.readFileSync(path.join(TEACHABLE_MODEL, 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string }[] }[] }).weightsManifest;
    for (const w of manifest.flatMap((g) => g.weights)) expect(byName.has(w.name.split('/')[0]!), w.name).toBe(true);
  });

  it('gives a Sequential without an InputLayer one from its first layer, and a functional model called inside a functional one', () => {
    const inner = {
      class_name: 'Functional',
      name: 'base',
      config: {
        name: 'base',
        layers: [
          { class_name: 'InputLayer', name: 'img', config: { name: 'img', batch_input_shape: [null, 4] }, inbound_nodes: [] },
          { class_name: 'Dense', name: 'a', config: { name: 'a', units: 3 }, inbound_nodes: [[['img', 0, 0, {}]]] },
          { class_name: 'Dense', name: 'b', config: { name: 'b', units: 3 }, inbound_nodes: [[['img', 0, 0, {}]]] },
          { class_name: 'Add', name: 'sum', config: { name: 'sum' }, inbound_nodes: [[['a', 0, 0, {}], ['b', 0, 0, {}]]] },
        ],
        input_layers: [['img', 0, 0]],
        output_layers: [['sum', 0, 0]],
      },
    };
    const seq = { class_name: 'Sequential', config: { name: 'outer', layers: [dense('pre', 4, { batch_input_shape: [null, 2] }), inner, dense('head', 2)] } };
    const layers = layersOf(flattenTopology(seq));
    expect(layers.map((l) => [l.name, inputsOf(l)])).toEqual([
      ['outer_input', []],
      ['pre', ['outer_input']],
      ['a', ['pre']],
      ['b', ['pre']],
      ['sum', ['a', 'b']],
      ['head', ['sum']],
    ]);
    expect(layers[0]!.config['batch_input_shape']).toEqual([null, 2]);
    expect(layers[1]!.config['batch_input_shape']).toBeUndefined();
  });

  it('leaves a plain model, a nested model used twice and clashing inner names as they are (they load nested, as before)', () => {
    const plain = topologyOf(MODEL_025);
    expect(flattenModelTopology(plain)).toBe(plain);
    const shared = {
      class_name: 'Model',
      config: {
        name: 'twice',
        layers: [
          { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 2] }, inbound_nodes: [] },
          { class_name: 'Sequential', name: 's', config: { name: 's', layers: [dense('d', 2, { batch_input_shape: [null, 2] })] }, inbound_nodes: [[['x', 0, 0, {}]], [['x', 0, 0, {}]]] },
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['s', 1, 0]],
      },
    };
    expect(flattenModelTopology(shared)).toBe(shared);
    const clash = { class_name: 'Sequential', config: { name: 'c', layers: [dense('d', 2, { batch_input_shape: [null, 2] }), { class_name: 'Sequential', config: { name: 'in', layers: [dense('d', 2)] } }] } };
    expect(flattenModelTopology(clash)).toBe(clash);
  });
});

describe('readTeachable', () => {
  it("reads the export's version and labels, and nothing from other folders or hostile metadata", () => {
    expect(readTeachable(TEACHABLE_MODEL)).toEqual({ version: '2.4.5', labels: ['노마스크', '마스크', '가위', '바위', '보'], modelName: 'tm-my-image-model' });
    expect(readTeachable(MODEL_025)).toBeNull();
    const dir = tempDir('ts-teachable-');
    for (const bad of ['{', '[]', '{"labels":["a"]}', '{"tmVersion":"2","labels":[1,2]}', 'null']) {
      fs.writeFileSync(path.join(dir, 'metadata.json'), bad);
      expect(readTeachable(dir), bad).toBeNull();
    }
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ tmVersion: '2.4.14', labels: [' a ', 'a', '', 'x'.repeat(101), 'b'] }));
    expect(readTeachable(dir)).toEqual({ version: '2.4.14', labels: ['a', 'b'] });
  });
});
