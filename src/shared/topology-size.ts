/**
 * What a Keras topology declares, computed from the configuration alone before anything is built:
 * every layer's parameter count and output shape (shapes propagated from the inputs through each
 * layer's configuration), as TensorFlow.js would allocate them. A model file is then checked
 * against it: a file of 10 KB cannot hold the 2.5 billion weights of a declared Dense(500000000),
 * and a model past the engine's memory budget is refused with the layer named, instead of the
 * engine allocating gigabytes and being killed. Reads Keras 2 (model.json, model_config) and
 * Keras 3 (config.json) configurations. Unknown dimensions count as unknown, never as refusals.
 * Pure Node.
 */
import { ModelError } from './model-errors';

type Json = Record<string, unknown>;
/** A tensor's shape per sample (no batch dimension); null entries are unknown (variable) sizes. */
type Shape = (number | null)[];

/** Models inside models (Sequential in Functional in...): real ones nest two or three levels. */
export const MAX_MODEL_NESTING = 32;
/**
 * Layers in one model, nested ones included: the largest Keras Applications have about 1,000.
 * TensorFlow.js walks a model's graph recursively; a chain of 20,000 layers overflowed its stack.
 */
export const MAX_LAYERS = 5000;

export interface LayerSize {
  /** The layer's name, with the names of the models it sits in ("outer/inner/dense"). */
  path: string;
  className: string;
  params: number;
  /** Values one image produces at this layer's output, when every dimension is known. */
  outputElements: number | null;
}

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const CONTAINERS = new Set(['Functional', 'Model', 'Sequential']);
const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);
const known = (s: Shape | null): s is number[] => s !== null && s.every((d) => typeof d === 'number');

/** A model nested deeper than any real one (a config 100,000 levels deep would overflow the stack of every reader). */
export function tooDeep(file: string, at: string): never {
  const shown = at.length > 200 ? `${at.slice(0, 200)}...` : at;
  throw new ModelError('MODEL_TOO_LARGE', `${file} nests models (or layer wrappers) more than ${MAX_MODEL_NESTING} levels deep (at "${shown}"): refused.`, { file, at });
}

class Walk {
  readonly layers: LayerSize[] = [];
  constructor(readonly file: string) {}

