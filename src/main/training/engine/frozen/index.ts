/**
 * The frozen part of a pretrained network (input .. cut layer), run for inference only, behind one
 * small interface. Two implementations:
 *  - `layersForward`: the tf.layers model truncated at the cut layer (reference, any topology);
 *  - `foldedForward`: BatchNorm folded into the preceding conv / depthwise conv (W' = W*s,
 *    b' = beta + (b - mean)*s with s = gamma / sqrt(var + eps)) and conv + bias + relu/relu6 run as
 *    one tf.fused.conv2d / tf.fused.depthwiseConv2d (wasm supports linear, relu, relu6, elu,
 *    sigmoid, leakyrelu, prelu fused). Layers it does not fold run through their own
 *    layer.apply(x, {training: false}); a non-chain topology (skip connections) falls back to
 *    `layersForward` entirely. Measured about 2x faster than the layers model on wasm (bench/engine.ts).
 * Frozen BatchNorm always runs in inference mode here (moving statistics), never batch statistics.
 */
import * as tf from '@tensorflow/tfjs';
import { requireLayer } from '../model-layers';

export interface FrozenForward {
  /** Output shape without the batch dimension, e.g. [256] or [7, 7, 256]. */
  readonly outputShape: number[];
  /** 'folded' or 'layers' (and how many layers fell back), for logs and benchmarks. */
  readonly kind: string;
  /** Run a batch [N, H, W, 3] already scaled to the model's input range. The caller disposes the result. */
  run(batch: tf.Tensor4D): tf.Tensor;
  dispose(): void;
}

export type Pooling = 'none' | 'avg';

export interface FrozenOptions {
  /** Global average pooling appended when the cut layer's output is 4-D ('avg'), or not. */
  pool?: Pooling;
}

type Step = (x: tf.Tensor) => tf.Tensor;

