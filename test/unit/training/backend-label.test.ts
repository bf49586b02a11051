/** What the run view says a run ran on: the backend, the frozen part's runtime, and the server when it trained over ssh. */
import { describe, expect, it } from 'vitest';
import { backendLabel } from '../../../src/renderer/components/runs';

describe('backendLabel', () => {
  const local = { name: 'wasm' as const, simd: true, threads: 2, inference: { runtime: 'onnxruntime' as const, provider: 'cpu' as const, threads: 2 } };
  it('names this machine by saying nothing, a server by its host', () => {
    expect(backendLabel(local)).toBe('WebAssembly · SIMD on · 2 threads · frozen part: ONNX Runtime (CPU, 2 threads)');
    expect(backendLabel({ ...local, server: { address: 'ssh://gpu-box', hostname: 'gpu-box', version: '0.1.0' } })).toBe(
      'WebAssembly · SIMD on · 2 threads · frozen part: ONNX Runtime (CPU, 2 threads) · on gpu-box over SSH',
    );
  });
  it('says what ran the training steps when it was ONNX Runtime (scenarios 2-4), else the TensorFlow.js backend', () => {
    const onnx = { runtime: 'onnxruntime' as const, provider: 'cpu' as const, threads: 2, version: '1.30.0' };
    expect(backendLabel({ ...local, training: onnx })).toBe('trained on ONNX Runtime 1.30.0 (CPU, 2 threads) · frozen part: ONNX Runtime (CPU, 2 threads)');
    expect(backendLabel({ ...local, training: { runtime: 'tfjs', reason: 'onnxruntime is turned off' } })).toBe(backendLabel(local));
  });
});
