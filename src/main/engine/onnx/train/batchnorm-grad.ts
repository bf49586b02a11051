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
  /** What the backward needs: the normalised x, and 1 / sqrt(var + eps) shaped [1, C, 1, 1] (rank 4) or [1, C]. */
  xhat: string;
  invStd: string;
}

/** Every axis but the channels'. */
const reduceAxes = (rank: 2 | 4) => (rank === 4 ? [0, 2, 3] : [0]);

/** 1 / (cells per channel), from the dynamic batch: size(v) / size(perChannel). */
function invCount(g: Graph, v: string, perChannel: string): string {
  const m = g.op('Div', [g.op('Size', [v]), g.op('Size', [perChannel])]);
  return g.op('Reciprocal', [g.op('Cast', [m], [intAttr('to', 1)])], [], 'invCount');
}

/**
 * y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta over the batch and (4-D) H and W. `gamma` and
 * `beta` are [C] (the caller passes ones / zeros for a layer without scale / center).
 */
export function emitBatchNormTrain(g: Graph, x: string, gamma: string, beta: string, epsilon: number, rank: 2 | 4): BatchNormTrainValues {
  // At opset 17 ReduceMean and ReduceSumSquare take their axes as an attribute (ReduceSum as an input).
  const keep = [intsAttr('axes', reduceAxes(rank)), intAttr('keepdims', 1)];
  const meanK = g.op('ReduceMean', [x], keep, 'bnMean');
  const centred = g.op('Sub', [x, meanK]);
  const varK = g.op('Mul', [g.op('ReduceSumSquare', [centred], keep), invCount(g, x, meanK)], [], 'bnVar');
  const invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [varK, g.scalar('eps', epsilon)])])], [], 'bnInvStd');
  const xhat = g.op('Mul', [centred, invStd], [], 'bnXhat');
  const flat = g.ints('flat', [-1]);
  const mean = g.op('Reshape', [meanK, flat], [], 'bnBatchMean');
  const variance = g.op('Reshape', [varK, flat], [], 'bnBatchVar');
  // ONNX's own (inference) BatchNormalization fed the batch statistics: one pass for scale and shift.
  const y = g.op('BatchNormalization', [x, gamma, beta, mean, variance], [floatAttr('epsilon', epsilon)], 'bnTrain');
  return { y, mean, variance, xhat, invStd };
}

/**
 * dL/dx, dL/dgamma, dL/dbeta of emitBatchNormTrain's y, from dL/dy (the batch statistics depend on
 * x, so dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat))).
 */
export function emitBatchNormTrainGrad(g: Graph, dy: string, values: BatchNormTrainValues, gamma: string, rank: 2 | 4): { dx: string; dgamma: string; dbeta: string } {
  const { xhat, invStd } = values;
  const axes = g.ints('bnAxes', reduceAxes(rank));
  const keep = [intAttr('keepdims', 1)];
  const sumDy = g.op('ReduceSum', [dy, axes], keep);
  const sumDyXhat = g.op('ReduceSum', [g.op('Mul', [dy, xhat]), axes], keep);
  const flat = g.ints('flat', [-1]);
  const dbeta = g.op('Reshape', [sumDy, flat], [], 'dBeta');
  const dgamma = g.op('Reshape', [sumDyXhat, flat], [], 'dGamma');
  const inv = invCount(g, xhat, invStd);
  const k = g.op('Mul', [g.op('Reshape', [gamma, g.ints('chan', rank === 4 ? [1, -1, 1, 1] : [1, -1])]), invStd]);
  const a = g.op('Mul', [sumDy, inv]);
  const b = g.op('Mul', [sumDyXhat, inv]);
  const dx = g.op('Mul', [g.op('Sub', [dy, g.op('Add', [g.op('Mul', [xhat, b]), a])]), k], [], 'dBatchNorm');
  return { dx, dgamma, dbeta };
}
