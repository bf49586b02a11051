/**
 * A TensorFlow.js LayersModel folder on disk (model.json + weight shards): read and validate it
 * BEFORE TensorFlow.js sees it, so a broken folder gets a specific, typed error (which file, what
 * is wrong) instead of a stack trace from deep inside tfjs. Pure Node: no TensorFlow.js runtime
 * import, so the main process can validate an imported folder without loading the engine.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { ModelError } from '../model-errors';
import { flattenModelTopology } from '../flatten-topology';
import { checkUserFile, isInside, readUserFile, UserFileError } from './user-file';
import { checkTopologySize, configLayers } from '../topology-size';
import { engineBudgetBytes } from './memory-budget';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; [k: string]: unknown };
}

export interface WeightGroup {
  paths: string[];
  weights: WeightEntry[];
}

export interface KerasLayerConfig {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name?: string };
  inbound_nodes?: unknown[];
}

export interface ModelFolder {
  dir: string;
  /** The parsed model.json, nested models inlined (flatten.ts): what TensorFlow.js is given. */
  modelJson: Record<string, unknown>;
  /** Whether model.json held nested models that were inlined (an import writes the flat model.json). */
  flattened: boolean;
  /** Keras topology: model_config (or the topology itself when it is the config). */
  topology: Record<string, unknown>;
  modelClass: string;
  modelName: string;
  layers: KerasLayerConfig[];
  manifest: WeightGroup[];
  /** Every shard with its size on disk, in manifest order; `file`: its resolved path, inside the folder. */
  shards: { path: string; bytes: number; file: string }[];
  weightBytes: number;
  modelJsonBytes: number;
}

