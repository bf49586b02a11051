/**
 * The Keras Applications architectures the studio can rebuild (engine/keras/architectures.ts
 * builds them), described as plain data for the host and the engine: what each is, its
 * preprocessing and published figures, how a weights-only .h5 is recognised from its layer names,
 * and the shape of a layer in a Keras config.
 * Figures: parameters without the top from Keras' model summaries, with it from keras.io's
 * applications table (exact counts); top-1 from that table.
 */
import type { PreprocessingMode } from './domain';

/** One layer of a Keras model config (model.to_json() / config.json). */
export interface KerasConfigLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
}

export const KERAS_ARCHITECTURES = ['vgg16', 'resnet50', 'mobilenet_v2', 'efficientnetb0'] as const;
export type KerasArchitecture = (typeof KERAS_ARCHITECTURES)[number];

export interface ArchitectureInfo {
  id: KerasArchitecture;
  name: string;
  preprocessing: PreprocessingMode;
  inputSize: number;
  params: { top: number; notop: number };
  /** ImageNet top-1 accuracy as keras.io publishes it. */
  top1: number;
  /** The last 4-D layer (features are its global average pooling) and its channels. */
  lastConvLayer: string;
  featureDim: number;
  /** Layer names a weights file of this architecture has, and names it must not have (deeper relatives). */
  has: string[];
  lacks: string[];
}

export const ARCHITECTURES: Record<KerasArchitecture, ArchitectureInfo> = {
  vgg16: {
    id: 'vgg16',
    name: 'VGG16',
    preprocessing: 'caffe',
    inputSize: 224,
    params: { top: 138_357_544, notop: 14_714_688 },
    top1: 0.713,
    lastConvLayer: 'block5_pool',
    featureDim: 512,
    has: ['block1_conv1', 'block5_conv3'],
    lacks: ['block5_conv4'],
  },
  resnet50: {
    id: 'resnet50',
    name: 'ResNet50',
    preprocessing: 'caffe',
    inputSize: 224,
    params: { top: 25_636_712, notop: 23_587_712 },
    top1: 0.749,
    lastConvLayer: 'conv5_block3_out',
    featureDim: 2048,
    has: ['conv1_conv', 'conv5_block3_3_conv'],
    lacks: ['conv4_block7_1_conv'],
  },
  mobilenet_v2: {
    id: 'mobilenet_v2',
    name: 'MobileNetV2 1.0',
    preprocessing: 'tf',
    inputSize: 224,
    params: { top: 3_538_984, notop: 2_257_984 },
    top1: 0.713,
    lastConvLayer: 'out_relu',
    featureDim: 1280,
    has: ['Conv1', 'block_16_project', 'Conv_1'],
    lacks: [],
  },
  efficientnetb0: {
    id: 'efficientnetb0',
    name: 'EfficientNetB0',
    preprocessing: 'raw',
    inputSize: 224,
    params: { top: 5_330_571, notop: 4_049_571 },
    top1: 0.771,
    lastConvLayer: 'top_activation',
    featureDim: 1280,
    has: ['stem_conv', 'block6d_project_conv', 'block7a_project_conv', 'top_conv'],
    lacks: ['block7b_project_conv'],
  },
};

/**
 * ResNet50's first Keras weights (keras-applications resnet50.py, fchollet/deep-learning-models
 * v0.2) name the same layers the Caffe way: conv1, bn_conv1, res2a_branch2a, bn2a_branch1, fc1000.
 * Keras loads them by position; the studio maps them by name, so they are translated.
 */
export function modernResnetName(name: string): string {
  if (name === 'conv1') return 'conv1_conv';
  if (name === 'bn_conv1') return 'conv1_bn';
  if (name === 'fc1000') return 'predictions';
  const m = /^(res|bn)(\d)([a-f])_branch(1|2a|2b|2c)$/.exec(name);
  if (!m) return name;
  const part = { '1': '0', '2a': '1', '2b': '2', '2c': '3' }[m[4] as '1' | '2a' | '2b' | '2c'];
  return `conv${m[2]}_block${m[3]!.charCodeAt(0) - 96}_${part}_${m[1] === 'res' ? 'conv' : 'bn'}`;
}

/** The catalog architecture whose layers a weights file has (by name), and whether it includes the top; null if none. */
export function detectArchitecture(layerNames: readonly string[]): { architecture: KerasArchitecture; includeTop: boolean } | null {
  const names = new Set(layerNames.map(modernResnetName));
  for (const arch of KERAS_ARCHITECTURES) {
    const a = ARCHITECTURES[arch];
    if (a.has.every((n) => names.has(n)) && !a.lacks.some((n) => names.has(n))) return { architecture: arch, includeTop: names.has('predictions') };
  }
  return null;
}
