/**
 * The embedding map: cached features to 2-D points. PCA first (to 50 components: UMAP's neighbour
 * search is faster and less noisy on them, the usual practice), then UMAP (umap-js, PAIR's port of
 * McInnes' UMAP) with every random draw from a seeded generator, so the same features and seed
 * give the same map. Runs in the engine process: about 20 CPU seconds for 10,000 points of 256
 * features (PCA under 1, nearest neighbours and the fuzzy graph 9, the layout 9), minutes on 100,000.
 *
 * PCA: the covariance X'X by a TensorFlow.js matMul, its top components by subspace iteration
 * (seeded start, Gram-Schmidt), the small projected problem solved by Jacobi rotations.
 */
import * as tf from '@tensorflow/tfjs';
import { UMAP } from 'umap-js';
import { seededRandom } from '../../shared/random';

export interface PcaResult {
  /** Row-major [n, components]. */
  projected: Float32Array;
  components: number;
  /** Share of the total variance the kept components explain. */
  explained: number;
}

/** Eigenvalues and eigenvectors (columns of a row-major m x m matrix) of a symmetric matrix, by cyclic Jacobi. */
export function symmetricEigen(a: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(m * m);
  for (let i = 0; i < m; i++) V[i * m + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += (A[p * m + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = A[p * m + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((A[q * m + q] as number) - (A[p * m + p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = A[k * m + p] as number;
          const akq = A[k * m + q] as number;
          A[k * m + p] = c * akp - s * akq;
          A[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = A[p * m + k] as number;
          const aqk = A[q * m + k] as number;
          A[p * m + k] = c * apk - s * aqk;
          A[q * m + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = V[k * m + p] as number;
          const vkq = V[k * m + q] as number;
          V[k * m + p] = c * vkp - s * vkq;
          V[k * m + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: m }, (_, i) => A[i * m + i] as number), vectors: V };
}

/** Orthonormalise the columns of a row-major d x m matrix in place (modified Gram-Schmidt). */
function orthonormalise(q: Float64Array, d: number, m: number): void {
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let r = 0; r < d; r++) dot += (q[r * m + i] as number) * (q[r * m + j] as number);
      for (let r = 0; r < d; r++) q[r * m + j] = (q[r * m + j] as number) - dot * (q[r * m + i] as number);
    }
    let norm = 0;
    for (let r = 0; r < d; r++) norm += (q[r * m + j] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < d; r++) q[r * m + j] = (q[r * m + j] as number) / norm;
  }
}

/** The top `components` principal components of the rows of x (n x dim), projected. */
export function pca(x: Float32Array, n: number, dim: number, components: number, seed: number): PcaResult {
  const m = Math.max(1, Math.min(components, dim, n));
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] = (mean[d] as number) + (x[i * dim + d] as number) / n;
  const meanF = Float32Array.from(mean);
  const cov = tf.tidy(() => {
    const xc = tf.sub(tf.tensor2d(x, [n, dim]), tf.tensor1d(meanF));
    return tf.div(tf.matMul(xc, xc, true, false), Math.max(1, n - 1));
  });
  const C = Float64Array.from(cov.dataSync());
  cov.dispose();
  let total = 0;
  for (let d = 0; d < dim; d++) total += C[d * dim + d] as number;
  // Subspace iteration from a seeded random start: converges to the top-m eigenvectors of C.
  const random = seededRandom(seed);
  let q = Float64Array.from({ length: dim * m }, () => random() - 0.5);
  orthonormalise(q, dim, m);
  for (let it = 0; it < 12; it++) {
    const z = new Float64Array(dim * m);
    for (let r = 0; r < dim; r++) {
      for (let k = 0; k < dim; k++) {
        const c = C[r * dim + k] as number;
        if (c === 0) continue;
        for (let j = 0; j < m; j++) z[r * m + j] = (z[r * m + j] as number) + c * (q[k * m + j] as number);
      }
    }
    orthonormalise(z, dim, m);
    q = z;
  }
  // B = Q' C Q, then its eigenvectors rotate Q onto the principal axes.
  const cq = new Float64Array(dim * m);
  for (let r = 0; r < dim; r++) for (let k = 0; k < dim; k++) for (let j = 0; j < m; j++) cq[r * m + j] = (cq[r * m + j] as number) + (C[r * dim + k] as number) * (q[k * m + j] as number);
  const b = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) for (let r = 0; r < dim; r++) b[i * m + j] = (b[i * m + j] as number) + (q[r * m + i] as number) * (cq[r * m + j] as number);
  const { values, vectors } = symmetricEigen(b, m);
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => (values[j] as number) - (values[i] as number));
  const axes = new Float32Array(dim * m);
  for (let r = 0; r < dim; r++) {
    order.forEach((src, j) => {
      let v = 0;
      for (let k = 0; k < m; k++) v += (q[r * m + k] as number) * (vectors[k * m + src] as number);
      axes[r * m + j] = v;
    });
  }
  const projected = tf.tidy(() => tf.matMul(tf.sub(tf.tensor2d(x, [n, dim]), tf.tensor1d(meanF)), tf.tensor2d(axes, [dim, m])));
  const out = projected.dataSync() as Float32Array;
  projected.dispose();
  const kept = order.reduce((s, i) => s + Math.max(0, values[i] as number), 0);
  return { projected: Float32Array.from(out), components: m, explained: total > 0 ? kept / total : 0 };
}

export interface EmbeddingMapInput {
  /** Row-major [n, dim] cached features. */
  features: Float32Array;
  dim: number;
  seed?: number;
  /** PCA components before UMAP (default 50). */
  pcaComponents?: number;
  /** UMAP's neighbourhood size (default 15) and minimum distance (default 0.1). */
  neighbors?: number;
  minDist?: number;
  /** Layout epochs; default layoutEpochs(n). */
  epochs?: number;
  signal?: AbortSignal;
  onProgress?: (p: { phase: 'pca' | 'neighbours' | 'layout'; done: number }) => void;
}

/**
 * Layout epochs by map size: umap-js's defaults (500 up to 2,500 points, 400, 300, then 200 from
 * 7,500) below 10,000 points, 100 from there. The layout is most of UMAP's time (17 of 27 CPU
 * seconds for 10,000 points at 200 epochs) and grows with the points; on 10,000 Fashion-MNIST
 * features, 100 epochs keep the map's 15 nearest neighbours of the same class as often as 200 do
 * (73.6% against 73.9%) in half the layout time.
 */
export function layoutEpochs(n: number): number {
  return n <= 2500 ? 500 : n <= 5000 ? 400 : n <= 7500 ? 300 : n < 10000 ? 200 : 100;
}

export interface EmbeddingMapResult {
  state: 'succeeded' | 'cancelled';
  /** Row-major [n, 2]; empty when cancelled. */
  coordinates: Float32Array;
  pcaComponents: number;
  pcaExplained: number;
}

export async function embeddingMap(input: EmbeddingMapInput): Promise<EmbeddingMapResult> {
  const { features, dim } = input;
  const seed = input.seed ?? 42;
  if (!(dim >= 1) || features.length % dim !== 0) throw new RangeError(`features has ${features.length} values, not a whole number of rows of ${dim}.`);
  const n = features.length / dim;
  const cancelled = (p: PcaResult): EmbeddingMapResult => ({ state: 'cancelled', coordinates: new Float32Array(0), pcaComponents: p.components, pcaExplained: p.explained });
  input.onProgress?.({ phase: 'pca', done: 0 });
  const reduced = pca(features, n, dim, input.pcaComponents ?? 50, seed);
  const neighbours = Math.min(input.neighbors ?? 15, n - 1);
  // Too few points for a neighbour graph: the first two principal components are the map.
  if (neighbours < 2) {
    const coordinates = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) for (let j = 0; j < Math.min(2, reduced.components); j++) coordinates[i * 2 + j] = reduced.projected[i * reduced.components + j] as number;
    return { state: 'succeeded', coordinates, pcaComponents: reduced.components, pcaExplained: reduced.explained };
  }
  if (input.signal?.aborted) return cancelled(reduced);
  input.onProgress?.({ phase: 'neighbours', done: 0 });
  await new Promise<void>((r) => setImmediate(r));
  const rows = Array.from({ length: n }, (_, i) => Array.from(reduced.projected.subarray(i * reduced.components, (i + 1) * reduced.components)));
  const umap = new UMAP({ nComponents: 2, nNeighbors: neighbours, minDist: input.minDist ?? 0.1, random: seededRandom(seed), nEpochs: input.epochs ?? layoutEpochs(n) });
  // Fit only: the search graph umap-js builds in initializeFit serves transform() of new points,
  // which the map never calls (a tenth of the fit's set-up time at 10,000 points).
  (umap as unknown as { makeSearchGraph: () => null }).makeSearchGraph = () => null;
  const epochs = umap.initializeFit(rows);
  for (let e = 0; e < epochs; e++) {
    if (input.signal?.aborted) return cancelled(reduced);
    umap.step();
    if (e % 10 === 9) {
      input.onProgress?.({ phase: 'layout', done: (e + 1) / epochs });
      await new Promise<void>((r) => setImmediate(r)); // let a cancel in
    }
  }
  const coordinates = new Float32Array(n * 2);
  umap.getEmbedding().forEach((p, i) => coordinates.set(p, i * 2));
  input.onProgress?.({ phase: 'layout', done: 1 });
  return { state: 'succeeded', coordinates, pcaComponents: reduced.components, pcaExplained: reduced.explained };
}
