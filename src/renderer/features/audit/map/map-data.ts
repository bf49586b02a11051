/**
 * The embedding map as the host sends it (EmbeddingMapPage: base64 little-endian typed arrays)
 * turned into the map's typed arrays, pages joined. Nothing here makes an object per point.
 */
import type { EmbeddingMapPage } from '../../../../shared/domain';
import type { MapPoints } from './colouring';

function bytes(base64: string): Uint8Array {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A typed array of `count` values from base64, refusing a length that does not match (a damaged page). */
function typed<T>(base64: string, count: number, size: number, make: (buf: ArrayBuffer) => T, what: string): T {
  const b = bytes(base64);
  if (b.length !== count * size) throw new Error(`The map's ${what} hold ${b.length} bytes; ${count} points need ${count * size}.`);
  return make(b.buffer as ArrayBuffer);
}

export function decodeMapPage(page: EmbeddingMapPage): MapPoints {
  const n = page.count;
  const xy = typed(page.xy, n, 8, (b) => new Float32Array(b), 'coordinates');
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Drawn as they come (y down): a UMAP layout has no up.
    x[i] = xy[2 * i]!;
    y[i] = xy[2 * i + 1]!;
  }
  return {
    count: n,
    ids: typed(page.ids, n, 4, (b) => new Int32Array(b), 'ids'),
    x,
    y,
    label: typed(page.labels, n, 2, (b) => new Int16Array(b), 'labels'),
    predicted: typed(page.predicted, n, 2, (b) => new Int16Array(b), 'predictions'),
    split: typed(page.splits, n, 1, (b) => new Uint8Array(b), 'splits'),
    score: typed(page.scores, n, 4, (b) => new Float32Array(b), 'scores'),
  };
}

/** Pages of one map, in order, as one set of arrays. */
export function joinPoints(parts: readonly MapPoints[]): MapPoints {
  if (parts.length === 1) return parts[0]!;
  const count = parts.reduce((n, p) => n + p.count, 0);
  const join = <A extends Int32Array | Int16Array | Uint8Array | Float32Array>(make: (n: number) => A, pick: (p: MapPoints) => A): A => {
    const out = make(count);
    let at = 0;
    for (const p of parts) {
      out.set(pick(p), at);
      at += p.count;
    }
    return out;
  };
  return {
    count,
    ids: join((n) => new Int32Array(n), (p) => p.ids),
    x: join((n) => new Float32Array(n), (p) => p.x),
    y: join((n) => new Float32Array(n), (p) => p.y),
    label: join((n) => new Int16Array(n), (p) => p.label),
    predicted: join((n) => new Int16Array(n), (p) => p.predicted),
    split: join((n) => new Uint8Array(n), (p) => p.split),
    score: join((n) => new Float32Array(n), (p) => p.score),
  };
}
