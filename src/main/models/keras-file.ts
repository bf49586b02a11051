/**
 * Keras files from disk, read before anything is installed so a bad file gets a specific message:
 *  - a Keras 2 `.h5` from model.save: the topology in the root attribute `model_config`, the weights
 *    under the group `model_weights` (one group per layer, its `weight_names` attribute);
 *  - a weights-only `.h5` (model.save_weights, and every Keras Applications download): the same
 *    groups at the root with `layer_names`, and no topology: it is matched to a catalog architecture;
 *  - a Keras 3 `.keras` archive: config.json (topology) + model.weights.h5 (layers/<class>/vars/<i>).
 * HDF5 through h5wasm (h5.ts). Pure Node: the engine builds and loads the model afterwards.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractZip } from '../media/zip';
import { ModelError } from '../../shared/model-errors';
import { SUPPORTED_LAYER_CLASSES } from '../../shared/node/model-folder';
import { childGroup, hasAttr, stringAttr, stringListAttr, withH5 } from '../../shared/node/h5';
import { detectArchitecture, type KerasArchitecture, type KerasConfigLayer } from '../../shared/keras-architectures';

export type KerasFormat = 'keras-weights' | 'keras-h5' | 'keras-v3';

export interface KerasFileInfo {
  format: KerasFormat;
  file: string;
  /** The model's name from its config, else the file's name. */
  name: string;
  /** Full models: the Keras topology (model_config, or config.json). */
  config: Record<string, unknown> | null;
  /** Weights-only files: the layers holding weights, in the file's order. */
  weightLayers: string[];
  /** Weights-only files: the catalog architecture they match. */
  architecture: { architecture: KerasArchitecture; includeTop: boolean } | null;
  kerasVersion: string | null;
}

/** Layer classes the engine builds beyond TensorFlow.js' own (engine/keras/normalization.ts). */
const EXTRA_LAYER_CLASSES = new Set<string>();
const CONTAINERS = new Set(['Functional', 'Model', 'Sequential']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every layer of a Keras topology, nested models' layers included, with the path of models it sits in. */
export function configLayers(config: Record<string, unknown>, within = ''): { layer: KerasConfigLayer; path: string }[] {
  const inner = config['config'];
  const list = isRecord(inner) ? inner['layers'] : Array.isArray(inner) ? inner : undefined;
  if (!Array.isArray(list)) return [];
  const out: { layer: KerasConfigLayer; path: string }[] = [];
  for (const l of list.filter(isRecord) as unknown as KerasConfigLayer[]) {
    const name = String(l.config?.['name'] ?? l.name ?? '?');
    out.push({ layer: l, path: within ? `${within}/${name}` : name });
    if (CONTAINERS.has(l.class_name)) out.push(...configLayers(l as unknown as Record<string, unknown>, within ? `${within}/${name}` : name));
  }
  return out;
}

/** Refuses a topology with layer classes the studio cannot run, naming each such layer. */
export function checkLayerClasses(config: Record<string, unknown>, file: string): void {
  const layers = configLayers(config);
  if (layers.length === 0) throw new ModelError('MODEL_TOPOLOGY_MISSING', `${file} has a model configuration without a layer list.`, { file });
  const bad = layers.filter(({ layer }) => !SUPPORTED_LAYER_CLASSES.has(layer.class_name) && !EXTRA_LAYER_CLASSES.has(layer.class_name));
  if (bad.length > 0) {
    const list = bad.map(({ layer, path: p }) => `${p} (${layer.class_name})`).join(', ');
    throw new ModelError('UNSUPPORTED_LAYER', `${file} uses layers the studio cannot run: ${list}. Rebuild the model without them (a Lambda or raw TensorFlow op cannot be read from a file).`, {
      file,
      layers: bad.map(({ layer, path: p }) => ({ name: p, className: layer.class_name })),
    });
  }
}

function parseConfig(text: string, file: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ModelError('MODEL_JSON_INVALID', `The ${what} in ${file} is not valid JSON (${(e as Error).message}).`, { file });
  }
  if (!isRecord(v)) throw new ModelError('MODEL_JSON_INVALID', `The ${what} in ${file} is not a JSON object.`, { file });
  return v;
}

const modelName = (config: Record<string, unknown> | null, file: string): string => {
  const inner = config?.['config'];
  return isRecord(inner) && typeof inner['name'] === 'string' ? inner['name'] : path.basename(file).replace(/\.(h5|hdf5|keras)$/i, '');
};

