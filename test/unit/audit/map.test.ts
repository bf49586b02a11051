/** The embedding map's plain parts: spatial grid hit-testing against brute force, view maths, the rasteriser, colouring. */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/shared/random';
import { buildGrid, insidePolygon, nearestPoint, pointsInPolygon } from '../../../src/renderer/features/audit/map/spatial-grid';
import { boundsOf, fitView, pan, polygonToData, toData, toScreen, zoomAt } from '../../../src/renderer/features/audit/map/view';
import { dotSize, drawPoints, packHex, packRgba } from '../../../src/renderer/features/audit/map/raster';
import { colourPoints, scoreColour, type MapPoints } from '../../../src/renderer/features/audit/map/colouring';
import { decodeMapPage, joinPoints } from '../../../src/renderer/features/audit/map/map-data';
import type { EmbeddingMapPage } from '../../../src/shared/domain';

function cloud(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const r = seededRandom(seed);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Clumps and a long tail, as UMAP maps look, not a uniform square.
    const c = Math.floor(r() * 5);
    x[i] = c * 7 + (r() - 0.5) * (c + 1) + (i % 97 === 0 ? r() * 300 : 0);
    y[i] = (c % 2) * 9 + (r() - 0.5) * 3;
  }
  return { x, y };
}

function bruteNearest(x: Float32Array, y: Float32Array, px: number, py: number, radius: number): number {
  let best = -1;
  let bestD = radius * radius;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i]! - px) ** 2 + (y[i]! - py) ** 2;
    if (d < bestD || (d === bestD && i > best)) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

describe('spatial grid', () => {
  const { x, y } = cloud(20_000, 7);
  const grid = buildGrid(x, y);

  it('holds every point exactly once', () => {
    expect(grid.items.length).toBe(x.length);
    expect(new Set(grid.items).size).toBe(x.length);
    expect(grid.start[grid.cols * grid.rows]).toBe(x.length);
  });

  it('finds the nearest point within a radius as brute force does', () => {
    const r = seededRandom(3);
    for (let q = 0; q < 400; q++) {
      const px = r() * 40 - 3;
      const py = r() * 14 - 3;
      const radius = [0.01, 0.3, 2][q % 3]!;
      expect(nearestPoint(grid, x, y, px, py, radius)).toBe(bruteNearest(x, y, px, py, radius));
    }
    // Exactly on a point, and far outside the map.
    expect(nearestPoint(grid, x, y, x[123]!, y[123]!, 1e-6)).toBe(123);
    expect(nearestPoint(grid, x, y, -1000, -1000, 5)).toBe(-1);
  });

  it('selects the points inside a lasso as brute force does', () => {
    // A star-shaped (non-convex) lasso across two clumps.
    const poly: number[] = [];
    for (let k = 0; k < 40; k++) {
      const a = (k / 40) * 2 * Math.PI;
      const rad = k % 2 ? 4 : 9;
      poly.push(10 + rad * Math.cos(a), 4 + rad * Math.sin(a));
    }
    const got = pointsInPolygon(grid, x, y, poly);
    const want: number[] = [];
    for (let i = 0; i < x.length; i++) if (insidePolygon(poly, x[i]!, y[i]!)) want.push(i);
    expect(want.length).toBeGreaterThan(1000);
    expect(want.length).toBeLessThan(x.length / 2);
    expect(got).toEqual(want);
    expect(pointsInPolygon(grid, x, y, [0, 0, 1, 1])).toEqual([]);
    // A lasso around everything: every cell, the edge rows and columns included.
    expect(pointsInPolygon(grid, x, y, [-1e4, -1e4, 1e4, -1e4, 1e4, 1e4, -1e4, 1e4])).toHaveLength(x.length);
  });

  it('knows inside from outside, holes of a self-crossing lasso included', () => {
    const square = [0, 0, 10, 0, 10, 10, 0, 10];
    expect(insidePolygon(square, 5, 5)).toBe(true);
    expect(insidePolygon(square, 11, 5)).toBe(false);
    expect(insidePolygon(square, -0.01, 5)).toBe(false);
    // A figure eight: both loops are inside.
    const eight = [0, 0, 10, 10, 10, 0, 0, 10];
    expect(insidePolygon(eight, 1, 5)).toBe(true);
    expect(insidePolygon(eight, 9, 5)).toBe(true);
    expect(insidePolygon(eight, 5, 1)).toBe(false);
  });

  it('copes with no points, one point and points all in one place', () => {
    const empty = buildGrid(new Float32Array(0), new Float32Array(0));
    expect(nearestPoint(empty, [], [], 0, 0, 1)).toBe(-1);
    const same = new Float32Array(50).fill(2);
    const g = buildGrid(same, same);
    expect(pointsInPolygon(g, same, same, [1, 1, 3, 1, 3, 3, 1, 3])).toHaveLength(50);
    expect(nearestPoint(g, same, same, 2, 2, 0.5)).toBe(49);
  });
});

