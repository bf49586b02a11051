/**
 * Keras' Normalization layer, which TensorFlow.js lacks (EfficientNet's stem uses it): per channel
 * (x - mean) / max(sqrt(variance), 1e-7), with Keras' weights in Keras' order (mean, variance,
 * count) so a Keras file's weights map onto it by name and position. Registered under Keras' class
 * name, so configs and saved classifiers that contain it deserialize. Only the last (channel) axis
 * is supported, which is what Keras' image models use; any other axis is refused by name.
 */
import * as tf from '@tensorflow/tfjs';

/** Keras' backend.epsilon(), the floor of the standard deviation. */
const EPSILON = 1e-7;

export interface NormalizationArgs {
  name?: string;
  axis?: number | number[] | null;
  /** Fixed statistics from the config (Keras' Normalization(mean=..., variance=...)): then the layer has no weights. */
  mean?: number | number[] | null;
  variance?: number | number[] | null;
  invert?: boolean;
  trainable?: boolean;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

const asList = (v: number | number[] | null | undefined): number[] | null => (v == null ? null : Array.isArray(v) ? v : [v]);

export class Normalization extends tf.layers.Layer {
  static className = 'Normalization';
  private readonly axis: number;
  private readonly fixedMean: number[] | null;
  private readonly fixedVariance: number[] | null;
  private readonly invert: boolean;
  private mean: tf.LayerVariable | null = null;
  private variance: tf.LayerVariable | null = null;

  constructor(args: NormalizationArgs = {}) {
    super({ ...args, trainable: false });
    const axes = asList(args.axis ?? -1) ?? [-1];
    if (axes.length !== 1) throw new Error(`Normalization layer "${args.name ?? ''}": only one channel axis is supported, not ${JSON.stringify(args.axis)}.`);
    this.axis = axes[0]!;
    this.fixedMean = asList(args.mean);
    this.fixedVariance = asList(args.variance);
    this.invert = args.invert === true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const axis = this.axis < 0 ? shape.length + this.axis : this.axis;
    if (axis !== shape.length - 1) throw new Error(`Normalization layer "${this.name}": axis ${this.axis} is not the channel (last) axis; only channel normalization is supported.`);
    const channels = shape[axis] ?? 1;
    if (!this.fixedMean) {
      // Keras' own weight names and order: mean, variance, count (count is bookkeeping of adapt()).
      this.mean = this.addWeight('mean', [channels], 'float32', tf.initializers.zeros(), undefined, false);
      this.variance = this.addWeight('variance', [channels], 'float32', tf.initializers.ones(), undefined, false);
      this.addWeight('count', [], 'float32', tf.initializers.zeros(), undefined, false);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const mean = this.mean ? this.mean.read() : tf.tensor1d(this.fixedMean ?? [0]);
      const variance = this.variance ? this.variance.read() : tf.tensor1d(this.fixedVariance ?? [1]);
      const std = tf.maximum(tf.sqrt(variance), EPSILON);
      return this.invert ? tf.add(tf.mul(x, std), mean) : tf.div(tf.sub(x, mean), std);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, mean: this.fixedMean, variance: this.fixedVariance, invert: this.invert };
  }
}

tf.serialization.registerClass(Normalization);
