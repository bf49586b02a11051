/**
 * Backward of the layers that join values (Add, Subtract, Multiply, Average, Maximum, Minimum,
 * Concatenate), for the training graphs of scenarios 2-4. Values are NCHW (4-D) or [N, C] (2-D).
 * An input that was broadcast in the forward (squeeze-excite's [N, C, 1, 1] times [N, C, H, W])
 * gets its gradient summed back to its own shape.
 */
import { intAttr, type Graph } from '../emit';
import { multiOp, sumToShape } from './grad-util';

export type MergeOp = 'add' | 'sub' | 'mul' | 'avg' | 'max' | 'min';

/**
 * dL/d(each input) of y = op(inputs...), from dL/dy. `shapes` are the inputs' shapes without the
 * batch, NCHW order ([C, H, W] or [C]); `outShape` the output's.
 * Maximum and Minimum are TensorFlow.js' chains max(max(x0, x1), x2)..., whose gradient goes to `a`
 * of max(a, b) where a >= b (min: a <= b): at a tie the first input takes all of it.
 */
export function emitMergeGrad(g: Graph, op: MergeOp, inputs: string[], output: string, dy: string, shapes: number[][], outShape: number[]): string[] {
  void output;
  const back = (v: string, i: number) => sumToShape(g, v, shapes[i] as number[], outShape);
  switch (op) {
    case 'add':
      return inputs.map((_, i) => back(dy, i));
    case 'sub':
      return inputs.map((_, i) => back(i === 0 ? dy : g.op('Neg', [dy], [], 'dSub'), i));
    case 'avg': {
      const d = g.op('Mul', [dy, g.scalar('invK', 1 / inputs.length)], [], 'dAvg');
      return inputs.map((_, i) => back(d, i));
    }
    case 'mul':
      // Each input's gradient is dy times the product of the others.
      return inputs.map((_, i) => {
        const others = inputs.filter((__, j) => j !== i);
        return back(others.reduce((p, q) => g.op('Mul', [p, q], [], 'dMul'), dy), i);
      });
    case 'max':
    case 'min': {
      const keepsFirst = op === 'max' ? 'GreaterOrEqual' : 'LessOrEqual';
      // The running results r_0 = x0, r_i = op(r_{i-1}, x_i), and where r_{i-1} won step i.
      const wins: string[] = [];
      let r = inputs[0] as string;
      for (let i = 1; i < inputs.length; i++) {
        const x = inputs[i] as string;
        wins.push(g.op(keepsFirst, [r, x]));
        if (i < inputs.length - 1) r = g.op(op === 'max' ? 'Max' : 'Min', [r, x]);
      }
      const grads = new Array<string>(inputs.length);
      let d = dy;
      for (let i = inputs.length - 1; i >= 1; i--) {
        const win = wins[i - 1] as string;
        grads[i] = back(g.op('Where', [win, g.scalar('zero', 0), d], [], `d${op}`), i);
        d = g.op('Where', [win, d, g.scalar('zero', 0)], [], `d${op}`);
      }
      grads[0] = back(d, 0);
      return grads;
    }
  }
}

/** dL/d(each input) of Concatenate along `axis` (NCHW axis including the batch), inputs of `sizes` along it. */
export function emitConcatGrad(g: Graph, axis: number, dy: string, sizes: number[]): string[] {
  if (sizes.length === 1) return [dy];
  return multiOp(g, 'Split', [dy, g.ints('split', sizes)], sizes.length, [intAttr('axis', axis)], 'dConcat');
}