/** Layer classes TensorFlow.js layers (4.x) can deserialize; anything else is rejected up front. */
export const SUPPORTED_LAYER_CLASSES: ReadonlySet<string> = new Set([
  'InputLayer', 'Dense', 'Activation', 'Dropout', 'SpatialDropout1D', 'Flatten', 'Reshape', 'Permute',
  'RepeatVector', 'Masking', 'Embedding', 'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'Conv3DTranspose',
  'SeparableConv2D', 'DepthwiseConv2D', 'Cropping2D', 'UpSampling2D', 'ZeroPadding2D', 'BatchNormalization',
  'LayerNormalization', 'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D',
  'AveragePooling3D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D',
  'GlobalMaxPooling2D', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax', 'Add', 'Average',
  'Concatenate', 'Maximum', 'Minimum', 'Multiply', 'Subtract', 'Dot', 'GaussianNoise', 'GaussianDropout',
  'AlphaDropout', 'Rescaling', 'CenterCrop', 'Resizing', 'SimpleRNN', 'GRU', 'LSTM', 'Bidirectional',
  'TimeDistributed', 'Model', 'Functional', 'Sequential',
  // Built by the engine itself (engine/keras/normalization.ts): Keras' EfficientNet stem.
  'Normalization',
]);

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1 };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Bytes a manifest entry occupies in its shard (quantized weights are stored in their quantized dtype). */
export function entryBytes(w: WeightEntry): number {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const dtype = w.quantization?.dtype ?? w.dtype;
  const size = DTYPE_BYTES[dtype];
  if (size === undefined) {
    throw new ModelError('MODEL_MANIFEST_INVALID', `Weight "${w.name}" has an unsupported dtype "${dtype}".`, { weight: w.name, dtype });
  }
  return count * size;
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

/** model.json is text of a few MB at most (the weights are in the shards). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 ** 2;

/**
 * A file of the model folder refused as it is (a link leading out of the folder, a FIFO, a
 * device, a folder), naming the file: what a link leading out of the folder points at is never
 * read, so neither its size nor its bytes can reach a message.
 */
function refused(dir: string, name: string, err: UserFileError): ModelError {
  return new ModelError('MODEL_FILE_REFUSED', `The file "${name}" in the model folder ${dir} is refused: ${err.reason}. A model folder's files must be its own.`, { dir, file: name, reason: err.reason });
}

/**
 * Read and validate a LayersModel folder: model.json, topology, manifest, every shard and its size,
 * layer classes, and what the topology declares against the weights present and `budgetBytes`
 * (default: the largest budget of any engine backend).
 */
export async function readModelFolder(dir: string, options: { budgetBytes?: number } = {}): Promise<ModelFolder> {
  const dirStat = await statOrNull(dir);
  if (!dirStat?.isDirectory()) {
    throw new ModelError('MODEL_DIR_MISSING', `The model folder ${dir} does not exist or is not a folder.`, { dir });
  }
  const jsonPath = path.join(dir, 'model.json');
  const jsonStat = await fs.lstat(jsonPath).catch(() => null);
  if (!jsonStat) {
    throw new ModelError('MODEL_JSON_MISSING', `The model folder ${dir} has no model.json: a TensorFlow.js model folder holds model.json and its weight shards.`, { dir });
  }
  const text = await readUserFile(jsonPath, { root: dir, maxBytes: MAX_MODEL_JSON_BYTES }).then(
    (b) => b.toString('utf8'),
    (err: unknown) => {
      throw err instanceof UserFileError ? refused(dir, 'model.json', err) : err;
    },
  );
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(text);
  } catch (e) {
    throw new ModelError('MODEL_JSON_INVALID', `model.json in ${dir} is not valid JSON (${(e as Error).message}).`, { dir });
  }
  if (!isRecord(modelJson)) {
    throw new ModelError('MODEL_JSON_INVALID', `model.json in ${dir} is not a JSON object.`, { dir });
  }
  const givenTopology = modelJson['modelTopology'];
  // Nesting is bounded before anything walks it (flattening, the checks below): a model nested
  // 100,000 levels deep overflows every recursive reader.
  if (isRecord(givenTopology)) configLayers(isRecord(givenTopology['model_config']) ? givenTopology['model_config'] : givenTopology, '', 0, `The model in ${dir}`);
  const rawTopology = isRecord(givenTopology) ? flattenModelTopology(givenTopology) : givenTopology;
  const flattened = rawTopology !== givenTopology;
  const json: Record<string, unknown> = flattened ? { ...modelJson, modelTopology: rawTopology } : modelJson;
  const format = typeof modelJson['format'] === 'string' ? modelJson['format'] : undefined;
  if (format === 'graph-model' || (isRecord(rawTopology) && ('node' in rawTopology || 'library' in rawTopology))) {
    throw new ModelError(
      'MODEL_IS_GRAPH_MODEL',
      `The model in ${dir} is a TensorFlow.js GraphModel (a frozen TensorFlow graph, format "graph-model"), ` +
        'which cannot be cut into layers or trained. Use a Keras / TensorFlow.js LayersModel folder ' +
        '(model.json with a Keras "model_config", e.g. from tensorflowjs_converter --output_format tfjs_layers_model).',
      { dir, format: format ?? 'graph-model' },
    );
  }
  if (!isRecord(rawTopology)) {
    throw new ModelError('MODEL_TOPOLOGY_MISSING', `model.json in ${dir} has no model topology ("modelTopology" is ${rawTopology === null ? 'null' : 'absent'}): it holds weights only, and the layers cannot be rebuilt from it.`, { dir });
  }
  const topology = isRecord(rawTopology['model_config']) ? rawTopology['model_config'] : rawTopology;
  const modelClass = typeof topology['class_name'] === 'string' ? topology['class_name'] : '';
  const config = topology['config'];
  const layerList = isRecord(config) ? config['layers'] : Array.isArray(config) ? config : undefined;
  if (!Array.isArray(layerList)) {
    throw new ModelError('MODEL_TOPOLOGY_MISSING', `model.json in ${dir} has a topology without a layer list (class "${modelClass}").`, { dir });
  }
  const layers = layerList.filter(isRecord).map((l) => l as unknown as KerasLayerConfig);
  const modelName = isRecord(config) && typeof config['name'] === 'string' ? config['name'] : path.basename(dir);

  // Nested models' layers too (a Teachable Machine export is a Sequential in a Sequential).
  const unsupported = configLayers(topology, '', 0, `The model in ${dir}`)
    .map((x) => x.layer)
    .filter((l) => !SUPPORTED_LAYER_CLASSES.has(l.class_name));
  if (unsupported.length > 0) {
    const list = unsupported.map((l) => `${l.config.name ?? l.name ?? '?'} (${l.class_name})`).join(', ');
    throw new ModelError('UNSUPPORTED_LAYER', `The model in ${dir} uses layer classes TensorFlow.js cannot run: ${list}.`, {
      dir,
      layers: unsupported.map((l) => ({ name: l.config.name ?? l.name, className: l.class_name })),
    });
  }

  const manifestRaw = modelJson['weightsManifest'];
  if (!Array.isArray(manifestRaw)) {
    throw new ModelError('MODEL_MANIFEST_INVALID', `model.json in ${dir} has no "weightsManifest" list.`, { dir });
  }
  const manifest: WeightGroup[] = [];
  for (const g of manifestRaw) {
    if (!isRecord(g) || !Array.isArray(g['paths']) || !Array.isArray(g['weights'])) {
      throw new ModelError('MODEL_MANIFEST_INVALID', `model.json in ${dir} has a malformed weightsManifest group.`, { dir });
    }
    manifest.push({ paths: g['paths'].map(String), weights: g['weights'] as WeightEntry[] });
  }

  const shards: ModelFolder['shards'] = [];
  let weightBytes = 0;
  for (const group of manifest) {
    const expected = group.weights.reduce((a, w) => a + entryBytes(w), 0);
    const sizes: number[] = [];
    for (const p of group.paths) {
      const full = path.resolve(dir, p);
      if (full === path.resolve(dir) || !isInside(path.resolve(dir), full)) {
        throw new ModelError('MODEL_MANIFEST_INVALID', `model.json in ${dir} names a shard outside its folder: "${p}".`, { dir, shard: p });
      }
      if (!(await fs.lstat(full).then(() => true, () => false))) {
        throw new ModelError('SHARD_MISSING', `The weight shard "${p}" named in model.json is missing from ${dir}.`, { dir, shard: p });
      }
      // Links are resolved and must stay in the folder (a shard linked to /etc/shadow would be
      // copied, trained on and exported); FIFOs and devices are refused before they are opened.
      const checked = await checkUserFile(full, { root: dir }).catch((err: unknown) => {
        throw err instanceof UserFileError ? (err.code === 'ENOENT' ? new ModelError('SHARD_MISSING', `The weight shard "${p}" named in model.json is missing from ${dir} (a link to nothing).`, { dir, shard: p }) : refused(dir, p, err)) : err;
      });
      sizes.push(checked.size);
      shards.push({ path: p, bytes: checked.size, file: checked.realPath });
    }
    const actual = sizes.reduce((a, b) => a + b, 0);
    if (actual !== expected) {
      // Which shard is wrong: converters write equal-sized shards and a shorter last one, so a
      // non-last shard that differs from the most common size is the culprit, else the last one.
      const head = sizes.slice(0, -1);
      const counts = new Map<number, number>();
      for (const s of head) counts.set(s, (counts.get(s) ?? 0) + 1);
      const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      const odd = common === undefined ? -1 : head.findIndex((s) => s !== common);
      const bad = odd >= 0 ? odd : group.paths.length - 1;
      const badExpected = odd >= 0 && common !== undefined ? common : expected - head.reduce((a, b) => a + b, 0);
      const badPath = group.paths[bad] ?? '?';
      const badActual = sizes[bad] ?? 0;
      throw new ModelError(
        'SHARD_SIZE_MISMATCH',
        `The weight shard "${badPath}" in ${dir} is ${badActual} bytes but model.json expects ${badExpected} bytes ` +
          `(${group.weights.map((w) => w.name).slice(0, 3).join(', ')}${group.weights.length > 3 ? ', ...' : ''}): the file is truncated or does not belong to this model.`,
        { dir, shard: badPath, expectedBytes: badExpected, actualBytes: badActual },
      );
    }
    weightBytes += actual;
  }
  checkTopologySize(topology, `The model in ${dir}`, { bytesPresent: weightBytes, budgetBytes: options.budgetBytes ?? engineBudgetBytes() });
  return { dir, modelJson: json, flattened, topology, modelClass, modelName, layers, manifest, shards, weightBytes, modelJsonBytes: Buffer.byteLength(text) };
}