  /** A size hyperparameter: a positive whole number, else the layer is refused naming it. */
  size(v: unknown, what: string, where: string, className: string): number {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 2 ** 31 - 1) return v;
    throw new ModelError('MODEL_TOO_LARGE', `${this.file}: the layer "${where}" (${className}) declares ${what} ${JSON.stringify(v)}, not a size (a whole number from 1 to ${2 ** 31 - 1}).`, { file: this.file, layer: where });
  }

  /** A declared input shape (batch first) as a per-sample shape. */
  declared(v: unknown, where: string, className: string, batchFirst = true): Shape | null {
    if (!Array.isArray(v)) return null;
    return v.slice(batchFirst ? 1 : 0).map((d) => (d === null || d === undefined ? null : this.size(d, 'an input dimension', where, className)));
  }

  record(path: string, className: string, params: number, out: Shape | null): void {
    this.layers.push({ path, className, params, outputElements: known(out) ? prod(out) : null });
  }

  /** A model (container) applied to `inputs`; records its layers, returns its output shapes. */
  model(model: Json, inputs: (Shape | null)[], within: string, depth: number): (Shape | null)[] {
    if (depth > MAX_MODEL_NESTING) tooDeep(this.file, within);
    const config = model['config'];
    const list = isRecord(config) ? config['layers'] : Array.isArray(config) ? config : undefined;
    const layers = (Array.isArray(list) ? list : []).filter(isRecord);
    return model['class_name'] === 'Sequential' ? this.sequential(layers, inputs[0] ?? null, within, depth) : this.functional(config, layers, inputs, within, depth);
  }

  private sequential(layers: Json[], input: Shape | null, within: string, depth: number): (Shape | null)[] {
    let shape = input;
    for (const l of layers) {
      const { name, className, config } = parts(l);
      const path = within ? `${within}/${name}` : name;
      const given = this.declared(config['batch_input_shape'] ?? config['batch_shape'], path, className);
      if (given) shape = given;
      if (className === 'InputLayer') continue;
      shape = this.layer(l, [shape], path, depth)[0] ?? null;
    }
    return [shape];
  }

  private functional(config: unknown, layers: Json[], inputs: (Shape | null)[], within: string, depth: number): (Shape | null)[] {
    const outputs = new Map<string, (Shape | null)[]>();
    const inputNames = refs(isRecord(config) ? config['input_layers'] : undefined).map((r) => r.layer);
    for (const l of layers) {
      const { name, className, config: c } = parts(l);
      const path = within ? `${within}/${name}` : name;
      if (className === 'InputLayer') {
        const given = inputs[inputNames.indexOf(name)] ?? null;
        outputs.set(`${name}#0`, [this.declared(c['batch_input_shape'] ?? c['batch_shape'], path, className) ?? given]);
        continue;
      }
      inboundNodes(l['inbound_nodes']).forEach((node, i) => {
        const ins = node.map((r) => outputs.get(`${r.layer}#${r.node}`)?.[r.tensor] ?? null);
        // A layer called twice (shared weights) holds its parameters once.
        outputs.set(`${name}#${i}`, i === 0 ? this.layer(l, ins, path, depth) : this.shapes(l, ins, path, depth));
      });
    }
    return refs(isRecord(config) ? config['output_layers'] : undefined).map((r) => outputs.get(`${r.layer}#${r.node}`)?.[r.tensor] ?? null);
  }

  /** A layer applied to `ins`: its parameters recorded, its output shapes returned. */
  layer(l: Json, ins: (Shape | null)[], path: string, depth: number): (Shape | null)[] {
    const { className } = parts(l);
    if (CONTAINERS.has(className)) return this.model(l, ins, path, depth + 1);
    const { params, out } = this.own(l, ins, path, depth);
    this.record(path, className, params, out[0] ?? null);
    return out;
  }

  /** Output shapes only (a shared layer's second call). */
  private shapes(l: Json, ins: (Shape | null)[], path: string, depth: number): (Shape | null)[] {
    if (CONTAINERS.has(parts(l).className)) return [null];
    return this.own(l, ins, path, depth).out;
  }

  /** Parameters and outputs of one (non-container) layer. */
  private own(l: Json, ins: (Shape | null)[], path: string, depth: number): { params: number; out: (Shape | null)[] } {
    const { className, config: c } = parts(l);
    const size = (key: string, fallback?: number): number => this.size(c[key] ?? fallback, key, path, className);
    const bias = c['use_bias'] !== false;
    const s = ins[0] ?? null;
    const last = s && s.length > 0 ? s[s.length - 1]! : null;
    switch (className) {
      case 'Dense': {
        const units = size('units');
        return { params: (last ?? 0) * units + (bias ? units : 0), out: [s ? [...s.slice(0, -1), units] : null] };
      }
      case 'Conv1D':
      case 'Conv2D':
      case 'Conv3D':
      case 'SeparableConv2D':
      case 'DepthwiseConv2D':
      case 'Conv2DTranspose':
      case 'Conv3DTranspose':
        return this.conv(className, c, s, path);
      case 'BatchNormalization':
      case 'LayerNormalization':
      case 'Normalization': {
        const axis = typeof c['axis'] === 'number' ? c['axis'] : -1;
        const ch = s ? (axis < 0 ? s[s.length + axis] : s[axis - 1]) ?? null : null;
        const per = className === 'BatchNormalization' ? 2 + (c['scale'] !== false ? 1 : 0) + (c['center'] !== false ? 1 : 0) : className === 'LayerNormalization' ? (c['scale'] !== false ? 1 : 0) + (c['center'] !== false ? 1 : 0) : 2;
        return { params: (ch ?? 0) * per + (className === 'Normalization' ? 1 : 0), out: [s] };
      }
      case 'Embedding': {
        const dim = size('output_dim');
        return { params: size('input_dim') * dim, out: [s ? [...s, dim] : null] };
      }
      case 'PReLU':
        return { params: s ? prod(s.map((d) => d ?? 1)) : 0, out: [s] };
      case 'SimpleRNN':
      case 'GRU':
      case 'LSTM': {
        const units = size('units');
        const gates = className === 'LSTM' ? 4 : className === 'GRU' ? 3 : 1;
        const biases = className === 'GRU' && c['reset_after'] !== false ? 2 : 1;
        const params = gates * ((last ?? 0) * units + units * units + (bias ? units * biases : 0));
        return { params, out: [s ? (c['return_sequences'] === true ? [s[0] ?? null, units] : [units]) : null] };
      }
      case 'Bidirectional':
      case 'TimeDistributed': {
        const inner = c['layer'];
        if (!isRecord(inner)) return { params: 0, out: [null] };
        if (depth + 1 > MAX_MODEL_NESTING) tooDeep(this.file, path);
        const sub = new Walk(this.file);
        const innerIn = className === 'TimeDistributed' ? (s ? s.slice(1) : null) : s;
        const innerOut = sub.layer(inner, [innerIn], `${path}/${parts(inner).name}`, depth + 1)[0] ?? null;
        const innerParams = sub.layers.reduce((a, x) => a + x.params, 0);
        if (className === 'TimeDistributed') return { params: innerParams, out: [s && innerOut ? [s[0] ?? null, ...innerOut] : null] };
        const concat = (c['merge_mode'] ?? 'concat') === 'concat';
        const out = innerOut && concat ? [...innerOut.slice(0, -1), innerOut[innerOut.length - 1] === null ? null : innerOut[innerOut.length - 1]! * 2] : innerOut;
        return { params: 2 * innerParams, out: [out] };
      }
      default:
        return { params: 0, out: [reshaped(className, c, ins, (v, what) => this.size(v, what, path, className))] };
    }
  }

  private conv(className: string, c: Json, s: Shape | null, path: string): { params: number; out: (Shape | null)[] } {
    const rank = /3D/.test(className) ? 3 : /1D/.test(className) ? 1 : 2;
    const list = (key: string, fallback: number): number[] => {
      const v = c[key] ?? fallback;
      const arr = Array.isArray(v) ? v : Array.from({ length: rank }, () => v);
      return arr.map((x) => this.size(x, key, path, className));
    };
    const kernel = list('kernel_size', 1);
    const strides = list('strides', 1);
    const dilation = list('dilation_rate', 1);
    const k = prod(kernel);
    const ch = s ? (c['data_format'] === 'channels_first' ? s[0] : s[s.length - 1]) ?? null : null;
    const inCh = ch ?? 0;
    const bias = c['use_bias'] !== false;
    const transpose = className.endsWith('Transpose');
    let params: number;
    let outCh: number;
    if (className === 'DepthwiseConv2D') {
      const dm = this.size(c['depth_multiplier'] ?? 1, 'depth_multiplier', path, className);
      outCh = inCh * dm;
      params = k * inCh * dm + (bias ? outCh : 0);
    } else {
      const filters = this.size(c['filters'], 'filters', path, className);
      outCh = filters;
      if (className === 'SeparableConv2D') {
        const dm = this.size(c['depth_multiplier'] ?? 1, 'depth_multiplier', path, className);
        params = k * inCh * dm + inCh * dm * filters + (bias ? filters : 0);
      } else {
        const groups = typeof c['groups'] === 'number' && c['groups'] > 0 ? c['groups'] : 1;
        params = (k * inCh * filters) / groups + (bias ? filters : 0);
      }
    }
    if (!s) return { params, out: [null] };
    const channelsFirst = c['data_format'] === 'channels_first';
    const spatial = channelsFirst ? s.slice(1) : s.slice(0, -1);
    const padding = c['padding'] === 'valid' ? 'valid' : 'same';
    const outSpatial = spatial.map((n, i) => {
      if (n === null) return null;
      const kk = kernel[i] ?? 1;
      const st = strides[i] ?? 1;
      if (transpose) return padding === 'valid' ? n * st + Math.max(kk - st, 0) : n * st;
      const eff = (kk - 1) * (dilation[i] ?? 1) + 1;
      return padding === 'valid' ? Math.max(0, Math.floor((n - eff) / st) + 1) : Math.ceil(n / st);
    });
    return { params, out: [channelsFirst ? [ch === null ? null : outCh, ...outSpatial] : [...outSpatial, ch === null ? null : outCh]] };
  }
}

