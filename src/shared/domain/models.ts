/** Models: preprocessing modes, installed models, the layers the engine inspects. */

/**
 * How an image becomes the network's input, per model family (Keras' preprocess_input modes):
 * 'tf' RGB scaled to [-1, 1]; 'caffe' BGR with the ImageNet channel means subtracted (VGG16,
 * ResNet50); 'raw' RGB 0..255, for networks that rescale and normalize inside (EfficientNet).
 */
export const PREPROCESSING_MODES = ['tf', 'caffe', 'raw'] as const;
export type PreprocessingMode = (typeof PREPROCESSING_MODES)[number];

export interface InstalledModelInfo {
  id: string;
  name: string;
  /** built-in: shipped with the app (read-only, offline; cannot be deleted, can be hidden). */
  source: 'import' | 'catalog' | 'built-in';
  origin: string;
  weightBytes: number;
  layers: number;
  installedAt: string;
  /** Hidden from the model pickers and defaults by the user (still listed here). */
  hidden?: boolean;
  /** What is on disk: a TensorFlow.js folder, or a Keras file (weights-only .h5, Keras 2 .h5, Keras 3 .keras). */
  format?: 'tfjs' | 'keras-weights' | 'keras-h5' | 'keras-v3';
  /** The catalog architecture a Keras weights file was matched to (e.g. resnet50), where there is one. */
  architecture?: string;
  preprocessing?: PreprocessingMode;
  inputSize?: number;
  params?: number;
  /** A Teachable Machine export (its metadata.json): its head's classes are the export's own. */
  teachable?: TeachableInfo;
}

/** What a Teachable Machine export's metadata.json says: its version and the classes its head was trained on. */
export interface TeachableInfo {
  version: string;
  labels: string[];
  modelName?: string;
}

/** One layer of a model, as the engine inspects it (plain data: the engine, its protocol, the host and the UI share it). */
export interface LayerInfo {
  index: number;
  name: string;
  className: string;
  /** Without the batch dimension, e.g. [7, 7, 256]. */
  outputShape: number[];
  params: number;
  /**
   * A block boundary where the network can sensibly be cut (features taken, or frozen up to): a
   * block end whose output every path from the input to the model's output crosses.
   */
  cutPoint: boolean;
  /** The layers whose outputs feed this one (empty for an input). Absent: the previous layer (a chain). */
  inbound?: string[];
  /** Which block a cut point ends, in words (e.g. "stage conv3, block 4 (end of the stage)"). */
  block?: string;
}

export interface ModelInspection {
  dir: string;
  name: string;
  format: 'layers-model';
  inputShape: number[];
  outputShape: number[];
  params: number;
  weightBytes: number;
  layers: LayerInfo[];
  /** The layer whose output feeds a new head by default (global pooling when there is one; a Teachable Machine export's out_relu). */
  defaultCutLayer: string;
  /** A Teachable Machine export (its metadata.json). */
  teachable?: TeachableInfo;
}

/**
 * A model id names the model's folder in the model library (<userData>/models/<id>), so it is
 * checked wherever one enters (a request's --id, an id taken from a file or folder name, the
 * library itself): never "." or "..", no separator, no control character, no leading dot (the
 * library's own temporary folders start with one) or dash (it would read as an option), and short.
 */
const MODEL_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export const MODEL_ID_RULE = 'letters, digits, . _ - only, not starting with . or -, at most 100 characters';

/** Why `id` cannot be a model id, or null when it can. */
export function modelIdProblem(id: string): string | null {
  if (MODEL_ID.test(id)) return null;
  if (id === '') return 'it is empty';
  if (id === '.' || id === '..') return `"${id}" names a folder itself, not a model`;
  if (id.length > 100) return `it has ${id.length} characters (at most 100)`;
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'it holds control characters';
  if (/[/\\]/.test(id)) return 'it holds a path separator';
  return MODEL_ID_RULE;
}

/** An id as messages show it: quoted with JSON's escapes (no raw control characters), long ones cut. */
export function shownModelId(id: string): string {
  return JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}...` : id);
}
