/**
 * A saved classifier made loadable by plain TensorFlow.js (no code of this app registered): Keras'
 * Normalization layer (EfficientNet's stem), which the engine registers itself and TensorFlow.js
 * lacks, becomes the standard Rescaling layer with the same per-channel arithmetic
 * (scale = 1 / max(sqrt(variance), 1e-7), offset = -mean * scale), and its weights (mean,
 * variance, count) leave the weights manifest. Pure JSON and bytes: the host does it at export
 * time, so runs saved before this existed export the same way.
 */

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

type Json = Record<string, unknown>;

/** Keras' backend.epsilon(), the floor of the standard deviation (as keras/normalization.ts). */
const EPSILON = 1e-7;
const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, bool: 1, float16: 2, int16: 2, int8: 1 };

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every layer entry of a topology, nested models included. */
function layerEntries(config: unknown): Json[] {
  if (!isObject(config)) return [];
  const layers = config['layers'];
  if (!Array.isArray(layers)) return [];
  return layers.filter(isObject).flatMap((l) => [l, ...layerEntries(l['config'])]);
}

function modelConfig(topology: Json): unknown {
  return isObject(topology['model_config']) ? topology['model_config']['config'] : topology['config'];
}

/** Layer names of classes plain TensorFlow.js cannot deserialize but this module can rewrite. */
export function portableRewrites(topology: Json): string[] {
  return layerEntries(modelConfig(topology)).flatMap((l) => (l['class_name'] === 'Normalization' && isObject(l['config']) ? [String(l['config']['name'])] : []));
}

/** The weights of `specs` as float arrays by name, with each spec's byte range. */
function locate(specs: WeightSpec[]): { spec: WeightSpec; start: number; end: number }[] {
  let at = 0;
  return specs.map((spec) => {
    const size = spec.shape.reduce((a, b) => a * b, 1) * (BYTES[spec.dtype] ?? 4);
    const r = { spec, start: at, end: at + size };
    at += size;
    return r;
  });
}

const asList = (v: unknown): number[] | null => (v == null ? null : (Array.isArray(v) ? v : [v]).map(Number));

/**
 * The topology, weight specs and weight bytes with every Normalization layer rewritten as Rescaling.
 * Throws (a plain Error naming the layer) when a layer cannot be rewritten exactly.
 */
export function portableArtifacts(topology: Json, specs: WeightSpec[], data: Uint8Array): { topology: Json; specs: WeightSpec[]; data: Uint8Array; rewritten: string[] } {
  const copy = structuredClone(topology);
  const ranges = locate(specs);
  const dropped = new Set<WeightSpec>();
  const rewritten: string[] = [];
  for (const layer of layerEntries(modelConfig(copy))) {
    if (layer['class_name'] !== 'Normalization' || !isObject(layer['config'])) continue;
    const c = layer['config'];
    const name = String(c['name']);
    const own = ranges.filter((r) => new RegExp(`(^|/)${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(mean|variance|count)(_\\d+)?$`).test(r.spec.name));
    const floats = (which: string): number[] | null => {
      const r = own.find((o) => new RegExp(`/${which}(_\\d+)?$`).test(o.spec.name));
      if (!r) return null;
      if (r.spec.dtype !== 'float32') throw new Error(`Normalization layer "${name}": its ${which} is ${r.spec.dtype}, not float32.`);
      return Array.from(new Float32Array(data.slice(r.start, r.end).buffer));
    };
    const mean = floats('mean') ?? asList(c['mean']);
    const variance = floats('variance') ?? asList(c['variance']);
    if (!mean || !variance) throw new Error(`Normalization layer "${name}" has neither weights nor a fixed mean and variance.`);
    const n = Math.max(mean.length, variance.length);
    const at = (v: number[], i: number) => (v.length === 1 ? v[0]! : v[i]!);
    const std = Array.from({ length: n }, (_, i) => Math.max(Math.sqrt(at(variance, i)), EPSILON));
    const m = Array.from({ length: n }, (_, i) => at(mean, i));
    // Float32 values, so the exported arithmetic is the engine's to the last bit of the constants.
    const f32 = (v: number[]) => Array.from(Float32Array.from(v));
    const invert = c['invert'] === true;
    layer['class_name'] = 'Rescaling';
    layer['config'] = {
      name,
      trainable: false,
      ...(c['dtype'] !== undefined ? { dtype: c['dtype'] } : {}),
      ...(c['batch_input_shape'] !== undefined ? { batch_input_shape: c['batch_input_shape'] } : {}),
      scale: f32(invert ? std : std.map((s) => 1 / s)),
      offset: f32(invert ? m : m.map((v, i) => -v / std[i]!)),
    };
    for (const r of own) dropped.add(r.spec);
    rewritten.push(name);
  }
  if (!dropped.size) return { topology: copy, specs, data, rewritten };
  const kept = ranges.filter((r) => !dropped.has(r.spec));
  const out = new Uint8Array(kept.reduce((a, r) => a + r.end - r.start, 0));
  let at = 0;
  for (const r of kept) {
    out.set(data.subarray(r.start, r.end), at);
    at += r.end - r.start;
  }
  return { topology: copy, specs: kept.map((r) => r.spec), data: out, rewritten };
}