/** Output shape of a layer without parameters (reshaping, pooling, merging), or its input's. */
function reshaped(className: string, c: Json, ins: (Shape | null)[], dim: (v: unknown, what: string) => number): Shape | null {
  const s = ins[0] ?? null;
  if (!s) return null;
  const channelsFirst = c['data_format'] === 'channels_first';
  const spatialOf = (shape: Shape): Shape => (channelsFirst ? shape.slice(1) : shape.slice(0, -1));
  const channels = channelsFirst ? s[0] ?? null : s[s.length - 1] ?? null;
  const withSpatial = (sp: Shape): Shape => (channelsFirst ? [channels, ...sp] : [...sp, channels]);
  const pairs = (v: unknown, rank: number, fallback: number): number[] => {
    const arr = Array.isArray(v) ? v : Array.from({ length: rank }, () => v ?? fallback);
    return arr.map((x) => (typeof x === 'number' ? x : fallback));
  };
  switch (className) {
    case 'Flatten':
      return [known(s) ? prod(s) : null];
    case 'Reshape': {
      const target = Array.isArray(c['target_shape']) ? (c['target_shape'] as unknown[]) : null;
      if (!target) return null;
      const dims = target.map((d) => (d === -1 ? -1 : dim(d, 'a target_shape dimension')));
      const rest = prod(dims.filter((d) => d !== -1));
      return dims.map((d) => (d === -1 ? (known(s) ? prod(s) / rest : null) : d));
    }
    case 'Permute': {
      const dims = Array.isArray(c['dims']) ? (c['dims'] as number[]) : [];
      return dims.map((d) => s[d - 1] ?? null);
    }
    case 'RepeatVector':
      return [dim(c['n'], 'n'), ...s];
    case 'Concatenate': {
      const axis = typeof c['axis'] === 'number' ? c['axis'] : -1;
      const i = axis < 0 ? s.length + axis : axis - 1;
      const total = ins.reduce<number | null>((a, x) => (a === null || !x || x[i] === null || x[i] === undefined ? null : a + x[i]!), 0);
      return s.map((d, j) => (j === i ? total : d));
    }
    case 'UpSampling2D': {
      const f = pairs(c['size'], 2, 2);
      return withSpatial(spatialOf(s).map((n, i) => (n === null ? null : n * (f[i] ?? 1))));
    }
    case 'ZeroPadding2D':
    case 'Cropping2D': {
      const v = c[className === 'ZeroPadding2D' ? 'padding' : 'cropping'];
      const amount = (i: number): number => {
        const p = Array.isArray(v) ? v[i] : v;
        return Array.isArray(p) ? p.reduce((a: number, b: unknown) => a + (typeof b === 'number' ? b : 0), 0) : typeof p === 'number' ? 2 * p : 0;
      };
      const sign = className === 'ZeroPadding2D' ? 1 : -1;
      return withSpatial(spatialOf(s).map((n, i) => (n === null ? null : Math.max(0, n + sign * amount(i)))));
    }
    case 'Resizing':
    case 'CenterCrop':
      return withSpatial([dim(c['height'], 'height'), dim(c['width'], 'width')]);
    case 'GlobalAveragePooling1D':
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling1D':
    case 'GlobalMaxPooling2D':
      return c['keepdims'] === true ? withSpatial(spatialOf(s).map(() => 1)) : [channels];
    default:
      if (/^(Max|Average)Pooling[123]D$/.test(className)) {
        const rank = Number(className.slice(-2, -1));
        const pool = pairs(c['pool_size'], rank, 2);
        const strides = c['strides'] === null || c['strides'] === undefined ? pool : pairs(c['strides'], rank, 1);
        const valid = c['padding'] !== 'same';
        return withSpatial(spatialOf(s).map((n, i) => (n === null ? null : valid ? Math.max(0, Math.floor((n - (pool[i] ?? 2)) / (strides[i] ?? 1)) + 1) : Math.ceil(n / (strides[i] ?? 1)))));
      }
      // Activations, dropout, noise, element-wise merges, rescaling: the input's shape.
      return s;
  }
}