function cutShape(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape;
  const first = (Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
  return first.slice(1).map((d) => d ?? -1);
}

function pooledShape(shape: number[], pool: Pooling): number[] {
  return pool === 'avg' && shape.length === 3 ? [shape[2] ?? -1] : shape;
}

function maybePool(y: tf.Tensor, pool: Pooling): tf.Tensor {
  return pool === 'avg' && y.rank === 4 ? tf.mean(y, [1, 2]) : y;
}

/** The reference path: the layers model truncated at the cut layer. */
export function layersForward(model: tf.LayersModel, cutLayer: string, options: FrozenOptions = {}): FrozenForward {
  const pool = options.pool ?? 'avg';
  const layer = requireLayer(model, cutLayer);
  const truncated = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  return {
    outputShape: pooledShape(cutShape(layer), pool),
    kind: 'layers',
    run: (batch) =>
      tf.tidy(() => {
        const y = truncated.predict(batch) as tf.Tensor;
        return maybePool(y, pool);
      }),
    dispose: () => undefined, // shares the weights of `model`, which the caller owns
  };
}

/** Layers from the input to `cut` when every one has exactly one inbound layer, else null. */
export function chainTo(cut: tf.layers.Layer): tf.layers.Layer[] | null {
  const chain: tf.layers.Layer[] = [];
  let layer: tf.layers.Layer | undefined = cut;
  while (layer) {
    chain.unshift(layer);
    const nodes = layer.inboundNodes;
    if (nodes.length !== 1) return null;
    const inbound: tf.layers.Layer[] = nodes[0]?.inboundLayers ?? [];
    if (inbound.length === 0) break; // the InputLayer
    if (inbound.length !== 1) return null;
    layer = inbound[0];
  }
  return chain;
}

type Config = Record<string, unknown>;

function weight(layer: tf.layers.Layer, suffix: string): tf.Tensor | null {
  const v = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.name.endsWith(`/${suffix}`));
  return v ? v.read() : null;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

type FusedActivation = 'linear' | 'relu' | 'relu6';

/** relu / relu6 / linear as a fused activation, or null when the layer is another activation. */
function activationOf(layer: tf.layers.Layer): FusedActivation | null {
  const cls = layer.getClassName();
  const c = layer.getConfig() as Config;
  if (cls === 'Activation') {
    const a = String(c['activation']);
    return a === 'relu' || a === 'relu6' || a === 'linear' ? a : null;
  }
  if (cls === 'ReLU') {
    const max = c['maxValue'] ?? c['max_value'];
    const slope = Number(c['negativeSlope'] ?? c['negative_slope'] ?? 0);
    const threshold = Number(c['threshold'] ?? 0);
    if (slope !== 0 || threshold !== 0) return null;
    if (max == null) return 'relu';
    return Number(max) === 6 ? 'relu6' : null;
  }
  return null;
}

interface FoldResult {
  steps: Step[];
  owned: tf.Tensor[];
  fallbacks: string[];
}

function fold(chain: tf.layers.Layer[]): FoldResult {
  const steps: Step[] = [];
  const owned: tf.Tensor[] = [];
  const fallbacks: string[] = [];
  for (let i = 0; i < chain.length; i++) {
    const layer = chain[i] as tf.layers.Layer;
    const cls = layer.getClassName();
    const c = layer.getConfig() as Config;
    if (cls === 'InputLayer' || cls === 'Dropout' || cls === 'SpatialDropout1D' || cls === 'GaussianNoise' || cls === 'GaussianDropout') {
      continue; // identity at inference
    }
    const convLike = cls === 'Conv2D' || cls === 'DepthwiseConv2D';
    const dilation = pair(c['dilationRate'] ?? c['dilation_rate'], 1);
    const channelsLast = (c['dataFormat'] ?? c['data_format'] ?? 'channelsLast') !== 'channelsFirst';
    if (convLike && dilation[0] === 1 && dilation[1] === 1 && channelsLast && (cls === 'Conv2D' || Number(c['depthMultiplier'] ?? 1) >= 1)) {
      const kernel = weight(layer, cls === 'Conv2D' ? 'kernel' : 'depthwise_kernel');
      if (kernel) {
        const ownAct = String(c['activation'] ?? 'linear');
        let act: FusedActivation | null = ownAct === 'linear' || ownAct === 'relu' || ownAct === 'relu6' ? ownAct : null;
        if (act !== null) {
          const bias = weight(layer, 'bias');
          let j = i + 1;
          let w: tf.Tensor = kernel;
          let b: tf.Tensor | null = bias;
          const bnLayer = chain[j];
          if (act === 'linear' && bnLayer && bnLayer.getClassName() === 'BatchNormalization') {
            const bc = bnLayer.getConfig() as Config;
            const axis = Number(Array.isArray(bc['axis']) ? bc['axis'][0] : (bc['axis'] ?? -1));
            if (axis === -1 || axis === 3) {
              const eps = Number(bc['epsilon'] ?? 1e-3);
              const gamma = weight(bnLayer, 'gamma');
              const beta = weight(bnLayer, 'beta');
              const mean = weight(bnLayer, 'moving_mean');
              const variance = weight(bnLayer, 'moving_variance');
              if (mean && variance) {
                const folded = tf.tidy(() => {
                  const outC = mean.shape[0] ?? 0;
                  let s = tf.rsqrt(tf.add(variance, eps));
                  if (gamma) s = tf.mul(s, gamma);
                  const wShape = kernel.shape;
                  const sB = cls === 'Conv2D' ? s : tf.reshape(s, [wShape[2] ?? 1, wShape[3] ?? 1]);
                  const newW = tf.mul(kernel, sB);
                  const b0 = bias ?? tf.zeros([outC]);
                  let newB = tf.mul(tf.sub(b0, mean), s);
                  if (beta) newB = tf.add(newB, beta);
                  return [newW, newB] as [tf.Tensor, tf.Tensor];
                });
                w = folded[0];
                b = folded[1];
                owned.push(w, b);
                j++;
              }
            }
          }
          const next = chain[j];
          if (act === 'linear' && next) {
            const nextAct = activationOf(next);
            if (nextAct !== null) {
              act = nextAct;
              j++;
            }
          }
          const strides = pair(c['strides'], 1);
          const pad = String(c['padding'] ?? 'valid') === 'same' ? 'same' : 'valid';
          const filter = w;
          const biasT = b ?? undefined;
          const activation = act;
          if (cls === 'Conv2D') {
            steps.push((x) =>
              tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides, pad, bias: biasT, activation }),
            );
          } else {
            steps.push((x) =>
              tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides, pad, bias: biasT, activation }),
            );
          }
          i = j - 1;
          continue;
        }
      }
    }
    const act = activationOf(layer);
    if (act === 'relu') {
      steps.push((x) => tf.relu(x));
      continue;
    }
    if (act === 'relu6') {
      steps.push((x) => tf.relu6(x));
      continue;
    }
    if (act === 'linear') continue;
    if (cls === 'GlobalAveragePooling2D' && !(c['keepdims'] ?? c['keepDims'])) {
      steps.push((x) => tf.mean(x, [1, 2]));
      continue;
    }
    if (cls === 'GlobalMaxPooling2D' && !(c['keepdims'] ?? c['keepDims'])) {
      steps.push((x) => tf.max(x, [1, 2]));
      continue;
    }
    // Anything else runs as the layer itself, in inference mode.
    fallbacks.push(`${layer.name} (${cls})`);
    steps.push((x) => layer.apply(x, { training: false }) as tf.Tensor);
  }
  return { steps, owned, fallbacks };
}

/** Folded + fused path up to `cutLayer`; falls back to `layersForward` for non-chain topologies. */
export function foldedForward(model: tf.LayersModel, cutLayer: string, options: FrozenOptions = {}): FrozenForward {
  const pool = options.pool ?? 'avg';
  const cut = requireLayer(model, cutLayer);
  const chain = chainTo(cut);
  if (!chain) return layersForward(model, cutLayer, options);
  const { steps, owned, fallbacks } = fold(chain);
  return {
    outputShape: pooledShape(cutShape(cut), pool),
    kind: fallbacks.length ? `folded (${fallbacks.length} layers unfolded: ${fallbacks.join(', ')})` : 'folded',
    run: (batch) =>
      tf.tidy(() => {
        let x: tf.Tensor = batch;
        for (const step of steps) x = step(x);
        return maybePool(x, pool);
      }),
    dispose: () => {
      for (const t of owned) t.dispose();
      owned.length = 0;
    },
  };
}
