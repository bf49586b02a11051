/**
 * The Keras Applications the catalog offers, rebuilt in tf.layers layer for layer as
 * keras/src/applications/{vgg16,resnet,mobilenet_v2,efficientnet}.py build them: the same layer
 * classes, configuration and names, called in the same order, so that Keras' weight files map
 * onto them by layer name and the layer list, output shapes and parameter counts equal Keras' own
 * model summaries (test/integration/models/architectures.test.ts checks them).
 */
import * as tf from '@tensorflow/tfjs';
import type { KerasArchitecture } from '../../../shared/keras-architectures';
import { Normalization } from './normalization';

export interface BuildOptions {
  /** Keras' include_top: the ImageNet classifier (1000 classes, softmax) on top. */
  includeTop: boolean;
  inputSize?: number;
  /**
   * 'random': Keras' default initializers (training from scratch). 'zeros': weights that are about
   * to be loaded from a file (random init of VGG16's 138M parameters alone takes ~20 s on the CPU).
   */
  init?: 'random' | 'zeros';
}

/**
 * The layers that hold weights, made with the initializers of one build: Keras' defaults, or zeros
 * for weights about to be loaded. Each build makes its own and hands it to every block.
 */
interface WeightLayers {
  conv2d(args: Parameters<typeof tf.layers.conv2d>[0]): tf.layers.Layer;
  dense(args: Parameters<typeof tf.layers.dense>[0]): tf.layers.Layer;
  depthwiseConv2d(args: Parameters<typeof tf.layers.depthwiseConv2d>[0]): tf.layers.Layer;
}

function weightLayers(init: BuildOptions['init']): WeightLayers {
  const zeros = init === 'zeros' ? ({ kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const) : {};
  return {
    conv2d: (args) => tf.layers.conv2d({ ...zeros, ...args }),
    dense: (args) => tf.layers.dense({ ...zeros, ...args }),
    depthwiseConv2d: (args) => tf.layers.depthwiseConv2d({ ...(init === 'zeros' ? { depthwiseInitializer: 'zeros', biasInitializer: 'zeros' } : {}), ...args }),
  };
}

type T = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: T | T[]): T => layer.apply(x) as T;
const spatial = (x: T): [number, number] => [x.shape[1] ?? 0, x.shape[2] ?? 0];

/** imagenet_utils.correct_pad: the padding that makes a stride-2 'valid' convolution match TF's 'same'. */
function correctPad(x: T, kernel: number): [[number, number], [number, number]] {
  const [h, w] = spatial(x);
  const adjust = [1 - (h % 2), 1 - (w % 2)];
  const c = Math.floor(kernel / 2);
  return [
    [c - adjust[0]!, c],
    [c - adjust[1]!, c],
  ];
}

// ---- VGG16 ------------------------------------------------------------------------------

function vgg16(layers: WeightLayers, input: T, includeTop: boolean): T {
  let x = input;
  const blocks: [number, number][] = [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ];
  blocks.forEach(([filters, convs], b) => {
    for (let i = 1; i <= convs; i++) {
      x = apply(layers.conv2d({ filters, kernelSize: 3, activation: 'relu', padding: 'same', name: `block${b + 1}_conv${i}` }), x);
    }
    x = apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }), x);
  });
  if (includeTop) {
    x = apply(tf.layers.flatten({ name: 'flatten' }), x);
    x = apply(layers.dense({ units: 4096, activation: 'relu', name: 'fc1' }), x);
    x = apply(layers.dense({ units: 4096, activation: 'relu', name: 'fc2' }), x);
    x = apply(layers.dense({ units: 1000, activation: 'softmax', name: 'predictions' }), x);
  }
  return x;
}

// ---- ResNet50 (v1, resnet.py residual_block_v1) -------------------------------------------

const resnetBn = (name: string) => tf.layers.batchNormalization({ axis: 3, epsilon: 1.001e-5, name });

