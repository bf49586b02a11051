/**
 * What trains in scenarios 2-4: the trainable part of the network and the new head, with two
 * optimisers (the pretrained layers' learning rate and the head's). One training step on a batch,
 * and evaluation of a batch; the fit loop (scenario-finetune.ts) feeds them.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../../shared/domain';
import { crossEntropy, logitsOf, optimizerFor } from './head';
import type { TrainableNet } from './trainable-net';

export class Learner {
  private readonly netOptimizer: tf.Optimizer;
  private readonly headOptimizer: tf.Optimizer;
  private readonly headVars: tf.Variable[];

  constructor(
    readonly net: TrainableNet,
    readonly head: tf.Sequential,
    private readonly config: TrainConfig,
    /** The rate of the network's layers (lrPretrained, or lr when nothing is pretrained). */
    readonly netLr: number,
    private readonly classWeights: tf.Tensor1D | null,
  ) {
    this.netOptimizer = optimizerFor(config.optimizer, netLr);
    this.headOptimizer = optimizerFor(config.optimizer, config.lr);
    // LayerVariable.read() is the tf.Variable itself: the optimiser updates the head in place.
    this.headVars = head.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  private get numClasses(): number {
    return this.head.outputs[0]?.shape[1] ?? 0;
  }

  /** One optimisation step; the batch's mean loss and number of correct predictions. */
  step(x: tf.Tensor, y: Int32Array, dropSeed: number): { loss: number; correct: number } {
    const { net, head, config } = this;
    const out = tf.tidy(() => {
      const yIdx = tf.tensor1d(y, 'int32');
      let predicted: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const logits = logitsOf(head, net.forward(x, true), config.head.dropout, dropSeed);
        predicted = tf.keep(tf.argMax(logits, -1)); // kept past variableGrads' tidy, disposed below
        return crossEntropy(logits, yIdx, this.numClasses, this.classWeights);
      }, [...net.variables, ...this.headVars]);
      const pick = (vars: tf.Variable[]) => Object.fromEntries(vars.map((v) => [v.name, grads[v.name] as tf.Tensor]));
      this.netOptimizer.applyGradients(pick(net.variables));
      this.headOptimizer.applyGradients(pick(this.headVars));
      const pr = predicted as tf.Tensor | null;
      const correct = pr ? (tf.sum(tf.cast(tf.equal(pr, yIdx), 'float32')).dataSync()[0] ?? 0) : 0;
      pr?.dispose();
      return { loss: value.dataSync()[0] ?? 0, correct };
    });
    net.commitStatistics();
    return out;
  }

  /** Drops statistics of a failed step (batch-mode BatchNorm), so the next one starts clean. */
  abandonStep(): void {
    this.net.commitStatistics();
  }

  /** Summed loss and the predicted class of every image of a batch, in inference mode. */
  evaluate(x: tf.Tensor, y: Int32Array): { lossSum: number; predicted: Int32Array } {
    return tf.tidy(() => {
      const logits = logitsOf(this.head, this.net.forward(x, false), 0, null);
      const loss = crossEntropy(logits, tf.tensor1d(y, 'int32'), this.numClasses, null);
      return { lossSum: (loss.dataSync()[0] ?? 0) * y.length, predicted: Int32Array.from(tf.argMax(logits, -1).dataSync()) };
    });
  }

  dispose(): void {
    this.netOptimizer.dispose();
    this.headOptimizer.dispose();
  }
}
