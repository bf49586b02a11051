/**
 * BatchNormalization that learns from the batch (scenario 3, and trainBatchNorm): the forward with
 * batch statistics and its backward, for the training graphs of scenarios 2-4, NCHW (channel axis 1).
 * BatchNorm with fixed moving statistics (scenarios 2 and 4) is a per-channel affine and needs none
 * of this. The batch mean and variance are graph outputs: the trainer moves the moving averages
 * with them after the step, as trainable-net.ts does on TensorFlow.js.
 */
import { OnnxUnsupportedError, type Graph } from '../emit';

export interface BatchNormTrainValues {
  y: string;
  /** Per-channel batch mean and (biased) variance, [C]. */
  mean: string;
  variance: string;
  /** What the backward needs. */
  xhat: string;
  invStd: string;
}

/** y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta over the batch and (4-D) H and W. */
export function emitBatchNormTrain(g: Graph, x: string, gamma: string, beta: string, epsilon: number, rank: 2 | 4): BatchNormTrainValues {
  void [g, x, gamma, beta, epsilon, rank];
  throw new OnnxUnsupportedError('no ONNX training graph yet for BatchNormalization with batch statistics');
}

/** dL/dx, dL/dgamma, dL/dbeta of emitBatchNormTrain's y, from dL/dy. */
export function emitBatchNormTrainGrad(g: Graph, dy: string, values: BatchNormTrainValues, gamma: string, rank: 2 | 4): { dx: string; dgamma: string; dbeta: string } {
  void [g, dy, values, gamma, rank];
  throw new OnnxUnsupportedError('no ONNX training graph yet for BatchNormalization with batch statistics');
}