describe('view', () => {
  it('fits the bounds, and pan and zoom keep the point under the pointer', () => {
    const b = boundsOf([-5, 5, 0], [0, 2, 10]);
    expect(b).toEqual({ minX: -5, minY: 0, maxX: 5, maxY: 10 });
    const v = fitView(b, 400, 200, 20);
    expect(v.scale).toBeCloseTo(16); // (200 - 40) / 10
    const [cx, cy] = toScreen(v, 0, 5);
    expect(cx).toBeCloseTo(200);
    expect(cy).toBeCloseTo(100);
    const z = zoomAt(v, 300, 50, 3);
    expect(z.scale).toBeCloseTo(48);
    const before = toData(v, 300, 50);
    const after = toData(z, 300, 50);
    expect(after[0]).toBeCloseTo(before[0]);
    expect(after[1]).toBeCloseTo(before[1]);
    expect(zoomAt(v, 0, 0, 1000, 0, 100).scale).toBe(100);
    const p = pan(v, 7, -3);
    expect(toScreen(p, 1, 1)[0] - toScreen(v, 1, 1)[0]).toBeCloseTo(7);
    const poly = polygonToData(z, [300, 50, 310, 60]);
    expect(poly[0]).toBeCloseTo(before[0]);
    expect(poly[3]).toBeCloseTo(toData(z, 310, 60)[1]);
  });
});

describe('rasteriser', () => {
  it('writes one square per point at its place, clipped at the edges, later points on top', () => {
    const px = { data: new Uint32Array(10 * 8), width: 10, height: 8 };
    const view = { scale: 1, tx: 0, ty: 0 };
    const red = packRgba(255, 0, 0);
    const blue = packHex('#0000ff');
    drawPoints(px, [2, 2.2, 9.6, -5, NaN], [3, 3, 0, 0, 1], Uint32Array.of(red, blue, red, red, red), view, 1, 2);
    const at = (cx: number, cy: number): number => px.data[cy * 10 + cx]!;
    // Points 0 and 1 share the square at (1..2, 2..3): the later (blue) wins.
    expect([at(1, 2), at(2, 2), at(1, 3), at(2, 3)]).toEqual([blue, blue, blue, blue]);
    expect(at(0, 2)).toBe(0);
    expect(at(3, 3)).toBe(0);
    // Point 2 at the right edge: only its column 9, row 0 is in the buffer.
    expect(at(9, 0)).toBe(red);
    expect(px.data.filter((c) => c !== 0).length).toBe(4 + 1);
    // `only` draws just those points, with one colour, at the device pixel ratio.
    const px2 = { data: new Uint32Array(20 * 20), width: 20, height: 20 };
    drawPoints(px2, [1, 5], [1, 5], 7, view, 2, 2, [1]);
    expect(px2.data.filter((c) => c === 7).length).toBe(4);
    expect(px2.data[9 * 20 + 9]).toBe(7);
    expect(px2.data[1 * 20 + 1]).toBe(0);
  });

  it('draws dots of 5 pixels and more as discs', () => {
    const px = { data: new Uint32Array(12 * 12), width: 12, height: 12 };
    drawPoints(px, [6], [6], 1, { scale: 1, tx: 0, ty: 0 }, 1, 8);
    const at = (cx: number, cy: number): number => px.data[cy * 12 + cx]!;
    expect(at(6, 6)).toBe(1);
    expect(at(2, 6)).toBe(1); // left edge of the middle row
    expect(at(2, 2)).toBe(0); // the cell's corner is outside the disc
    const filled = px.data.filter((c) => c === 1).length;
    expect(filled).toBeGreaterThan(40);
    expect(filled).toBeLessThan(64);
    // Clipped at the top-left corner of the buffer, without writing outside it.
    const small = { data: new Uint32Array(4 * 4), width: 4, height: 4 };
    drawPoints(small, [0], [0], 1, { scale: 1, tx: 0, ty: 0 }, 1, 6);
    expect(small.data[0]).toBe(1);
    expect(small.data.filter((c) => c === 1).length).toBeLessThan(9);
  });

  it('sizes dots by map size, device pixels and zoom', () => {
    expect(dotSize(100_000, 1, 1)).toBe(2);
    expect(dotSize(500, 1, 1)).toBe(6);
    expect(dotSize(500, 2, 1)).toBe(12);
    expect(dotSize(100_000, 1, 4)).toBe(4);
    expect(dotSize(100_000, 1, 0.3)).toBe(2);
    expect(dotSize(500, 2, 100)).toBe(16);
  });

  it('packs colours in ImageData byte order', () => {
    const u = Uint32Array.of(packHex('#102030', 64));
    expect([...new Uint8Array(u.buffer)]).toEqual([0x10, 0x20, 0x30, 64]);
    expect(packHex('red')).toBe(packRgba(128, 128, 128));
  });
});

