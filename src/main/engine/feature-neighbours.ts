/**
 * The nearest neighbours of every image by cosine similarity of its features, exactly, without an
 * n x n matrix: rows are L2-normalised, then similarities are computed by blocked matrix products
 * (a block of rows against a tile of columns, a few MB at a time) and each row keeps its best k
 * in a small sorted list. Memory O(n k + tile); time O(n^2 dim) in TensorFlow.js's matMul, which
 * is why it runs in the engine. Candidates for the near-duplicate check (audit/near-duplicates.ts).
 */
import * as tf from '@tensorflow/tfjs';

const ROWS = 512;
const COLS = 4096;

export interface NeighbourPair {
  a: number;
  b: number;
  cosine: number;
}

export interface FeatureNeighboursInput {
  /** Row-major [n, dim]. */
  features: Float32Array;
  dim: number;
  /** Neighbours kept per image (default 20). */
  k?: number;
  /** Only neighbours at least this similar (default 0.8: altered copies of Fashion-MNIST images measured 0.84 or more). */
  minCosine?: number;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

export interface FeatureNeighboursResult {
  state: 'succeeded' | 'cancelled';
  /** Unique pairs a < b: b among a's k nearest or a among b's. */
  pairs: NeighbourPair[];
}

function unitRows(x: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (x[i * dim + d] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) out[i * dim + d] = (x[i * dim + d] as number) * inv;
  }
  return out;
}

export async function featureNeighbours(input: FeatureNeighboursInput): Promise<FeatureNeighboursResult> {
  const { features, dim } = input;
  if (!(dim >= 1) || features.length % dim !== 0) throw new RangeError(`features has ${features.length} values, not a whole number of rows of ${dim}.`);
  const n = features.length / dim;
  const k = Math.max(1, Math.min(input.k ?? 20, n - 1));
  const minCosine = input.minCosine ?? 0.8;
  if (n < 2) return { state: 'succeeded', pairs: [] };
  const unit = unitRows(features, n, dim);
  // Per row its best k so far: similarities descending, and their column indices.
  const bestSim = new Float32Array(n * k).fill(-Infinity);
  const bestIdx = new Int32Array(n * k).fill(-1);
  const all = tf.tensor2d(unit, [n, dim]);
  try {
    for (let r0 = 0; r0 < n; r0 += ROWS) {
      if (input.signal?.aborted) return { state: 'cancelled', pairs: [] };
      const r1 = Math.min(n, r0 + ROWS);
      const block = tf.slice(all, [r0, 0], [r1 - r0, dim]);
      for (let c0 = 0; c0 < n; c0 += COLS) {
        const c1 = Math.min(n, c0 + COLS);
        const sims = tf.tidy(() => tf.matMul(block, tf.slice(all, [c0, 0], [c1 - c0, dim]), false, true));
        const v = (await sims.data()) as Float32Array;
        sims.dispose();
        const w = c1 - c0;
        for (let i = r0; i < r1; i++) {
          const base = i * k;
          for (let j = c0; j < c1; j++) {
            const s = v[(i - r0) * w + (j - c0)] as number;
            if (j === i || s < minCosine || s <= (bestSim[base + k - 1] as number)) continue;
            let p = k - 1;
            while (p > 0 && (bestSim[base + p - 1] as number) < s) {
              bestSim[base + p] = bestSim[base + p - 1] as number;
              bestIdx[base + p] = bestIdx[base + p - 1] as number;
              p--;
            }
            bestSim[base + p] = s;
            bestIdx[base + p] = j;
          }
        }
      }
      block.dispose();
      input.onProgress?.(r1 / n);
      await new Promise<void>((r) => setImmediate(r)); // let a cancel in
    }
  } finally {
    all.dispose();
  }
  const seen = new Map<number, NeighbourPair>();
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const j = bestIdx[i * k + p] as number;
      if (j < 0) break;
      const [a, b] = i < j ? [i, j] : [j, i];
      seen.set(a * n + b, { a, b, cosine: bestSim[i * k + p] as number });
    }
  }
  return { state: 'succeeded', pairs: [...seen.values()].sort((x, y) => x.a - y.a || x.b - y.b) };
}
