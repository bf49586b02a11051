/**
 * Backward of the layers that join values (Add, Subtract, Multiply, Average, Maximum, Minimum,
 * Concatenate), for the training graphs of scenarios 2-4. Values are NCHW (4-D) or [N, C] (2-D).
 * An input that was broadcast in the forward (squeeze-excite's [N, C, 1, 1] times [N, C, H, W])
 * gets its gradient summed back to its own shape.
 */
import { OnnxUnsupportedError, type Graph } from '../emit';

export type MergeOp = 'add' | 'sub' | 'mul' | 'avg' | 'max' | 'min';

/**
 * dL/d(each input) of y = op(inputs...), from dL/dy. `shapes` are the inputs' shapes without the
 * batch, NCHW order ([C, H, W] or [C]); `outShape` the output's.
 */
export function emitMergeGrad(g: Graph, op: MergeOp, inputs: string[], output: string, dy: string, shapes: number[][], outShape: number[]): string[] {
  const same = shapes.every((s) => s.length === outShape.length && s.every((d, i) => d === outShape[i]));
  if (op === 'add' && same) return inputs.map(() => dy);
  void output;
  throw new OnnxUnsupportedError(`no ONNX training graph yet for ${op} of these shapes`);
}

/** dL/d(each input) of Concatenate along `axis` (NCHW axis including the batch), inputs of `sizes` along it. */
export function emitConcatGrad(g: Graph, axis: number, dy: string, sizes: number[]): string[] {
  void g;
  void axis;
  void dy;
  void sizes;
  throw new OnnxUnsupportedError('no ONNX training graph yet for Concatenate');
}
