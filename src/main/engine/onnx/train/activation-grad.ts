/**
 * Backward of the activations the fold plan knows (frozen/plan.ts ActKind), as ONNX nodes for the
 * training graphs of scenarios 2-4. The forward is Graph.activation (emit.ts), the same definition
 * the frozen part runs. Values are NCHW (4-D) or [N, C] (2-D), float32.
 */
import type { Activation } from '../../frozen/plan';
import { OnnxUnsupportedError, type Graph } from '../emit';

/** Where the derivative is a 0/1 mask, as a float value. */
function mask(g: Graph, cond: string): string {
  return g.op('Cast', [cond], [{ name: 'to', type: 2, i: 1 }], 'mask');
}

/**
 * dL/dx of y = act(x), from dL/dy; `x` and `y` are both given so each derivative uses whichever is
 * cheaper. Kinds without a written derivative throw OnnxUnsupportedError (the trainer then falls
 * back to TensorFlow.js and says why).
 */
export function emitActivationGrad(g: Graph, act: Activation, x: string, y: string, dy: string): string {
  switch (act.kind) {
    case 'linear':
      return dy;
    case 'relu':
      return g.op('Mul', [dy, mask(g, g.op('Greater', [y, g.scalar('zero', 0)]))], [], 'dRelu');
    case 'relu6': {
      const inside = g.op('And', [g.op('Greater', [x, g.scalar('zero', 0)]), g.op('Less', [x, g.scalar('six', 6)])]);
      return g.op('Mul', [dy, mask(g, inside)], [], 'dRelu6');
    }
    default:
      throw new OnnxUnsupportedError(`no ONNX training graph yet for the ${act.kind} activation`);
  }
}