function residualBlockV1(layers: WeightLayers, x: T, filters: number, stride: number, convShortcut: boolean, name: string): T {
  let shortcut = x;
  if (convShortcut) {
    shortcut = apply(layers.conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` }), x);
    shortcut = apply(resnetBn(`${name}_0_bn`), shortcut);
  }
  let y = apply(layers.conv2d({ filters, kernelSize: 1, strides: stride, name: `${name}_1_conv` }), x);
  y = apply(resnetBn(`${name}_1_bn`), y);
  y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_1_relu` }), y);
  y = apply(layers.conv2d({ filters, kernelSize: 3, padding: 'same', name: `${name}_2_conv` }), y);
  y = apply(resnetBn(`${name}_2_bn`), y);
  y = apply(tf.layers.activation({ activation: 'relu', name: `${name}_2_relu` }), y);
  y = apply(layers.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` }), y);
  y = apply(resnetBn(`${name}_3_bn`), y);
  y = apply(tf.layers.add({ name: `${name}_add` }), [shortcut, y]);
  return apply(tf.layers.activation({ activation: 'relu', name: `${name}_out` }), y);
}

function resnet50(layers: WeightLayers, input: T, includeTop: boolean): T {
  let x = apply(tf.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }), input);
  x = apply(layers.conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv' }), x);
  x = apply(resnetBn('conv1_bn'), x);
  x = apply(tf.layers.activation({ activation: 'relu', name: 'conv1_relu' }), x);
  x = apply(tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  const stacks: [string, number, number, number][] = [
    ['conv2', 64, 3, 1],
    ['conv3', 128, 4, 2],
    ['conv4', 256, 6, 2],
    ['conv5', 512, 3, 2],
  ];
  for (const [name, filters, blocks, stride1] of stacks) {
    x = residualBlockV1(layers, x, filters, stride1, true, `${name}_block1`);
    for (let i = 2; i <= blocks; i++) x = residualBlockV1(layers, x, filters, 1, false, `${name}_block${i}`);
  }
  if (includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
    x = apply(layers.dense({ units: 1000, activation: 'softmax', name: 'predictions' }), x);
  }
  return x;
}

// ---- MobileNetV2 (alpha 1.0) -----------------------------------------------------------------

const mnBn = (name: string) => tf.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name });
const relu6 = (name: string) => tf.layers.reLU({ maxValue: 6, name });

function makeDivisible(v: number, divisor: number): number {
  let nv = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (nv < 0.9 * v) nv += divisor;
  return nv;
}

function invertedResBlock(layers: WeightLayers, inputs: T, expansion: number, stride: number, alpha: number, filters: number, blockId: number): T {
  const inChannels = inputs.shape[3] ?? 0;
  const pointwise = makeDivisible(Math.trunc(filters * alpha), 8);
  let x = inputs;
  let prefix = `block_${blockId}_`;
  if (blockId) {
    x = apply(layers.conv2d({ filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }), x);
    x = apply(mnBn(`${prefix}expand_BN`), x);
    x = apply(relu6(`${prefix}expand_relu`), x);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) x = apply(tf.layers.zeroPadding2d({ padding: correctPad(x, 3), name: `${prefix}pad` }), x);
  x = apply(layers.depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` }), x);
  x = apply(mnBn(`${prefix}depthwise_BN`), x);
  x = apply(relu6(`${prefix}depthwise_relu`), x);
  x = apply(layers.conv2d({ filters: pointwise, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), x);
  x = apply(mnBn(`${prefix}project_BN`), x);
  if (inChannels === pointwise && stride === 1) return apply(tf.layers.add({ name: `${prefix}add` }), [inputs, x]);
  return x;
}

