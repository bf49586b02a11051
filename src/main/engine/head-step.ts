/**
 * One training step of a dense head on cached features, with the gradients written out by hand
 * instead of TensorFlow.js' gradient tape and optimiser: on small matrices the per-operation cost
 * of the tape and of a per-variable optimiser dominates, so the step uses as few operations as it
 * can. All parameters live in one flat variable (Adam or momentum update in a handful of ops on the
 * whole vector); the forward runs fused matMul + bias + activation. The mathematics are the same as
 * tf.train.adam / tf.train.momentum on the mean (class-weighted) cross-entropy with inverted dropout.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../shared/domain';

type Act = TrainConfig['head']['activation'];

/** The activation's derivative from its output y (every supported activation allows that). */
function actGrad(act: Act, y: tf.Tensor): tf.Tensor {
  switch (act) {
    case 'relu':
      return tf.step(y);
    case 'elu':
      return tf.where(tf.greater(y, 0), tf.onesLike(y), tf.add(y, 1));
    case 'tanh':
      return tf.sub(1, tf.square(y));
    case 'sigmoid':
      return tf.mul(y, tf.sub(1, y));
  }
}

export interface StepResult {
  /** The batch's loss (class-weighted mean) before the update. */
  loss: number;
  /** Its number of correct predictions. */
  correct: number;
}

/** One training step of the head, whichever runtime runs it (this file's tfjs one, or head-step-onnx.ts). */
export interface HeadStep {
  /** What runs the steps, in words (logs and the run record). */
  readonly kind: string;
  /** `masks`: the dropout masks of the hidden layers (scaled); drawn from `dropSeed` when absent. */
  step(xb: Float32Array, yb: Int32Array, dropSeed: number, masks?: Float32Array[]): StepResult | Promise<StepResult>;
  /** The current parameters, shaped as the head model's weights (the caller owns them). */
  weights(): tf.Tensor[];
  /** Log-probabilities [n, classes] of n rows with the current parameters, when the step has its own forward pass. */
  logProbs?(x: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

/** Loss (weighted by `w` when given) and correct count of a batch from its log-probabilities [n, k]. */
export function batchScore(logp: Float32Array, yb: Int32Array, k: number, w: Float32Array | null): StepResult {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < yb.length; i++) {
    const y = yb[i] as number;
    let best = 0;
    for (let c = 1; c < k; c++) if ((logp[i * k + c] as number) > (logp[i * k + best] as number)) best = c;
    if (best === y) correct++;
    loss -= (w ? (w[y] as number) : 1) * (logp[i * k + y] as number);
  }
  return { loss: loss / yb.length, correct };
}

export class HeadStepper implements HeadStep {
  readonly kind = 'TensorFlow.js';
  private readonly flat: tf.Variable;
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  private readonly shapes: number[][];
  private t = 0;

  /** `weights`: kernel, bias per dense layer, in order (the head model's own initial weights). */
  constructor(
    weights: tf.Tensor[],
    private readonly config: TrainConfig,
    private readonly numClasses: number,
    private readonly classWeights: tf.Tensor1D | null,
  ) {
    this.shapes = weights.map((w) => w.shape);
    this.flat = tf.variable(tf.concat(weights.map((w) => tf.reshape(w, [-1]))), true, undefined, 'float32');
    this.m = tf.variable(tf.zerosLike(this.flat));
    this.v = tf.variable(tf.zerosLike(this.flat));
  }

  private params(): tf.Tensor[] {
    return tf.split(this.flat, this.shapes.map((s) => s.reduce((a, b) => a * b, 1))).map((p, i) => tf.reshape(p, this.shapes[i] as number[]));
  }

