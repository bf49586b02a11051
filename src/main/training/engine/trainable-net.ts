/**
 * The trainable part of a pretrained network (scenarios 2-4): the chain of layers after the
 * freeze boundary up to the cut layer, run by our own forward so that BatchNorm does what the
 * plan says. tfjs' BatchNormalization normalises with batch statistics and moves its averages in
 * training even when trainable=false; here a BatchNorm layer is either
 *  - 'inference' mode (default): a fixed affine op from the moving statistics, y = x*s + b with
 *    s = gamma/sqrt(var+eps), b = beta - mean*s; gamma and beta train, the statistics never move;
 *  - 'batch' mode (trainBatchNorm, and scenario 3 which has no statistics to keep): batch
 *    statistics in training, and the moving averages updated after each step.
 * The variables are the cloned model's own LayerVariables, so the trained clone is the model
 * that is saved. Convolutions are plain ops (not the fused ones: their gradients only support
 * linear/relu). Weightless layers we do not special-case run through layer.apply in inference mode.
 */
import * as tf from '@tensorflow/tfjs';

export type BatchNormMode = 'inference' | 'batch';

export interface TrainableNet {
  /** The weights that train (kernels, biases, BatchNorm gamma/beta), never the moving statistics. */
  readonly variables: tf.Variable[];
  /** Size of the pooled output that feeds the head. */
  readonly outputDim: number;
  /** Pooled features [N, outputDim]; `training` selects batch statistics for 'batch'-mode BatchNorm. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor2D;
  /** Moves the moving averages by the statistics of the last training forward ('batch' mode). */
  commitStatistics(): void;
}

export class UnsupportedLayerError extends Error {}

type Config = Record<string, unknown>;
type Step = (x: tf.Tensor, training: boolean) => tf.Tensor;