describe('colouring', () => {
  const p: MapPoints = {
    count: 4,
    ids: Int32Array.of(11, 12, 13, 14),
    x: new Float32Array(4),
    y: new Float32Array(4),
    label: Int16Array.of(0, 1, -1, 0),
    predicted: Int16Array.of(1, 1, 0, 0),
    split: Uint8Array.of(0, 1, 2, 0),
    score: Float32Array.of(0.9, -0.8, NaN, 0.1),
  };
  const classes = [
    { id: 1, name: 'cat', color: '#ff0000' },
    { id: 2, name: 'dog', color: '#00ff00' },
    { id: 3, name: 'owl', color: '#0000ff' },
  ];

  it('colours by label, prediction and split with a legend of what is there', () => {
    const byLabel = colourPoints(p, 'label', classes);
    expect([...byLabel.colors]).toEqual([packHex('#ff0000'), packHex('#00ff00'), packHex('#adb5bd'), packHex('#ff0000')]);
    expect(byLabel.legend).toEqual([
      { label: 'cat', color: '#ff0000', count: 2 },
      { label: 'dog', color: '#00ff00', count: 1 },
      { label: 'unlabelled', color: '#adb5bd', count: 1 },
    ]);
    expect(colourPoints(p, 'prediction', classes).legend.map((l) => [l.label, l.count])).toEqual([
      ['cat', 2],
      ['dog', 2],
    ]);
    expect(colourPoints(p, 'split', classes).legend.map((l) => [l.label, l.count])).toEqual([
      ['train', 2],
      ['val', 1],
      ['test', 1],
    ]);
  });

  it('colours by score on a red-to-green ramp and draws the likeliest errors last', () => {
    const c = colourPoints(p, 'score', classes);
    expect([...c.order!]).toEqual([2, 0, 3, 1]);
    expect(c.colors[1]).toBe(packRgba(...scoreColour(-0.8)));
    expect(scoreColour(-1)).toEqual([224, 49, 49]);
    expect(scoreColour(0)).toEqual([250, 176, 5]);
    expect(scoreColour(1)).toEqual([55, 178, 77]);
    expect(c.legend).toEqual([
      { label: 'scored', color: '#fab005', count: 3 },
      { label: 'no score', color: '#adb5bd', count: 1 },
    ]);
  });
});

describe('map pages', () => {
  const b64 = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const page = (ids: number[], xy: number[], over: Partial<EmbeddingMapPage> = {}): EmbeddingMapPage => ({
    mapId: 1,
    createdAt: '',
    source: { runId: null, model: 'm', cutLayer: 'c', featureDim: 4 },
    total: 3,
    offset: 0,
    count: ids.length,
    classes: [],
    runId: null,
    bounds: { minX: 0, maxX: 1, minY: 0, maxY: 1 },
    ids: b64(Int32Array.from(ids)),
    xy: b64(Float32Array.from(xy)),
    labels: b64(Int16Array.from(ids.map((i) => (i % 2 ? -1 : 1)))),
    predicted: b64(Int16Array.from(ids.map(() => 0))),
    splits: b64(Uint8Array.from(ids.map((i) => i % 3))),
    scores: b64(Float32Array.from(ids.map((i) => (i === 2 ? NaN : i / 10)))),
    ...over,
  });

  it('decodes the base64 arrays and joins pages in order', () => {
    const a = decodeMapPage(page([1, 2], [0.5, -1.5, 2, 3]));
    expect([...a.ids]).toEqual([1, 2]);
    expect([...a.x]).toEqual([0.5, 2]);
    expect([...a.y]).toEqual([-1.5, 3]);
    expect([...a.label]).toEqual([-1, 1]);
    expect([...a.split]).toEqual([1, 2]);
    expect(a.score[0]).toBeCloseTo(0.1);
    expect(Number.isNaN(a.score[1]!)).toBe(true);
    const all = joinPoints([a, decodeMapPage(page([3], [7, 8]))]);
    expect(all.count).toBe(3);
    expect([...all.ids]).toEqual([1, 2, 3]);
    expect([...all.y]).toEqual([-1.5, 3, 8]);
    expect([...all.split]).toEqual([1, 2, 0]);
  });

  it('refuses arrays whose length does not match the count', () => {
    expect(() => decodeMapPage(page([1, 2], [0, 0, 1]))).toThrow(/coordinates hold 12 bytes; 2 points need 16/);
  });
});