  /** One update on a batch; returns the batch's loss (class-weighted mean) and its number of correct predictions. */
  step(xb: Float32Array, yb: Int32Array, dropSeed: number, givenMasks?: Float32Array[]): StepResult {
    const n = yb.length;
    const dim = xb.length / n;
    const { lr, optimizer } = this.config;
    const rate = this.config.head.dropout;
    const act = this.config.head.activation;
    this.t++;
    const probs = tf.tidy(() => {
      const p = this.params();
      const layers = p.length / 2;
      const x = tf.tensor2d(xb, [n, dim]);
      // Forward: inputs of each dense layer (after dropout) and the hidden outputs (for their derivative).
      const inputs: tf.Tensor2D[] = [x];
      const hidden: tf.Tensor2D[] = [];
      const masks: (tf.Tensor | null)[] = [];
      let h: tf.Tensor2D = x;
      for (let l = 0; l < layers - 1; l++) {
        h = tf.fused.matMul({ a: h, b: p[2 * l] as tf.Tensor2D, bias: p[2 * l + 1], activation: act === 'tanh' ? 'linear' : act }) as tf.Tensor2D;
        if (act === 'tanh') h = tf.tanh(h);
        hidden.push(h);
        let mask: tf.Tensor | null = null;
        const given = givenMasks?.[l];
        if (given) {
          mask = tf.tensor2d(given, h.shape);
          h = tf.mul(h, mask) as tf.Tensor2D;
        } else if (rate > 0) {
          mask = tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(h.shape, 0, 1, 'float32', dropSeed + l), rate), 'float32'), 1 - rate);
          h = tf.mul(h, mask) as tf.Tensor2D;
        }
        masks.push(mask);
        inputs.push(h);
      }
      const logits = tf.fused.matMul({ a: h, b: p[2 * layers - 2] as tf.Tensor2D, bias: p[2 * layers - 1] });
      const probs = tf.softmax(logits);
      // d(mean weighted CE)/d logits = w_y (softmax - onehot) / n.
      const yIdx = tf.tensor1d(yb, 'int32');
      let dz: tf.Tensor2D = tf.sub(probs, tf.oneHot(yIdx, this.numClasses));
      dz = this.classWeights ? tf.mul(dz, tf.reshape(tf.gather(this.classWeights, yIdx), [n, 1])) : dz;
      dz = tf.div(dz, n);
      const grads: tf.Tensor[] = new Array<tf.Tensor>(p.length);
      for (let l = layers - 1; l >= 0; l--) {
        const a = inputs[l] as tf.Tensor2D;
        grads[2 * l] = tf.matMul(tf.transpose(a), dz);
        grads[2 * l + 1] = tf.sum(dz, 0);
        if (l === 0) break;
        let dh: tf.Tensor2D = tf.matMul(dz, tf.transpose(p[2 * l] as tf.Tensor2D));
        const mask = masks[l - 1];
        if (mask) dh = tf.mul(dh, mask);
        dz = tf.mul(dh, actGrad(act, hidden[l - 1] as tf.Tensor2D));
      }
      const g = tf.concat(grads.map((gr) => tf.reshape(gr, [-1])));
      if (optimizer === 'sgd') {
        // tf.train.momentum: accumulation = 0.9 * accumulation + g; w -= lr * accumulation.
        this.m.assign(tf.add(tf.mul(this.m, 0.9), g));
        this.flat.assign(tf.sub(this.flat, tf.mul(this.m, lr)));
      } else {
        // tf.train.adam (beta1 0.9, beta2 0.999, epsilon 1e-7), bias-corrected.
        const b1 = 0.9;
        const b2 = 0.999;
        this.m.assign(tf.add(tf.mul(this.m, b1), tf.mul(g, 1 - b1)));
        this.v.assign(tf.add(tf.mul(this.v, b2), tf.mul(tf.square(g), 1 - b2)));
        const mHat = tf.div(this.m, 1 - b1 ** this.t);
        const vHat = tf.div(this.v, 1 - b2 ** this.t);
        this.flat.assign(tf.sub(this.flat, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), 1e-7)), lr)));
      }
      return probs;
    });
    const pv = probs.dataSync();
    probs.dispose();
    const logp = Float32Array.from(pv, (p) => Math.log(Math.max(p, 1e-30)));
    return batchScore(logp, yb, this.numClasses, (this.classWeights?.dataSync() as Float32Array | undefined) ?? null);
  }

  /** The current parameters, shaped as the head model's weights (the caller owns them). */
  weights(): tf.Tensor[] {
    return tf.tidy(() => this.params());
  }

  dispose(): void {
    this.flat.dispose();
    this.m.dispose();
    this.v.dispose();
  }
}