function variable(layer: tf.layers.Layer, suffix: string): tf.Variable | null {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`) || v.name.endsWith(`/${suffix}`));
  // LayerVariable.read() returns its tf.Variable itself: gradients and assignments reach the layer.
  return w ? (w.read() as tf.Variable) : null;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

function activate(x: tf.Tensor, name: string, layer: tf.layers.Layer): tf.Tensor {
  if (name === 'linear') return x;
  if (name === 'relu') return tf.relu(x);
  if (name === 'relu6') return tf.relu6(x);
  throw new UnsupportedLayerError(`${layer.name}: activation "${name}" inside a conv layer is not supported for training.`);
}

function outputSize(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape;
  return ((Array.isArray(s[0]) ? s[0] : s) as (number | null)[]).slice(1).map((d) => d ?? -1);
}

/**
 * `statsMomentum` overrides the layers' own moving-average momentum (Keras' 0.99): statistics that
 * start from nothing (scenario 3) need a faster average, or the first epochs validate against init values.
 */
export function trainableNet(chain: readonly tf.layers.Layer[], mode: BatchNormMode, statsMomentum?: number): TrainableNet {
  const variables: tf.Variable[] = [];
  const pending: [tf.Variable, tf.Tensor, number][] = [];
  const steps: Step[] = [];
  for (const layer of chain) {
    const cls = layer.getClassName();
    const c = layer.getConfig() as Config;
    if (cls === 'InputLayer') continue;
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      if ((c['dataFormat'] ?? 'channelsLast') !== 'channelsLast') throw new UnsupportedLayerError(`${layer.name}: only channels-last convolutions train.`);
      const kernel = variable(layer, cls === 'Conv2D' ? 'kernel' : 'depthwise_kernel');
      if (!kernel) throw new UnsupportedLayerError(`${layer.name}: no kernel.`);
      const bias = variable(layer, 'bias');
      variables.push(kernel, ...(bias ? [bias] : []));
      const strides = pair(c['strides'], 1);
      const dilations = pair(c['dilationRate'], 1);
      const pad = c['padding'] === 'same' ? 'same' : 'valid';
      const act = String(c['activation'] ?? 'linear');
      steps.push((x) => {
        let y =
          cls === 'Conv2D'
            ? tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, pad, 'NHWC', dilations)
            : tf.depthwiseConv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, pad, 'NHWC', dilations);
        if (bias) y = tf.add(y, bias);
        return activate(y, act, layer);
      });
      continue;
    }
    if (cls === 'BatchNormalization') {
      const axis = Number(Array.isArray(c['axis']) ? c['axis'][0] : (c['axis'] ?? -1));
      if (axis !== -1 && axis !== 3) throw new UnsupportedLayerError(`${layer.name}: BatchNorm over axis ${axis} is not supported.`);
      const eps = Number(c['epsilon'] ?? 1e-3);
      const momentum = statsMomentum ?? Number(c['momentum'] ?? 0.99);
      const gamma = variable(layer, 'gamma');
      const beta = variable(layer, 'beta');
      const mean = variable(layer, 'moving_mean');
      const variance = variable(layer, 'moving_variance');
      if (!mean || !variance) throw new UnsupportedLayerError(`${layer.name}: no moving statistics.`);
      variables.push(...(gamma ? [gamma] : []), ...(beta ? [beta] : []));
      const affine = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => {
        const s = gamma ? tf.mul(tf.rsqrt(tf.add(v, eps)), gamma) : tf.rsqrt(tf.add(v, eps));
        const b = beta ? tf.sub(beta, tf.mul(m, s)) : tf.neg(tf.mul(m, s));
        return tf.add(tf.mul(x, s), b);
      };
      steps.push((x, training) => {
        if (mode === 'inference' || !training) return affine(x, mean, variance);
        const moments = tf.moments(x, [0, 1, 2]);
        // Kept past the step's tidy; committed (and disposed) by commitStatistics.
        const bm = tf.keep(moments.mean);
        const bv = tf.keep(moments.variance);
        pending.push([mean, bm, momentum], [variance, bv, momentum]);
        return affine(x, moments.mean, moments.variance);
      });
      continue;
    }
    if (layer.weights.length > 0) throw new UnsupportedLayerError(`${layer.name} (${cls}) has weights and cannot be trained by this engine yet.`);
    if (cls === 'Activation' || cls === 'ReLU') {
      const a = String(c['activation'] ?? '');
      if (cls === 'Activation' && (a === 'relu' || a === 'relu6' || a === 'linear')) {
        steps.push((x) => activate(x, a, layer));
        continue;
      }
    }
    if (cls === 'GlobalAveragePooling2D') {
      steps.push((x) => tf.mean(x, [1, 2]));
      continue;
    }
    // Dropout inside the pretrained trunk stays off, as in the frozen forward.
    steps.push((x) => layer.apply(x, { training: false }) as tf.Tensor);
  }
  const last = chain[chain.length - 1];
  const shape = last ? outputSize(last) : [];
  const outputDim = shape.length === 3 ? (shape[2] ?? 0) : shape.reduce((a, b) => a * b, 1);
  return {
    variables,
    outputDim,
    forward: (x, training) => {
      let y = x;
      for (const step of steps) y = step(y, training);
      return (y.rank === 4 ? tf.mean(y, [1, 2]) : tf.reshape(y, [y.shape[0] ?? -1, outputDim])) as tf.Tensor2D;
    },
    commitStatistics: () => {
      for (const [v, batchValue, m] of pending.splice(0)) {
        tf.tidy(() => v.assign(tf.add(tf.mul(v, m), tf.mul(batchValue, 1 - m))));
        batchValue.dispose();
      }
    },
  };
}

/** He (Kaiming) normal initialisation of every conv kernel, zero biases, identity BatchNorm (scenario 3). */
export function heInitialise(chain: readonly tf.layers.Layer[], seed: number): void {
  chain.forEach((layer, i) => {
    const cls = layer.getClassName();
    tf.tidy(() => {
      for (const w of layer.weights) {
        const v = w.read() as tf.Variable;
        const name = w.originalName.split('/').pop() ?? '';
        if (name === 'kernel' || name === 'depthwise_kernel') {
          const [kh = 1, kw = 1, inC = 1] = v.shape;
          const fanIn = cls === 'DepthwiseConv2D' ? kh * kw : kh * kw * inC;
          v.assign(tf.mul(tf.truncatedNormal(v.shape, 0, 1, 'float32', seed + 31 * i), Math.sqrt(2 / fanIn) / 0.8796));
        } else if (name === 'bias' || name === 'beta' || name === 'moving_mean') {
          v.assign(tf.zerosLike(v));
        } else if (name === 'gamma' || name === 'moving_variance') {
          v.assign(tf.onesLike(v));
        }
      }
    });
  });
}