function parts(l: Json): { name: string; className: string; config: Json } {
  const config = isRecord(l['config']) ? l['config'] : {};
  const name = typeof config['name'] === 'string' ? config['name'] : typeof l['name'] === 'string' ? l['name'] : '?';
  return { name, className: typeof l['class_name'] === 'string' ? l['class_name'] : '?', config };
}

interface Ref {
  layer: string;
  node: number;
  tensor: number;
}

const ref = (v: unknown): Ref | null =>
  Array.isArray(v) && typeof v[0] === 'string' ? { layer: v[0], node: typeof v[1] === 'number' ? v[1] : 0, tensor: typeof v[2] === 'number' ? v[2] : 0 } : null;

/** input_layers / output_layers: [name, node, tensor] or a list of them. */
function refs(v: unknown): Ref[] {
  if (!Array.isArray(v)) return [];
  const one = ref(v);
  return one ? [one] : v.map(ref).filter((r): r is Ref => r !== null);
}

/** Keras 3 tensors in a node's args: {class_name: '__keras_tensor__', config: {keras_history: [layer, node, index]}}. */
function kerasTensors(v: unknown, out: Ref[] = [], depth = 0): Ref[] {
  if (depth > 8) return out;
  if (Array.isArray(v)) for (const x of v) kerasTensors(x, out, depth + 1);
  else if (isRecord(v) && v['class_name'] === '__keras_tensor__' && isRecord(v['config'])) {
    const r = ref(v['config']['keras_history']);
    if (r) out.push(r);
  }
  return out;
}

