/**
 * Models inside models, flattened: a Keras / TensorFlow.js topology whose layers include nested
 * Sequential or Functional models (Teachable Machine's Sequential(Sequential(MobileNetV2), head),
 * Keras' `Sequential([base, head])`) rewritten as one functional model of the inner layers, each
 * keeping its own name. Weights are stored under their layer's name ("Conv1/kernel"), so they load
 * unchanged, and every consumer (layer picker, advisor, plans, caches, exports) sees the real
 * layers and block ends. Pure data: no TensorFlow.js here.
 */
import { ModelError } from './model-errors';

type Json = Record<string, unknown>;
/** A tensor in the flat graph: [layer name, node index, tensor index]. */
type Ref = [string, number, number];

const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isContainer = (l: Json): boolean => typeof l['class_name'] === 'string' && CONTAINERS.has(l['class_name']);

function layersOf(config: unknown): Json[] {
  const list = isRecord(config) ? config['layers'] : config;
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

function nameOf(layer: Json): string {
  const config = isRecord(layer['config']) ? layer['config'] : {};
  const name = typeof layer['name'] === 'string' ? layer['name'] : config['name'];
  if (typeof name !== 'string' || name === '') throw new ModelError('MODEL_TOPOLOGY_MISSING', `A layer of class ${String(layer['class_name'])} has no name.`, {});
  return name;
}

/** The first non-model layer of a (nested) model: where its input shape is declared. */
function firstLeaf(layer: Json): Json {
  const first = isContainer(layer) ? layersOf(layer['config'])[0] : undefined;
  return first ? firstLeaf(first) : layer;
}

/** Whether a topology holds a nested model that flattening would inline. */
export function hasNestedModel(topology: Json): boolean {
  return layersOf(topology['config']).some(isContainer);
}

/** The [layer, node, tensor] references of one Keras inbound node ([[name, node, tensor, kwargs], ...]). */
function nodeRefs(node: unknown): Ref[] {
  if (!Array.isArray(node)) return [];
  return node.filter(Array.isArray).map((r) => [String(r[0]), Number(r[1] ?? 0), Number(r[2] ?? 0)]);
}

class Flattener {
  readonly layers: Json[] = [];
  private readonly names = new Set<string>();

  private emit(layer: Json): void {
    const name = nameOf(layer);
    if (this.names.has(name)) throw new ModelError('MODEL_TOPOLOGY_MISSING', `Two layers of the nested models are both named "${name}": the model cannot be flattened.`, { layer: name });
    this.names.add(name);
    this.layers.push(layer);
  }

  private plainLayer(layer: Json, inbound: Ref[][]): Ref[] {
    const name = nameOf(layer);
    const config: Json = { ...(isRecord(layer['config']) ? layer['config'] : {}), name };
    // An input shape on an inner layer is only meaningful as a Sequential's first layer.
    if (layer['class_name'] !== 'InputLayer') delete config['batch_input_shape'];
    this.emit({ class_name: layer['class_name'], name, config, inbound_nodes: inbound.map((refs) => refs.map(([l, n, t]) => [l, n, t, {}])) });
    return inbound.length === 0 ? [[name, 0, 0]] : inbound.map((_, node) => [name, node, 0] as Ref);
  }

  /** An InputLayer for a model that is not given its input (the outer model's first layer). */
  private inputFor(layer: Json, fallbackName: string): Ref {
    const config = isRecord(layer['config']) ? layer['config'] : {};
    const shape = config['batch_input_shape'] ?? config['batch_shape'];
    if (!Array.isArray(shape)) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The first layer "${nameOf(layer)}" of the Sequential model declares no input shape.`, { layer: nameOf(layer) });
    this.emit({ class_name: 'InputLayer', name: fallbackName, config: { batch_input_shape: shape, dtype: config['dtype'] ?? 'float32', sparse: false, name: fallbackName }, inbound_nodes: [] });
    return [fallbackName, 0, 0];
  }

  /** Inlines a (nested) model called on `inputs` (null: the outermost model, which makes its inputs); returns its outputs. */
  model(model: Json, inputs: Ref[] | null): Ref[] {
    return model['class_name'] === 'Sequential' ? this.sequential(model, inputs) : this.functional(model, inputs);
  }

  private sequential(model: Json, inputs: Ref[] | null): Ref[] {
    const layers = layersOf(model['config']);
    let current: Ref | undefined = inputs?.[0];
    for (const layer of layers) {
      if (layer['class_name'] === 'InputLayer') {
        current ??= this.plainLayer(layer, [])[0];
        continue;
      }
      if (!current) {
        const first = firstLeaf(layer);
        current = first['class_name'] === 'InputLayer' ? this.plainLayer(first, [])[0]! : this.inputFor(first, `${nameOf(model)}_input`);
      }
      const out: Ref[] = isContainer(layer) ? this.model(layer, [current]) : this.plainLayer(layer, [[current]]);
      current = out[0];
      if (!current) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The nested model "${nameOf(layer)}" has no output.`, { layer: nameOf(layer) });
    }
    if (!current) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The Sequential model "${nameOf(model)}" has no layers.`, {});
    return [current];
  }

  private functional(model: Json, inputs: Ref[] | null): Ref[] {
    const config = isRecord(model['config']) ? model['config'] : {};
    const inputLayers = (Array.isArray(config['input_layers']) ? config['input_layers'] : []).map((r) => nodeRefs([r])[0]!);
    const outputLayers = (Array.isArray(config['output_layers']) ? config['output_layers'] : []).map((r) => nodeRefs([r])[0]!);
    const map = new Map<string, Ref>();
    const key = (r: Ref) => `${r[0]}:${r[1]}:${r[2]}`;
    if (inputs) {
      if (inputs.length !== inputLayers.length) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The nested model "${nameOf(model)}" takes ${inputLayers.length} inputs but is given ${inputs.length}.`, {});
      inputLayers.forEach((r, i) => map.set(key(r), inputs[i]!));
    }
    for (const layer of layersOf(config)) {
      const name = nameOf(layer);
      if (layer['class_name'] === 'InputLayer') {
        if (!map.has(key([name, 0, 0]))) map.set(key([name, 0, 0]), this.plainLayer(layer, [])[0]!);
        continue;
      }
      const nodes = (Array.isArray(layer['inbound_nodes']) ? layer['inbound_nodes'] : []).map((node) =>
        nodeRefs(node).map((r) => {
          const mapped = map.get(key(r));
          if (!mapped) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The layer "${name}" of "${nameOf(model)}" takes "${r[0]}", which comes later or not at all.`, { layer: name });
          return mapped;
        }),
      );
      nodes.forEach((refs, node) => {
        if (isContainer(layer)) {
          if (nodes.length > 1) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The nested model "${name}" is used ${nodes.length} times: a shared model cannot be flattened.`, { layer: name });
          this.model(layer, refs).forEach((out, t) => map.set(key([name, node, t]), out));
        }
      });
      if (!isContainer(layer)) this.plainLayer(layer, nodes).forEach((out, node) => map.set(key([name, node, 0]), out));
    }
    return outputLayers.map((r) => {
      const out = map.get(key(r)) ?? (r[2] > 0 ? map.get(key([r[0], r[1], 0])) : undefined);
      if (!out) throw new ModelError('MODEL_TOPOLOGY_MISSING', `The output "${r[0]}" of "${nameOf(model)}" is not one of its layers.`, { layer: r[0] });
      return r[2] > 0 && !map.has(key(r)) ? ([out[0], out[1], r[2]] as Ref) : out;
    });
  }
}

