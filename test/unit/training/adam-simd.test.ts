/**
 * The WebAssembly SIMD Adam (float32, 4 lanes) against the scalar JavaScript Adam (double
 * arithmetic, float32 storage) over several steps, on a length that is not a multiple of 4; and the
 * JavaScript momentum update against its formula.
 */
import { describe, expect, it } from 'vitest';
import { ADAM, adamSimd } from '../../../src/main/engine/onnx/adam-simd';
import { optimizerUpdate } from '../../../src/main/engine/head-step-onnx';
import { seededRandom } from '../../../src/shared/random';

const P = 1031;

function randomArray(n: number, seed: number, scale: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * scale);
}

describe('optimiser updates of the ONNX Runtime head step', () => {
  it('Adam in WebAssembly SIMD equals the JavaScript loop', () => {
    const simd = adamSimd(P);
    if (!simd) throw new Error('WebAssembly SIMD is missing');
    const flat = randomArray(P, 1, 0.2);
    simd.flat.set(flat);
    const state = { t: 0, m: new Float32Array(P), v: new Float32Array(P) };
    const lr = 0.003;
    for (let t = 1; t <= 6; t++) {
      const grad = randomArray(P, 10 + t, t % 2 ? 1 : 0.01);
      optimizerUpdate(flat, grad, state, 'adam', lr);
      simd.grad.set(grad);
      simd.update(lr / (1 - ADAM.beta1 ** t), 1 / Math.sqrt(1 - ADAM.beta2 ** t));
    }
    let moved = 0;
    const start = randomArray(P, 1, 0.2);
    for (let i = 0; i < P; i++) {
      expect(Math.abs((simd.flat[i] as number) - (flat[i] as number))).toBeLessThan(1e-6);
      expect(Math.abs((simd.m[i] as number) - (state.m[i] as number))).toBeLessThan(1e-6);
      expect(Math.abs((simd.v[i] as number) - (state.v[i] as number))).toBeLessThan(1e-6);
      moved = Math.max(moved, Math.abs((flat[i] as number) - (start[i] as number)));
    }
    expect(moved).toBeGreaterThan(0.01); // six steps of lr 0.003 really moved the parameters
  });

  it('momentum: m = 0.9 m + g; p -= lr m', () => {
    const flat = Float32Array.of(1, 2);
    const state = { t: 0, m: new Float32Array(2), v: null };
    optimizerUpdate(flat, Float32Array.of(1, -1), state, 'sgd', 0.1);
    optimizerUpdate(flat, Float32Array.of(1, -1), state, 'sgd', 0.1);
    expect(Array.from(state.m)).toEqual([Math.fround(1.9), Math.fround(-1.9)]);
    expect(flat[0]).toBeCloseTo(1 - 0.1 - 0.19, 6);
    expect(flat[1]).toBeCloseTo(2 + 0.1 + 0.19, 6);
  });
});
