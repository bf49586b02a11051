/**
 * How typical each image is of the pool it sits in, from its feature row: label-next weighs
 * uncertainty by it (audit/label-next.ts) and the engine computes it beside the ranking's features
 * (engine/audit-methods.ts). Pure arithmetic on float rows.
 */

/** Mean cosine similarity of each row to all rows (itself included), clamped to [0, 1]. */
export function poolDensity(features: Float32Array, dim: number): Float32Array {
  const n = features.length / dim;
  const unit = new Float32Array(features.length);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (features[i * dim + d] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) {
      const v = (features[i * dim + d] as number) * inv;
      unit[i * dim + d] = v;
      mean[d] = (mean[d] as number) + v / n;
    }
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += (unit[i * dim + d] as number) * (mean[d] as number);
    out[i] = Math.min(1, Math.max(0, dot));
  }
  return out;
}
