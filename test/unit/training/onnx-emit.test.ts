/**
 * The ONNX emitter without a runtime: the bytes decode as an ONNX ModelProto (our schema subset)
 * with NHWC -> NCHW handled at the edges, TensorFlow.js kernels laid out as ONNX wants them (OIHW;
 * depthwise as [C*M, 1, kh, kw] with group C), 'same' padding as SAME_UPPER, and a node it cannot
 * express refused by name. The runtime equality tests are in test/integration/engine/onnx.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { FoldPlan, PlanNode } from '../../../src/main/engine/frozen/plan';
import { emitOnnx, OnnxUnsupportedError } from '../../../src/main/engine/onnx/emit';
import { ModelProto } from '../../../src/main/engine/onnx/proto';
import { inferenceLabel } from '../../../src/shared/domain';

interface Decoded {
  irVersion: number;
  opsetImport: { version: number }[];
  graph: {
    node: { opType: string; input: string[]; output: string[]; attribute: { name: string; i?: number; ints?: number[]; s?: Uint8Array }[] }[];
    initializer: { name: string; dims: number[]; rawData: Uint8Array }[];
    input: { name: string }[];
    output: { name: string }[];
  };
}

function decode(bytes: Uint8Array): Decoded {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: true }) as unknown as Decoded;
}

const floats = (raw: Uint8Array) => Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));

function plan(nodes: PlanNode[], shapes: [number, (number | null)[]][], output: number): FoldPlan {
  return { inputShape: [4, 4, 2], input: 0, output, nodes, shapes: new Map([[0, [4, 4, 2]], ...shapes]) };
}

describe('ONNX emitter', () => {
  // conv 1x2 kernel (HWIO [1, 2, 2, 3]: value = 1000*h + 100*w + 10*i + o), then depthwise 3x1 with multiplier 2.
  const conv = Float32Array.from({ length: 12 }, (_, k) => {
    const o = k % 3;
    const i = Math.floor(k / 3) % 2;
    const w = Math.floor(k / 6);
    return 100 * w + 10 * i + o;
  });
  const depthwise = Float32Array.from({ length: 18 }, (_, k) => k); // [3, 1, 3, 2]
  const p = plan(
    [
      { name: 'c', inputs: [0], output: 1, op: 'conv', depthwise: false, kernel: conv, kernelShape: [1, 2, 2, 3], bias: Float32Array.of(1, 2, 3), strides: [1, 1], dilations: [1, 1], padding: 'same', act: { kind: 'relu6' } },
      { name: 'd', inputs: [1], output: 2, op: 'conv', depthwise: true, kernel: depthwise, kernelShape: [3, 1, 3, 2], bias: null, strides: [2, 2], dilations: [1, 1], padding: 'valid', act: { kind: 'linear' } },
    ],
    [
      [1, [4, 4, 3]],
      [2, [1, 2, 6]],
    ],
    2,
  );

  it('writes a valid ModelProto: opset 17, NHWC input transposed once, output transposed back', () => {
    const m = decode(emitOnnx(p, { pool: 'none', inputSize: 4, description: 'test' }));
    expect(m.irVersion).toBe(8);
    expect(m.opsetImport[0]?.version).toBe(17);
    const ops = m.graph.node.map((n) => n.opType);
    expect(ops).toEqual(['Transpose', 'Conv', 'Clip', 'Conv', 'Transpose', 'Identity']);
    expect(m.graph.node[0]?.attribute[0]?.ints).toEqual([0, 3, 1, 2]);
    expect(m.graph.node[4]?.attribute[0]?.ints).toEqual([0, 2, 3, 1]);
    expect(m.graph.input.map((i) => i.name)).toEqual(['input']);
    expect(m.graph.output.map((o) => o.name)).toEqual(['output']);
  });

  it('lays kernels out as OIHW, depthwise as [C*M, 1, kh, kw] with group C, same padding as SAME_UPPER', () => {
    const m = decode(emitOnnx(p, { pool: 'none', inputSize: 4, description: 'test' }));
    const init = new Map(m.graph.initializer.map((t) => [t.name, t]));
    const [c, d] = m.graph.node.filter((n) => n.opType === 'Conv');
    const cw = init.get(c?.input[1] ?? '');
    expect(cw?.dims).toEqual([3, 2, 1, 2]);
    // OIHW [o][i][0][w] = 100 w + 10 i + o
    expect(floats(cw?.rawData ?? new Uint8Array())).toEqual([0, 100, 10, 110, 1, 101, 11, 111, 2, 102, 12, 112]);
    expect(new TextDecoder().decode(c?.attribute.find((a) => a.name === 'auto_pad')?.s)).toBe('SAME_UPPER');
    expect(floats(init.get(c?.input[2] ?? '')?.rawData ?? new Uint8Array())).toEqual([1, 2, 3]);
    const dw = init.get(d?.input[1] ?? '');
    expect(dw?.dims).toEqual([6, 1, 3, 1]);
    // [ch*2 + k][0][h][0] = depthwise[(h * 3 + ch) * 2 + k]
    expect(floats(dw?.rawData ?? new Uint8Array())).toEqual([0, 6, 12, 1, 7, 13, 2, 8, 14, 3, 9, 15, 4, 10, 16, 5, 11, 17]);
    expect(d?.attribute.find((a) => a.name === 'group')?.i).toBe(3);
    expect(d?.attribute.find((a) => a.name === 'strides')?.ints).toEqual([2, 2]);
    expect(d?.input).toHaveLength(2); // no bias
  });

  it('pools to features with GlobalAveragePool + Flatten when asked', () => {
    const ops = decode(emitOnnx(p, { pool: 'avg', inputSize: 4, description: 'test' })).graph.node.map((n) => n.opType);
    expect(ops.slice(-3)).toEqual(['GlobalAveragePool', 'Flatten', 'Identity']);
  });

  it('refuses a layer it has no ONNX form for, by name', () => {
    const layer = { getClassName: () => 'PReLU' } as unknown as Extract<PlanNode, { op: 'layer' }>['layer'];
    const bad = plan([{ name: 'p_relu', inputs: [0], output: 1, op: 'layer', layer }], [[1, [4, 4, 2]]], 1);
    expect(() => emitOnnx(bad, { pool: 'none', inputSize: 4, description: 'x' })).toThrow(OnnxUnsupportedError);
    expect(() => emitOnnx(bad, { pool: 'none', inputSize: 4, description: 'x' })).toThrow(/p_relu \(PReLU\)/);
  });
});

describe('inferenceLabel', () => {
  it('names the runtime, provider and threads, or why TensorFlow.js runs it', () => {
    expect(inferenceLabel({ runtime: 'onnxruntime', provider: 'cuda', threads: 2, version: '1.30.0' })).toBe('ONNX Runtime 1.30.0 (CUDA, 2 threads)');
    expect(inferenceLabel({ runtime: 'tfjs', reason: 'onnxruntime is turned off' })).toBe('TensorFlow.js (onnxruntime is turned off)');
    expect(inferenceLabel(undefined)).toBe('TensorFlow.js');
  });
});