function mobilenetV2(layers: WeightLayers, input: T, includeTop: boolean): T {
  const alpha = 1.0;
  let x = apply(layers.conv2d({ filters: makeDivisible(32 * alpha, 8), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }), input);
  x = apply(mnBn('bn_Conv1'), x);
  x = apply(relu6('Conv1_relu'), x);
  // [filters, stride, expansion] for block ids 0..16 (mobilenet_v2.py).
  const blocks: [number, number, number][] = [
    [16, 1, 1],
    [24, 2, 6], [24, 1, 6],
    [32, 2, 6], [32, 1, 6], [32, 1, 6],
    [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
    [96, 1, 6], [96, 1, 6], [96, 1, 6],
    [160, 2, 6], [160, 1, 6], [160, 1, 6],
    [320, 1, 6],
  ];
  blocks.forEach(([filters, stride, expansion], id) => {
    x = invertedResBlock(layers, x, expansion, stride, alpha, filters, id);
  });
  x = apply(layers.conv2d({ filters: 1280, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = apply(mnBn('Conv_1_bn'), x);
  x = apply(relu6('out_relu'), x);
  if (includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
    x = apply(layers.dense({ units: 1000, activation: 'softmax', name: 'predictions' }), x);
  }
  return x;
}

// ---- EfficientNetB0 --------------------------------------------------------------------------

/** efficientnet.py DEFAULT_BLOCKS_ARGS: kernel, repeats, filters in, filters out, expand ratio, strides (se_ratio 0.25, id_skip on). */
const EFFICIENTNET_BLOCKS: [number, number, number, number, number, number][] = [
  [3, 1, 32, 16, 1, 1],
  [3, 2, 16, 24, 6, 2],
  [5, 2, 24, 40, 6, 2],
  [3, 3, 40, 80, 6, 2],
  [5, 3, 80, 112, 6, 1],
  [5, 4, 112, 192, 6, 2],
  [3, 1, 192, 320, 6, 1],
];
/** Keras' EfficientNet rescales by 1/sqrt(stddev) after Normalization when it loads the ImageNet weights (see efficientnet.py). */
const IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225];
const effBn = (name: string) => tf.layers.batchNormalization({ axis: 3, name });

function efficientBlock(layers: WeightLayers, inputs: T, dropRate: number, name: string, filtersIn: number, filtersOut: number, kernel: number, strides: number, expandRatio: number): T {
  const filters = filtersIn * expandRatio;
  let x = inputs;
  if (expandRatio !== 1) {
    x = apply(layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `${name}expand_conv` }), x);
    x = apply(effBn(`${name}expand_bn`), x);
    x = apply(tf.layers.activation({ activation: 'swish', name: `${name}expand_activation` }), x);
  }
  let pad: 'same' | 'valid' = 'same';
  if (strides === 2) {
    x = apply(tf.layers.zeroPadding2d({ padding: correctPad(x, kernel), name: `${name}dwconv_pad` }), x);
    pad = 'valid';
  }
  x = apply(layers.depthwiseConv2d({ kernelSize: kernel, strides, padding: pad, useBias: false, name: `${name}dwconv` }), x);
  x = apply(effBn(`${name}bn`), x);
  x = apply(tf.layers.activation({ activation: 'swish', name: `${name}activation` }), x);
  // Squeeze and excitation (se_ratio 0.25 of the block's input filters).
  const filtersSe = Math.max(1, Math.trunc(filtersIn * 0.25));
  let se = apply(tf.layers.globalAveragePooling2d({ name: `${name}se_squeeze` }), x);
  se = apply(tf.layers.reshape({ targetShape: [1, 1, filters], name: `${name}se_reshape` }), se);
  se = apply(layers.conv2d({ filters: filtersSe, kernelSize: 1, padding: 'same', activation: 'swish', name: `${name}se_reduce` }), se);
  se = apply(layers.conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', name: `${name}se_expand` }), se);
  x = apply(tf.layers.multiply({ name: `${name}se_excite` }), [x, se]);
  x = apply(layers.conv2d({ filters: filtersOut, kernelSize: 1, padding: 'same', useBias: false, name: `${name}project_conv` }), x);
  x = apply(effBn(`${name}project_bn`), x);
  if (strides === 1 && filtersIn === filtersOut) {
    if (dropRate > 0) x = apply(tf.layers.dropout({ rate: dropRate, noiseShape: [null, 1, 1, 1] as unknown as number[], name: `${name}drop` }), x);
    x = apply(tf.layers.add({ name: `${name}add` }), [x, inputs]);
  }
  return x;
}

function efficientnetB0(layers: WeightLayers, input: T, includeTop: boolean): T {
  let x = apply(tf.layers.rescaling({ scale: 1 / 255, name: 'rescaling' }), input);
  x = apply(new Normalization({ axis: 3, name: 'normalization' }), x);
  // tf.layers.rescaling multiplies by any tensor-like scale, so the per-channel list works as in Keras.
  x = apply(tf.layers.rescaling({ scale: IMAGENET_STDDEV_RGB.map((s) => 1 / Math.sqrt(s)) as unknown as number, name: 'rescaling_1' }), x);
  x = apply(tf.layers.zeroPadding2d({ padding: correctPad(x, 3), name: 'stem_conv_pad' }), x);
  x = apply(layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'stem_conv' }), x);
  x = apply(effBn('stem_bn'), x);
  x = apply(tf.layers.activation({ activation: 'swish', name: 'stem_activation' }), x);
  const total = EFFICIENTNET_BLOCKS.reduce((a, b) => a + b[1], 0);
  let b = 0;
  EFFICIENTNET_BLOCKS.forEach(([kernel, repeats, filtersIn, filtersOut, expand, strides], i) => {
    for (let j = 0; j < repeats; j++) {
      const name = `block${i + 1}${String.fromCharCode(97 + j)}_`;
      x = efficientBlock(layers, x, (0.2 * b) / total, name, j > 0 ? filtersOut : filtersIn, filtersOut, kernel, j > 0 ? 1 : strides, expand);
      b++;
    }
  });
  x = apply(layers.conv2d({ filters: 1280, kernelSize: 1, padding: 'same', useBias: false, name: 'top_conv' }), x);
  x = apply(effBn('top_bn'), x);
  x = apply(tf.layers.activation({ activation: 'swish', name: 'top_activation' }), x);
  if (includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
    x = apply(tf.layers.dropout({ rate: 0.2, name: 'top_dropout' }), x);
    x = apply(layers.dense({ units: 1000, activation: 'softmax', name: 'predictions' }), x);
  }
  return x;
}

const BUILDERS: Record<KerasArchitecture, { build: (layers: WeightLayers, input: T, includeTop: boolean) => T; modelName: string }> = {
  vgg16: { build: vgg16, modelName: 'vgg16' },
  resnet50: { build: resnet50, modelName: 'resnet50' },
  mobilenet_v2: { build: mobilenetV2, modelName: 'mobilenetv2_1.00_224' },
  efficientnetb0: { build: efficientnetB0, modelName: 'efficientnetb0' },
};

/** The architecture as a tf.LayersModel with fresh (initializer) weights. */
export function buildArchitecture(arch: KerasArchitecture, options: BuildOptions): tf.LayersModel {
  const size = options.inputSize ?? 224;
  const spec = BUILDERS[arch];
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' });
  return tf.model({ inputs: input, outputs: spec.build(weightLayers(options.init), input, options.includeTop), name: spec.modelName });
}
