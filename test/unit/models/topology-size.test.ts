/**
 * What a topology declares, from its configuration alone (models/topology-size.ts): the checks
 * hostile model files meet before anything is built. Sizes as TensorFlow.js builds them are
 * compared on real architectures in test/integration/models/topology-size.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkTopologySize, configLayers, MAX_MODEL_NESTING, topologySize } from '../../../src/shared/topology-size';

type Json = Record<string, unknown>;
const input = (name: string, shape: (number | null)[]): Json => ({ class_name: 'InputLayer', name, config: { name, batch_input_shape: [null, ...shape] }, inbound_nodes: [] });
const dense = (name: string, units: unknown, from: string): Json => ({ class_name: 'Dense', name, config: { name, units }, inbound_nodes: [[[from, 0, 0, {}]]] });
const functional = (layers: Json[], out: string): Json => ({ class_name: 'Model', config: { name: 'm', layers, input_layers: [['in', 0, 0]], output_layers: [[out, 0, 0]] } });
const roomy = { bytesPresent: 1e12, budgetBytes: 1e12 };

describe('topology sizes', () => {
  it('counts a shared layer once, and reads Keras 3 inbound nodes', () => {
    const shared = { class_name: 'Dense', name: 'd', config: { name: 'd', units: 3 }, inbound_nodes: [[['in', 0, 0, {}]], [['in', 0, 0, {}]]] };
    expect(topologySize(functional([input('in', [4]), shared], 'd'), 'f').map((l) => l.params)).toEqual([15]);
    const tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { keras_history: [layer, 0, 0] } });
    const k3 = { class_name: 'Dense', name: 'd', config: { name: 'd', units: 2 }, inbound_nodes: [{ args: [tensor('in')], kwargs: {} }] };
    expect(topologySize(functional([input('in', [5]), k3], 'd'), 'f')).toEqual([{ path: 'd', className: 'Dense', params: 12, outputElements: 2 }]);
  });

  it('refuses sizes that are not sizes, naming the layer', () => {
    for (const units of [-5, 0, 1.5, 1e300, '7', null]) {
      expect(() => topologySize(functional([input('in', [4]), dense('bad', units, 'in')], 'bad'), 'f.h5')).toThrow(/the layer "bad" \(Dense\) declares units/);
    }
  });

  it('refuses more parameters than bytes present, or than the budget, and an output wider than the budget', () => {
    const model = functional([input('in', [1000]), dense('big', 1000, 'in')], 'big');
    expect(() => checkTopologySize(model, 'f.h5', { bytesPresent: 1_000_999, budgetBytes: 1e12 })).toThrow(/declares 1,001,000 parameters.*"big" \(Dense\).*holds only 1,000,999 bytes/);
    expect(checkTopologySize(model, 'f.h5', { bytesPresent: 1_001_000, budgetBytes: 1e12 })).toHaveLength(1);
    expect(() => checkTopologySize(model, 'f.h5', { bytesPresent: 1e12, budgetBytes: 4_000_000 })).toThrow(/3\.8 MB as float32, more than the 3\.8 MB the engine may use/);
    const wide = functional([input('in', [100_000, 100_000, 3])], 'in');
    wide['config'] = { ...(wide['config'] as Json), layers: [input('in', [100_000, 100_000, 3]), { class_name: 'ReLU', name: 'r', config: { name: 'r' }, inbound_nodes: [[['in', 0, 0, {}]]] }], output_layers: [['r', 0, 0]] };
    expect(() => checkTopologySize(wide, 'f.h5', { bytesPresent: 1e12, budgetBytes: 3 * 1024 ** 3 })).toThrow(/"r" \(ReLU\) outputs 30,000,000,000 values for one image/);
  });

  it('refuses models nested deeper than the limit, in both walks, without overflowing the stack', () => {
    let model: Json = { class_name: 'Sequential', config: { name: 'leaf', layers: [{ class_name: 'Dense', config: { name: 'd', units: 1, batch_input_shape: [null, 1] } }] } };
    for (let i = 0; i < 10_000; i++) model = { class_name: 'Sequential', config: { name: 'm', layers: [model] } };
    expect(() => topologySize(model, 'deep.keras')).toThrow(new RegExp(`deep\\.keras nests models .*more than ${MAX_MODEL_NESTING} levels`));
    expect(() => configLayers(model, '', 0, 'deep.keras')).toThrow(/more than 32 levels/);
    expect(() => checkTopologySize(model, 'deep.keras', roomy)).toThrow(/levels deep/);
  });
});
