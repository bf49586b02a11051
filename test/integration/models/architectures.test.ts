/**
 * Each architecture builder against Keras' published structure. The expected layer lists are
 * written here from Keras' own model summaries (model.summary() of keras.applications.* with
 * include_top False and True), independently of the builders: the order is Keras' layer order
 * (for ResNet50 the shortcut convolution sits between the block's second and third convolutions,
 * as Keras lists it). Parameter totals are Keras' figures (keras.io applications table, summaries):
 * VGG16 14,714,688 / 138,357,544; ResNet50 23,587,712 / 25,636,712; MobileNetV2 1.0 2,257,984 /
 * 3,538,984; EfficientNetB0 4,049,571 / 5,330,571.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildArchitecture } from '../../../src/main/engine/keras/architectures';
import { ARCHITECTURES, detectArchitecture, modernResnetName } from '../../../src/shared/keras-architectures';

const shapeOf = (m: tf.LayersModel, name: string) => (m.getLayer(name).outputShape as number[]).slice(1);
const names = (m: tf.LayersModel) => m.layers.slice(1).map((l) => l.name); // the input layer's name is Keras' auto name

function vgg16Names(top: boolean): string[] {
  const out: string[] = [];
  [2, 2, 3, 3, 3].forEach((convs, b) => {
    for (let i = 1; i <= convs; i++) out.push(`block${b + 1}_conv${i}`);
    out.push(`block${b + 1}_pool`);
  });
  return top ? [...out, 'flatten', 'fc1', 'fc2', 'predictions'] : out;
}

function resnet50Names(top: boolean): string[] {
  const out = ['conv1_pad', 'conv1_conv', 'conv1_bn', 'conv1_relu', 'pool1_pad', 'pool1_pool'];
  for (const [stack, blocks] of [[2, 3], [3, 4], [4, 6], [5, 3]] as const) {
    for (let b = 1; b <= blocks; b++) {
      const p = `conv${stack}_block${b}_`;
      out.push(`${p}1_conv`, `${p}1_bn`, `${p}1_relu`, `${p}2_conv`, `${p}2_bn`, `${p}2_relu`);
      out.push(...(b === 1 ? [`${p}0_conv`, `${p}3_conv`, `${p}0_bn`, `${p}3_bn`] : [`${p}3_conv`, `${p}3_bn`]), `${p}add`, `${p}out`);
    }
  }
  return top ? [...out, 'avg_pool', 'predictions'] : out;
}

function mobilenetV2Names(top: boolean): string[] {
  const out = ['Conv1', 'bn_Conv1', 'Conv1_relu', 'expanded_conv_depthwise', 'expanded_conv_depthwise_BN', 'expanded_conv_depthwise_relu', 'expanded_conv_project', 'expanded_conv_project_BN'];
  const strided = new Set([1, 3, 6, 13]);
  const added = new Set([2, 4, 5, 7, 8, 9, 11, 12, 14, 15]);
  for (let b = 1; b <= 16; b++) {
    const p = `block_${b}_`;
    out.push(`${p}expand`, `${p}expand_BN`, `${p}expand_relu`, ...(strided.has(b) ? [`${p}pad`] : []), `${p}depthwise`, `${p}depthwise_BN`, `${p}depthwise_relu`, `${p}project`, `${p}project_BN`, ...(added.has(b) ? [`${p}add`] : []));
  }
  out.push('Conv_1', 'Conv_1_bn', 'out_relu');
  return top ? [...out, 'global_average_pooling2d', 'predictions'] : out;
}

function efficientnetB0Names(top: boolean): string[] {
  const out = ['rescaling', 'normalization', 'rescaling_1', 'stem_conv_pad', 'stem_conv', 'stem_bn', 'stem_activation'];
  // [repeats, expand ratio != 1, first stride 2] per stage (efficientnet.py DEFAULT_BLOCKS_ARGS).
  const stages: [number, boolean, boolean][] = [[1, false, false], [2, true, true], [2, true, true], [3, true, true], [3, true, false], [4, true, true], [1, true, false]];
  stages.forEach(([repeats, expand, stride2], i) => {
    for (let j = 0; j < repeats; j++) {
      const p = `block${i + 1}${'abcd'[j]}_`;
      out.push(...(expand ? [`${p}expand_conv`, `${p}expand_bn`, `${p}expand_activation`] : []), ...(stride2 && j === 0 ? [`${p}dwconv_pad`] : []));
      out.push(`${p}dwconv`, `${p}bn`, `${p}activation`, `${p}se_squeeze`, `${p}se_reshape`, `${p}se_reduce`, `${p}se_expand`, `${p}se_excite`, `${p}project_conv`, `${p}project_bn`);
      if (j > 0) out.push(`${p}drop`, `${p}add`); // a repeat keeps stride 1 and its filters: the skip with drop-connect
    }
  });
  out.push('top_conv', 'top_bn', 'top_activation');
  return top ? [...out, 'avg_pool', 'top_dropout', 'predictions'] : out;
}

describe('Keras architecture builders match Keras', () => {
  it('VGG16: layers, shapes, parameters', () => {
    const m = buildArchitecture('vgg16', { includeTop: false, init: 'zeros' });
    expect(names(m)).toEqual(vgg16Names(false));
    expect(m.countParams()).toBe(14_714_688);
    expect(shapeOf(m, 'block5_pool')).toEqual([7, 7, 512]);
    expect(m.getLayer('block1_conv1').countParams()).toBe(1792);
    expect(m.getLayer('block4_conv2').countParams()).toBe(2_359_808);
    m.dispose();
    const t = buildArchitecture('vgg16', { includeTop: true, init: 'zeros' });
    expect(names(t)).toEqual(vgg16Names(true));
    expect(t.countParams()).toBe(138_357_544);
    expect(shapeOf(t, 'flatten')).toEqual([25088]);
    t.dispose();
  });

  it('ResNet50: layers in Keras order, shapes, parameters', () => {
    const m = buildArchitecture('resnet50', { includeTop: false, init: 'zeros' });
    expect(names(m)).toEqual(resnet50Names(false));
    expect(m.countParams()).toBe(23_587_712);
    expect(shapeOf(m, 'conv1_pad')).toEqual([230, 230, 3]);
    expect(shapeOf(m, 'pool1_pool')).toEqual([56, 56, 64]);
    expect(shapeOf(m, 'conv2_block3_out')).toEqual([56, 56, 256]);
    expect(shapeOf(m, 'conv3_block4_out')).toEqual([28, 28, 512]);
    expect(shapeOf(m, 'conv4_block6_out')).toEqual([14, 14, 1024]);
    expect(shapeOf(m, 'conv5_block3_out')).toEqual([7, 7, 2048]);
    expect(m.getLayer('conv1_conv').countParams()).toBe(9472);
    expect(m.getLayer('conv2_block1_0_conv').countParams()).toBe(16_640);
    expect(m.getLayer('conv4_block1_0_conv').countParams()).toBe(525_312);
    // BatchNorm moving statistics are Keras' non-trainable parameters.
    const nonTrainable = m.layers.flatMap((l) => l.nonTrainableWeights).reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
    expect(nonTrainable).toBe(53_120);
    m.dispose();
    const t = buildArchitecture('resnet50', { includeTop: true, init: 'zeros' });
    expect(names(t)).toEqual(resnet50Names(true));
    expect(t.countParams()).toBe(25_636_712);
    t.dispose();
  });

  it('MobileNetV2 1.0 (224): layers, shapes, parameters', () => {
    const m = buildArchitecture('mobilenet_v2', { includeTop: false, init: 'zeros' });
    expect(names(m)).toEqual(mobilenetV2Names(false));
    expect(m.layers).toHaveLength(154);
    expect(m.countParams()).toBe(2_257_984);
    expect(shapeOf(m, 'Conv1')).toEqual([112, 112, 32]);
    expect(shapeOf(m, 'block_1_pad')).toEqual([113, 113, 96]);
    expect(shapeOf(m, 'block_1_depthwise')).toEqual([56, 56, 96]);
    expect(shapeOf(m, 'block_13_pad')).toEqual([15, 15, 576]);
    expect(shapeOf(m, 'out_relu')).toEqual([7, 7, 1280]);
    expect(m.getLayer('expanded_conv_depthwise').countParams()).toBe(288);
    expect(m.getLayer('block_14_expand').countParams()).toBe(153_600);
    m.dispose();
    const t = buildArchitecture('mobilenet_v2', { includeTop: true, init: 'zeros' });
    expect(names(t)).toEqual(mobilenetV2Names(true));
    expect(t.countParams()).toBe(3_538_984);
    t.dispose();
  });

  it('EfficientNetB0: layers, shapes, parameters, and its Normalization stem', () => {
    const m = buildArchitecture('efficientnetb0', { includeTop: false, init: 'zeros' });
    expect(names(m)).toEqual(efficientnetB0Names(false));
    expect(m.countParams()).toBe(4_049_571);
    expect(m.getLayer('normalization').countParams()).toBe(7); // mean, variance (3 each) and count
    expect(shapeOf(m, 'stem_conv_pad')).toEqual([225, 225, 3]);
    expect(shapeOf(m, 'stem_conv')).toEqual([112, 112, 32]);
    expect(shapeOf(m, 'block3a_dwconv_pad')).toEqual([59, 59, 144]);
    expect(shapeOf(m, 'block6d_add')).toEqual([7, 7, 192]);
    expect(shapeOf(m, 'top_activation')).toEqual([7, 7, 1280]);
    expect(m.getLayer('block1a_se_reduce').countParams()).toBe(264);
    m.dispose();
    const t = buildArchitecture('efficientnetb0', { includeTop: true, init: 'zeros' });
    expect(names(t)).toEqual(efficientnetB0Names(true));
    expect(t.countParams()).toBe(5_330_571);
    t.dispose();
  });

  it("computes Keras' EfficientNet stem: x/255, (x - mean)/sqrt(variance), then 1/sqrt(stddev) per channel", () => {
    const m = buildArchitecture('efficientnetb0', { includeTop: false, init: 'zeros' });
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    m.getLayer('normalization').setWeights([tf.tensor1d(mean), tf.tensor1d(std.map((s) => s * s)), tf.scalar(0)]);
    const stem = tf.model({ inputs: m.inputs, outputs: m.getLayer('rescaling_1').output as tf.SymbolicTensor });
    const x = tf.fill([1, 224, 224, 3], 200);
    const y = (stem.predict(x) as tf.Tensor).slice([0, 0, 0, 0], [1, 1, 1, 3]).dataSync();
    mean.forEach((mu, c) => expect(y[c]).toBeCloseTo((200 / 255 - mu) / std[c]! / Math.sqrt(std[c]!), 5));
    m.dispose();
  });

  it('recognises each architecture from a weights file\'s layer names, with or without the top', () => {
    const expected = { vgg16: vgg16Names, resnet50: resnet50Names, mobilenet_v2: mobilenetV2Names, efficientnetb0: efficientnetB0Names };
    for (const arch of ['vgg16', 'resnet50', 'mobilenet_v2', 'efficientnetb0'] as const) {
      for (const includeTop of [false, true]) expect(detectArchitecture(expected[arch](includeTop))).toEqual({ architecture: arch, includeTop });
      expect(ARCHITECTURES[arch].params.notop).toBeGreaterThan(0);
    }
    expect(detectArchitecture(['conv1', 'dense_1'])).toBeNull();
    // ResNet50's first Keras release names layers the Caffe way; they map onto Keras' current names.
    expect(['conv1', 'bn_conv1', 'res2a_branch2a', 'bn2a_branch1', 'res5c_branch2c', 'fc1000'].map(modernResnetName)).toEqual([
      'conv1_conv', 'conv1_bn', 'conv2_block1_1_conv', 'conv2_block1_0_bn', 'conv5_block3_3_conv', 'predictions',
    ]);
  });
});
