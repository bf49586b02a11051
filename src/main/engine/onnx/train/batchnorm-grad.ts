/**
 * BatchNormalization that learns from the batch (scenario 3, and trainBatchNorm): the forward with
 * batch statistics and its backward, for the training graphs of scenarios 2-4, NCHW (channel axis 1).
 * BatchNorm with fixed moving statistics (scenarios 2 and 4) is a per-channel affine and needs none
 * of this. The batch mean and variance are graph outputs: the trainer moves the moving averages
 * with them after the step, as trainable-net.ts does on TensorFlow.js (tf.moments: the biased
 * variance, mean of squared deviations, also what Keras moves its moving variance with).
 */
import { floatAttr, intAttr, intsAttr, type Graph } from '../emit';

export interface BatchNormTrainValues {
  y: string;
  /** Per-channel batch mean and (biased) variance, [C]. */
  mean: string;
  variance: string;
  /** What the backward needs: x, x - mean, 1 / sqrt(var + eps) shaped [1, C, 1, 1] (rank 4) or [1, C], eps. */
  x: string;
  centred: string;
  invStd: string;
  epsilon: number;
}

/** Every axis but the channels'. */
const reduceAxes = (rank: 2 | 4) => (rank === 4 ? [0, 2, 3] : [0]);

/** 1 / (cells per channel), from the dynamic batch: size(v) / size(perChannel). */
function invCount(g: Graph, v: string, perChannel: string): string {
  const m = g.op('Div', [g.op('Size', [v]), g.op('Size', [perChannel])]);
  return g.op('Reciprocal', [g.op('Cast', [m], [intAttr('to', 1)])], [], 'invCount');
}

/**
 * scale * (v - mean) / sqrt(variance + eps) + shift per channel, all [C]: ONNX's (inference)
 * BatchNormalization, one pass over v where a Sub, Mul, Mul and Add would each make one.
 */
function normalise(g: Graph, v: string, scale: string, shift: string, mean: string, variance: string, epsilon: number, hint: string): string {
  return g.op('BatchNormalization', [v, scale, shift, mean, variance], [floatAttr('epsilon', epsilon)], hint);
}

/**
 * y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta over the batch and (4-D) H and W. `gamma` and
 * `beta` are [C] (the caller passes ones / zeros for a layer without scale / center).
 */
export function emitBatchNormTrain(g: Graph, x: string, gamma: string, beta: string, epsilon: number, rank: 2 | 4): BatchNormTrainValues {
  // At opset 17 ReduceMean takes its axes as an attribute (ReduceSum as an input). Not
  // ReduceSumSquare: ONNX Runtime has no fast path for it over these axes (3x ReduceMean of a Mul).
  // The variance from the centred values (two passes), as tf.moments: E[x^2] - mean^2 cancels.
  const keep = [intsAttr('axes', reduceAxes(rank)), intAttr('keepdims', 1)];
  const meanK = g.op('ReduceMean', [x], keep, 'bnMean');
  const centred = g.op('Sub', [x, meanK], [], 'bnCentred');
  const varK = g.op('ReduceMean', [g.op('Mul', [centred, centred])], keep, 'bnVar');
  const invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [varK, g.scalar('eps', epsilon)])])], [], 'bnInvStd');
  const flat = g.ints('flat', [-1]);
  const mean = g.op('Reshape', [meanK, flat], [], 'bnBatchMean');
  const variance = g.op('Reshape', [varK, flat], [], 'bnBatchVar');
  const y = normalise(g, x, gamma, beta, mean, variance, epsilon, 'bnTrain');
  return { y, mean, variance, x, centred, invStd, epsilon };
}

/**
 * dL/dx, dL/dgamma, dL/dbeta of emitBatchNormTrain's y, from dL/dy. The batch statistics depend on
 * x, so dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)) with k = gamma * invStd and xhat the
 * normalised x; written as dy * k - (kb * xhat + ka), the bracket one normalise() of x.
 */
export function emitBatchNormTrainGrad(g: Graph, dy: string, values: BatchNormTrainValues, gamma: string, rank: 2 | 4): { dx: string; dgamma: string; dbeta: string } {
  const { x, centred, invStd, mean, variance, epsilon } = values;
  const axes = g.ints('bnAxes', reduceAxes(rank));
  const keep = [intAttr('keepdims', 1)];
  const sumDy = g.op('ReduceSum', [dy, axes], keep);
  const sumDyXhat = g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [dy, centred]), axes], keep), invStd]);
  const flat = g.ints('flat', [-1]);
  const dbeta = g.op('Reshape', [sumDy, flat], [], 'dBeta');
  const dgamma = g.op('Reshape', [sumDyXhat, flat], [], 'dGamma');
  const inv = invCount(g, centred, invStd);
  const k = g.op('Mul', [g.op('Reshape', [gamma, g.ints('chan', rank === 4 ? [1, -1, 1, 1] : [1, -1])]), invStd]);
  const ka = g.op('Reshape', [g.op('Mul', [g.op('Mul', [sumDy, inv]), k]), flat]);
  const kb = g.op('Reshape', [g.op('Mul', [g.op('Mul', [sumDyXhat, inv]), k]), flat]);
  const dx = g.op('Sub', [g.op('Mul', [dy, k]), normalise(g, x, kb, ka, mean, variance, epsilon, 'bnGradTerm')], [], 'dBatchNorm');
  return { dx, dgamma, dbeta };
}
