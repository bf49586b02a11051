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
import { extractZip, type ZipResult } from '../media/zip';
import { checkUserFile, openUserFile, UserFileError } from '../../shared/node/user-file';
import { ModelError } from '../../shared/model-errors';
import { SUPPORTED_LAYER_CLASSES } from '../../shared/node/model-folder';
import { childGroup, hasAttr, stringAttr, stringListAttr, withH5 } from '../../shared/node/h5';
import { detectArchitecture, type KerasArchitecture } from '../../shared/keras-architectures';
import { checkTopologySize, configLayers } from '../../shared/topology-size';
import { engineBudgetBytes } from '../../shared/node/memory-budget';

export type KerasFormat = 'keras-weights' | 'keras-h5' | 'keras-v3';

export interface KerasFileInfo {
  format: KerasFormat;
  /** The file as it was named (for messages), and resolved (no links, inside its folder: what is read and copied). */
  file: string;
  realFile: string;
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
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses a topology with layer classes the studio cannot run, naming each such layer. */
export function checkLayerClasses(config: Record<string, unknown>, file: string): void {
  const layers = configLayers(config, '', 0, file);
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
async function inspectH5(file: string, realFile: string): Promise<KerasFileInfo> {
  return withH5(realFile, (f) => {
    const kerasVersion = stringAttr(f, 'keras_version');
    const configText = stringAttr(f, 'model_config');
    if (configText !== null) {
      const config = parseConfig(configText, file, 'model_config attribute');
      checkLayerClasses(config, file);
      checkTopologySize(config, file, { bytesPresent: fs.statSync(realFile).size, budgetBytes: engineBudgetBytes() });
      if (!childGroup(f, 'model_weights')) throw new ModelError('MODEL_NOT_KERAS', `${file} has a model_config but no model_weights group: it is not a complete Keras model file.`, { file });
      return { format: 'keras-h5', file, realFile, name: modelName(config, file), config, weightLayers: [], architecture: null, kerasVersion };
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
    return { format: 'keras-weights', file, realFile, name: modelName(null, file), config: null, weightLayers, architecture, kerasVersion };
  });
}

/** The entries of a .keras archive the studio reads; anything else in it is never extracted. */
const KERAS_ENTRIES = new Set(['config.json', 'model.weights.h5', 'metadata.json']);

/**
 * Extracts a .keras archive's config.json, model.weights.h5 (and metadata.json) into `dest`, read
 * safely (media/zip.ts): an entry the zip reader refuses (its compression ratio, say) is named
 * with the reason, not reported as missing. `shownAs`: the file as messages name it.
 */
export async function extractKerasArchive(file: string, dest: string, shownAs = file): Promise<{ configFile: string; weightsFile: string }> {
  let result: ZipResult;
  try {
    result = await extractZip(file, dest, { include: (name) => KERAS_ENTRIES.has(name) });
  } catch (err) {
    throw new ModelError('MODEL_NOT_KERAS', `${shownAs} is not a readable Keras 3 .keras archive: ${(err as Error).message}`, { file: shownAs });
  }
  const configFile = path.join(dest, 'config.json');
  const weightsFile = path.join(dest, 'model.weights.h5');
  for (const [f, what] of [
    [configFile, 'config.json'],
    [weightsFile, 'model.weights.h5'],
  ] as const) {
    const skipped = result.skipped.find((s) => s.file === what);
    if (skipped) throw new ModelError('MODEL_FILE_REFUSED', `${what} in ${shownAs} is refused: ${skipped.reason.replace(/; skipped$/, '')}.`, { file: shownAs, entry: what });
    if (!fs.existsSync(f)) throw new ModelError('MODEL_NOT_KERAS', `${shownAs} is a zip without ${what}, so it is not a Keras 3 .keras model.`, { file: shownAs });
  }
  return { configFile, weightsFile };
}

async function inspectArchive(file: string, realFile: string): Promise<KerasFileInfo> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-keras-'));
  try {
    const { configFile, weightsFile } = await extractKerasArchive(realFile, tmp, file);
    const config = parseConfig(fs.readFileSync(configFile, 'utf8'), file, 'config.json');
    checkLayerClasses(config, file);
    checkTopologySize(config, file, { bytesPresent: fs.statSync(weightsFile).size, budgetBytes: engineBudgetBytes() });
    await withH5(weightsFile, () => undefined); // a readable HDF5 file (truncated, damaged: its own message)
    let kerasVersion: string | null = null;
    try {
      kerasVersion = String((JSON.parse(fs.readFileSync(path.join(tmp, 'metadata.json'), 'utf8')) as { keras_version?: string }).keras_version ?? '') || null;
    } catch {
      // metadata.json is informative only
    }
    return { format: 'keras-v3', file, realFile, name: modelName(config, file), config, weightLayers: [], architecture: null, kerasVersion };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** What a Keras file from disk is, or a specific error (not HDF5, truncated, unknown layer, no matching architecture). */
export async function inspectKerasFile(file: string): Promise<KerasFileInfo> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new ModelError('MODEL_DIR_MISSING', `${abs} does not exist.`, { file: abs });
  // As a model folder's files: a regular file, and a link only to a file in the same folder.
  const { realPath } = await checkUserFile(abs, { root: path.dirname(abs) }).catch((err: unknown) => {
    throw err instanceof UserFileError
      ? new ModelError('MODEL_FILE_REFUSED', `${abs} is refused: ${err.reason}. Name the model file itself, not a link leading out of its folder.`, { file: abs, reason: err.reason })
      : err;
  });
  const head = Buffer.alloc(4);
  const { handle } = await openUserFile(realPath);
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  // A .keras archive is a zip; everything else is read as HDF5 (which names a non-HDF5 file itself).
  return head.equals(ZIP_MAGIC) ? inspectArchive(abs, realPath) : inspectH5(abs, realPath);
}

/** md5 of a file, streamed (Keras' get_file hashes with md5 when the pinned hash has 32 hex digits). */
export async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