/** The folder's weights concatenated in manifest order, as TensorFlow.js expects them. */
export async function readWeightData(folder: ModelFolder): Promise<ArrayBuffer> {
  const out = new Uint8Array(folder.weightBytes);
  let offset = 0;
  for (const s of folder.shards) {
    const buf = await readUserFile(path.join(folder.dir, s.path), { root: folder.dir, maxBytes: s.bytes }).catch((err: unknown) => {
      throw err instanceof UserFileError ? refused(folder.dir, s.path, err) : err;
    });
    if (buf.length !== s.bytes) {
      throw new ModelError('SHARD_SIZE_MISMATCH', `The weight shard "${s.path}" in ${folder.dir} changed while it was read.`, { dir: folder.dir, shard: s.path });
    }
    out.set(buf, offset);
    offset += buf.length;
  }
  return out.buffer;
}

/** An IOHandler that loads a validated folder (tf.loadLayersModel(folderIOHandler(folder))). */
export function folderIOHandler(folder: ModelFolder): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const weightSpecs = folder.manifest.flatMap((g) => g.weights) as io.WeightsManifestEntry[];
      const artifacts: io.ModelArtifacts = {
        modelTopology: folder.modelJson['modelTopology'] as object,
        weightSpecs,
        weightData: await readWeightData(folder),
        format: typeof folder.modelJson['format'] === 'string' ? folder.modelJson['format'] : 'layers-model',
      };
      return artifacts;
    },
  };
}