/** A layer's inbound nodes as lists of inputs: Keras 2 ([[name, node, tensor, kwargs], ...]) or Keras 3 ({args, kwargs}). */
function inboundNodes(v: unknown): Ref[][] {
  if (!Array.isArray(v)) return [];
  return v.map((node) => (isRecord(node) ? kerasTensors(node['args']) : Array.isArray(node) ? node.map(ref).filter((r): r is Ref => r !== null) : []));
}

/**
 * Every layer of a Keras topology, nested models' layers included, with the path of models it
 * sits in; a model nested deeper than MAX_MODEL_NESTING is refused (`file` names it).
 */
export function configLayers(config: Json, within = '', depth = 0, file = 'The model'): { layer: { class_name: string; name?: string; config: Json }; path: string }[] {
  if (depth > MAX_MODEL_NESTING) tooDeep(file, within);
  const inner = config['config'];
  const list = isRecord(inner) ? inner['layers'] : Array.isArray(inner) ? inner : undefined;
  if (!Array.isArray(list)) return [];
  const out: ReturnType<typeof configLayers> = [];
  for (const l of list.filter(isRecord)) {
    const { name, className, config: c } = parts(l);
    const path = within ? `${within}/${name}` : name;
    out.push({ layer: { class_name: className, ...(typeof l['name'] === 'string' ? { name: l['name'] } : {}), config: c }, path });
    if (CONTAINERS.has(className)) out.push(...configLayers(l, path, depth + 1, file));
  }
  return out;
}

/** Every layer of a Keras model configuration with its parameters and output size, nested models' layers included. */
export function topologySize(model: Json, file: string): LayerSize[] {
  const walk = new Walk(file);
  walk.model(model, [], '', 0);
  return walk.layers;
}

const count = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'infinitely many');
const gb = (bytes: number): string => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`);

/**
 * Refuses a model with more than MAX_LAYERS layers, or whose topology declares more parameters than
 * `bytesPresent` (a file holds at least one byte per parameter, even quantized), or whose weights or one layer's output for one
 * image would not fit `budgetBytes`, naming the largest layer; returns the layers otherwise.
 */
export function checkTopologySize(model: Json, file: string, limits: { bytesPresent: number; budgetBytes: number }): LayerSize[] {
  const layers = topologySize(model, file);
  if (layers.length > MAX_LAYERS)
    throw new ModelError('MODEL_TOO_LARGE', `${file} declares ${count(layers.length)} layers, more than the ${count(MAX_LAYERS)} the studio builds.`, { file, layers: layers.length });
  const params = layers.reduce((a, l) => a + l.params, 0);
  const largest = layers.reduce<LayerSize | null>((a, l) => (a === null || l.params > a.params ? l : a), null);
  const named = largest ? ` (the layer "${largest.path}" (${largest.className}) alone declares ${count(largest.params)})` : '';
  const details = { file, layer: largest?.path, params };
  if (params > limits.bytesPresent)
    throw new ModelError(
      'MODEL_TOO_LARGE',
      `${file} declares ${count(params)} parameters${named}, but holds only ${count(limits.bytesPresent)} bytes of weights: a model's file holds at least a byte per parameter, so these weights are not in it. Refused before anything was allocated.`,
      details,
    );
  if (params * 4 > limits.budgetBytes)
    throw new ModelError('MODEL_TOO_LARGE', `${file} declares ${count(params)} parameters${named}: ${gb(params * 4)} as float32, more than the ${gb(limits.budgetBytes)} the engine may use.`, details);
  const widest = layers.reduce<LayerSize | null>((a, l) => ((l.outputElements ?? 0) > (a?.outputElements ?? 0) ? l : a), null);
  if (widest?.outputElements && widest.outputElements * 4 > limits.budgetBytes)
    throw new ModelError(
      'MODEL_TOO_LARGE',
      `${file}: the layer "${widest.path}" (${widest.className}) outputs ${count(widest.outputElements)} values for one image (${gb(widest.outputElements * 4)}), more than the ${gb(limits.budgetBytes)} the engine may use.`,
      { file, layer: widest.path },
    );
  return layers;
}
