import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { seededRandom } from '../../../src/shared/random';
import { featureNeighbours } from '../../../src/main/engine/feature-neighbours';

describe('feature neighbours by blocked matrix products', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('finds exactly the pairs a brute-force top-k finds, across blocks', async () => {
    const random = seededRandom(4);
    const n = 700;
    const dim = 16;
    const x = Float32Array.from({ length: n * dim }, () => random() - 0.3);
    const k = 5;
    const minCosine = 0.3;
    const r = await featureNeighbours({ features: x, dim, k, minCosine });
    const norm = (i: number) => Math.hypot(...x.subarray(i * dim, (i + 1) * dim));
    const cos = (i: number, j: number) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += x[i * dim + d]! * x[j * dim + d]!;
      return s / (norm(i) * norm(j));
    };
    const expected = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const best = Array.from({ length: n }, (_, j) => ({ j, c: j === i ? -2 : cos(i, j) }))
        .filter((b) => b.c >= minCosine)
        .sort((a, b) => b.c - a.c)
        .slice(0, k);
      for (const b of best) expected.set(i < b.j ? `${i}-${b.j}` : `${b.j}-${i}`, b.c);
    }
    expect(r.pairs.map((p) => `${p.a}-${p.b}`).sort()).toEqual([...expected.keys()].sort());
    for (const p of r.pairs) expect(p.cosine).toBeCloseTo(expected.get(`${p.a}-${p.b}`)!, 4);
  });

  it('cancels between blocks; refuses a bad shape', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await featureNeighbours({ features: new Float32Array(600 * 4).fill(1), dim: 4, signal: controller.signal })).state).toBe('cancelled');
    await expect(featureNeighbours({ features: new Float32Array(7), dim: 4 })).rejects.toThrow(/whole number of rows of 4/);
  });
});
