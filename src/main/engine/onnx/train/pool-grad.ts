/**
 * Backward of pooling (MaxPooling2D, AveragePooling2D, GlobalMax/AveragePooling2D) for the training
 * graphs of scenarios 2-4, NCHW.
 */
import { OnnxUnsupportedError, type Graph } from '../emit';

export interface PoolSpec {
  kind: 'max' | 'avg';
  size: [number, number];
  strides: [number, number];
  padding: 'same' | 'valid';
}

/** dL/dx of a pooling layer; `inShape` is x's [C, H, W], `x` and `y` its input and output. */
export function emitPoolGrad(g: Graph, spec: PoolSpec, x: string, y: string, dy: string, inShape: [number, number, number]): string {
  void [g, spec, x, y, dy, inShape];
  throw new OnnxUnsupportedError(`no ONNX training graph yet for ${spec.kind} pooling`);
}

/**
 * dL/dx of global pooling over H and W; `dy` is [N, C] (or [N, C, 1, 1] with keepDims), x [N, C, H, W]
 * of `inShape` [C, H, W].
 */
export function emitGlobalPoolGrad(g: Graph, kind: 'max' | 'avg', x: string, y: string, dy: string, inShape: [number, number, number], keepDims: boolean): string {
  void [g, x, y, dy, inShape, keepDims];
  throw new OnnxUnsupportedError(`no ONNX training graph yet for global ${kind} pooling`);
}