/**
 * A topology (model_config or the topology itself) with its nested models inlined: class "Model"
 * (a functional model), the outer model's name, every inner layer under its own name. Returned
 * unchanged when there is nothing nested.
 */
export function flattenTopology(topology: Json): Json {
  if (!hasNestedModel(topology)) return topology;
  const f = new Flattener();
  const outputs = f.model(topology, null);
  const inputs = f.layers.filter((l) => l['class_name'] === 'InputLayer').map((l) => [nameOf(l), 0, 0]);
  const name = isRecord(topology['config']) && typeof topology['config']['name'] === 'string' ? topology['config']['name'] : 'model';
  return { class_name: 'Model', config: { name, layers: f.layers, input_layers: inputs, output_layers: outputs } };
}

/**
 * A model.json's modelTopology (with or without a model_config wrapper) with nested models inlined;
 * the same object when there is nothing to inline or it cannot be (a nested model used twice, two
 * inner layers of one name): such a model still loads, as before, with the nested model as one layer.
 */
export function flattenModelTopology(raw: Json): Json {
  const inner = isRecord(raw['model_config']) ? raw['model_config'] : raw;
  if (!hasNestedModel(inner)) return raw;
  try {
    const flat = flattenTopology(inner);
    return inner === raw ? { ...raw, ...flat } : { ...raw, model_config: flat };
  } catch (e) {
    if (e instanceof ModelError) return raw;
    throw e;
  }
}
