import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/engine/backend';
import { seededRandom } from '../../../src/shared/random';
import { embeddingMap, pca } from '../../../src/main/engine/embedding-map';

/** Three well separated Gaussian-ish blobs in 64 dimensions, 120 points each. */
function blobs() {
  const random = seededRandom(3);
  const dim = 64;
  const n = 360;
  const features = new Float32Array(n * dim);
  const label = Int32Array.from({ length: n }, (_, i) => i % 3);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) features[i * dim + d] = (d % 3 === label[i] ? 4 : 0) + random() + random() - 1;
  return { features, dim, label };
}

/** Share of points whose nearest other point on the map has the same blob. */
function neighbourAgreement(xy: Float32Array, label: Int32Array): number {
  let same = 0;
  for (let i = 0; i < label.length; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < label.length; j++) {
      if (j === i) continue;
      const d = (xy[2 * i]! - xy[2 * j]!) ** 2 + (xy[2 * i + 1]! - xy[2 * j + 1]!) ** 2;
      if (d < bestD) [bestD, best] = [d, j];
    }
    if (label[best] === label[i]) same++;
  }
  return same / label.length;
}

describe('embedding map', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('PCA recovers a plane hidden in 10 dimensions', () => {
    const random = seededRandom(1);
    const n = 200;
    const x = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) {
      const a = random() * 10;
      const b = random() * 3;
      for (let d = 0; d < 10; d++) x[i * 10 + d] = a * Math.sin(d + 1) + b * Math.cos(2 * d) + 5;
    }
    const r = pca(x, n, 10, 2, 42);
    expect(r.components).toBe(2);
    expect(r.explained).toBeGreaterThan(0.999);
    expect(pca(x, n, 10, 1, 42).explained).toBeLessThan(0.99);
  });

  it('is the same map for the same seed, keeps the blobs apart, reports progress, and cancels', async () => {
    const { features, dim, label } = blobs();
    const progress: string[] = [];
    const a = await embeddingMap({ features, dim, seed: 7, epochs: 150, onProgress: (p) => progress.push(p.phase) });
    const b = await embeddingMap({ features, dim, seed: 7, epochs: 150 });
    const c = await embeddingMap({ features, dim, seed: 8, epochs: 150 });
    expect(a.state).toBe('succeeded');
    expect(a.coordinates).toHaveLength(360 * 2);
    expect(Array.from(b.coordinates)).toEqual(Array.from(a.coordinates));
    expect(Array.from(c.coordinates)).not.toEqual(Array.from(a.coordinates));
    expect(neighbourAgreement(a.coordinates, label)).toBeGreaterThan(0.95);
    expect(new Set(progress)).toEqual(new Set(['pca', 'neighbours', 'layout']));
    const controller = new AbortController();
    const cancelled = await embeddingMap({ features, dim, seed: 7, epochs: 150, signal: controller.signal, onProgress: (p) => p.phase === 'layout' && controller.abort() });
    expect(cancelled.state).toBe('cancelled');
  });

  it('a handful of points gets its principal components; a bad shape is refused', async () => {
    const two = await embeddingMap({ features: Float32Array.from([0, 0, 1, 1, 2, 2]), dim: 3 });
    expect(two.coordinates).toHaveLength(4);
    expect(Math.abs(two.coordinates[0]! - two.coordinates[2]!)).toBeGreaterThan(1);
    await expect(embeddingMap({ features: new Float32Array(7), dim: 3 })).rejects.toThrow(/whole number of rows of 3/);
  });
});