/** Reads an HDF5 Keras file: a Keras 2 whole model or a weights-only file (matched to an architecture). */
async function inspectH5(file: string): Promise<KerasFileInfo> {
  return withH5(file, (f) => {
    const kerasVersion = stringAttr(f, 'keras_version');
    const configText = stringAttr(f, 'model_config');
    if (configText !== null) {
      const config = parseConfig(configText, file, 'model_config attribute');
      checkLayerClasses(config, file);
      if (!childGroup(f, 'model_weights')) throw new ModelError('MODEL_NOT_KERAS', `${file} has a model_config but no model_weights group: it is not a complete Keras model file.`, { file });
      return { format: 'keras-h5', file, name: modelName(config, file), config, weightLayers: [], architecture: null, kerasVersion };
    }
    const layerNames = stringListAttr(f, 'layer_names');
    if (layerNames === null) {
      const keys = f.keys();
      const hint = keys.includes('layers') && keys.includes('vars') ? ' It looks like a Keras 3 weights file (.weights.h5): import the .keras model it belongs to instead.' : '';
      throw new ModelError('MODEL_NOT_KERAS', `${file} is an HDF5 file but not a Keras model or weights file (no model_config or layer_names attribute).${hint}`, { file });
    }
    const weightLayers = layerNames.filter((n) => {
      const g = childGroup(f, n);
      return g !== null && hasAttr(g, 'weight_names') && (stringListAttr(g, 'weight_names') ?? []).length > 0;
    });
    const architecture = detectArchitecture(weightLayers);
    if (!architecture) {
      const shown = weightLayers.slice(0, 6).join(', ');
      throw new ModelError(
        'MODEL_UNKNOWN_ARCHITECTURE',
        `${file} holds weights only (no topology), and its ${weightLayers.length} layers (${shown}${weightLayers.length > 6 ? ', ...' : ''}) match no architecture the studio can build ` +
          '(VGG16, ResNet50, MobileNetV2 1.0, EfficientNetB0). Save the whole model with model.save() and import that file instead.',
        { file, layers: weightLayers.slice(0, 20) },
      );
    }
    return { format: 'keras-weights', file, name: modelName(null, file), config: null, weightLayers, architecture, kerasVersion };
  });
}

/** Extracts a .keras archive's config.json and model.weights.h5 into `dest` (the zip is read safely, media/zip.ts). */
export async function extractKerasArchive(file: string, dest: string): Promise<{ configFile: string; weightsFile: string }> {
  try {
    await extractZip(file, dest);
  } catch {
    throw new ModelError('MODEL_NOT_KERAS', `${file} is not a Keras 3 .keras archive (it is not a readable zip file).`, { file });
  }
  const configFile = path.join(dest, 'config.json');
  const weightsFile = path.join(dest, 'model.weights.h5');
  for (const [f, what] of [
    [configFile, 'config.json'],
    [weightsFile, 'model.weights.h5'],
  ] as const) {
    if (!fs.existsSync(f)) throw new ModelError('MODEL_NOT_KERAS', `${file} is a zip without ${what}, so it is not a Keras 3 .keras model.`, { file });
  }
  return { configFile, weightsFile };
}

async function inspectArchive(file: string): Promise<KerasFileInfo> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-keras-'));
  try {
    const { configFile, weightsFile } = await extractKerasArchive(file, tmp);
    const config = parseConfig(fs.readFileSync(configFile, 'utf8'), file, 'config.json');
    checkLayerClasses(config, file);
    await withH5(weightsFile, () => undefined); // a readable HDF5 file (truncated, damaged: its own message)
    let kerasVersion: string | null = null;
    try {
      kerasVersion = String((JSON.parse(fs.readFileSync(path.join(tmp, 'metadata.json'), 'utf8')) as { keras_version?: string }).keras_version ?? '') || null;
    } catch {
      // metadata.json is informative only
    }
    return { format: 'keras-v3', file, name: modelName(config, file), config, weightLayers: [], architecture: null, kerasVersion };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** What a Keras file from disk is, or a specific error (not HDF5, truncated, unknown layer, no matching architecture). */
export async function inspectKerasFile(file: string): Promise<KerasFileInfo> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new ModelError('MODEL_DIR_MISSING', `${abs} does not exist.`, { file: abs });
  const head = Buffer.alloc(4);
  const fd = fs.openSync(abs, 'r');
  try {
    fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  // A .keras archive is a zip; everything else is read as HDF5 (which names a non-HDF5 file itself).
  return head.equals(ZIP_MAGIC) ? inspectArchive(abs) : inspectH5(abs);
}

/** md5 of a file, streamed (Keras' get_file hashes with md5 when the pinned hash has 32 hex digits). */
export async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
