/** Small emitters the gradient files share (onnx/train/*-grad.ts). */
import { intAttr, type Graph } from '../emit';
import { ATTR, type AttributeMsg } from '../proto';

export function stringAttr(name: string, s: string): AttributeMsg {
  return { name, type: ATTR.STRING, s: new TextEncoder().encode(s) };
}

/**
 * A node with several outputs (Graph.op names one). The names carry the node count, which grows
 * with every node, so they are unique in the graph; Graph.op's names end in a bare number instead.
 */
export function multiOp(g: Graph, opType: string, input: string[], outputs: number, attribute: AttributeMsg[] = [], hint = opType): string[] {
  const base = `${hint}_m${g.nodes.length}`;
  const output = Array.from({ length: outputs }, (_, i) => `${base}_${i}`);
  g.nodes.push({ name: base, opType, input, output, attribute });
  return output;
}

/**
 * `v` (the gradient of a broadcast output, [N, ...outShape]) summed back to an input of `shape`
 * (both without the batch): over every axis where the input had 1 and the output more.
 */
export function sumToShape(g: Graph, v: string, shape: number[], outShape: number[]): string {
  if (shape.length !== outShape.length) throw new Error(`cannot reduce a gradient of rank ${outShape.length + 1} to rank ${shape.length + 1}`);
  const axes = shape.flatMap((d, i) => (d === 1 && outShape[i] !== 1 ? [i + 1] : []));
  return axes.length === 0 ? v : g.op('ReduceSum', [v, g.ints('axes', axes)], [intAttr('keepdims', 1)], 'sumTo');
}
