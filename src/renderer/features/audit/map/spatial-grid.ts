/**
 * A uniform grid over the map's points for hit-testing: the point under the pointer and the
 * points inside a lasso, without looking at all 100,000 points for either. Built once per map by
 * a counting sort (two passes, no per-point objects): `start[c]..start[c + 1]` indexes `items`,
 * the point indices of cell c.
 */

export interface SpatialGrid {
  minX: number;
  minY: number;
  /** Side of a cell in data units. */
  cell: number;
  cols: number;
  rows: number;
  start: Uint32Array;
  items: Uint32Array;
}

/** A polygon in data coordinates, as x0, y0, x1, y1, ... */
export type Polygon = ArrayLike<number>;

/** About `perCell` points per occupied cell on average (on uniformly spread points). */
export function buildGrid(x: ArrayLike<number>, y: ArrayLike<number>, perCell = 8): SpatialGrid {
  const n = x.length;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const px = x[i]!;
    const py = y[i]!;
    if (px < minX) minX = px;
    if (px > maxX) maxX = px;
    if (py < minY) minY = py;
    if (py > maxY) maxY = py;
  }
  if (n === 0) return { minX: 0, minY: 0, cell: 1, cols: 1, rows: 1, start: new Uint32Array(2), items: new Uint32Array(0) };
  const w = Math.max(maxX - minX, 1e-9);
  const h = Math.max(maxY - minY, 1e-9);
  const cells = Math.max(1, Math.min(1 << 20, Math.ceil(n / perCell)));
  const cell = Math.sqrt((w * h) / cells) || Math.max(w, h);
  const cols = Math.min(4096, Math.max(1, Math.ceil(w / cell) + 1));
  const rows = Math.min(4096, Math.max(1, Math.ceil(h / cell) + 1));
  // Points past the last row or column (when the cap applies) go into it: lookups clamp the same way.
  const grid: SpatialGrid = { minX, minY, cell, cols, rows, start: new Uint32Array(cols * rows + 1), items: new Uint32Array(n) };
  const cellOf = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = cellIndex(grid, x[i]!, y[i]!);
    cellOf[i] = c;
    grid.start[c + 1]!++;
  }
  for (let c = 0; c < cols * rows; c++) grid.start[c + 1]! += grid.start[c]!;
  const fill = grid.start.slice(0, cols * rows);
  for (let i = 0; i < n; i++) grid.items[fill[cellOf[i]!]!++] = i;
  return grid;
}

const clampInt = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v | 0);

function cellIndex(g: SpatialGrid, px: number, py: number): number {
  return clampInt((py - g.minY) / g.cell, g.rows - 1) * g.cols + clampInt((px - g.minX) / g.cell, g.cols - 1);
}

/** Calls `visit` with the point indices of every cell touching the box. */
function eachInBox(g: SpatialGrid, x0: number, y0: number, x1: number, y1: number, visit: (i: number) => void): void {
  const c0 = clampInt((x0 - g.minX) / g.cell, g.cols - 1);
  const c1 = clampInt((x1 - g.minX) / g.cell, g.cols - 1);
  const r0 = clampInt((y0 - g.minY) / g.cell, g.rows - 1);
  const r1 = clampInt((y1 - g.minY) / g.cell, g.rows - 1);
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const cell = r * g.cols + c;
      for (let k = g.start[cell]!, end = g.start[cell + 1]!; k < end; k++) visit(g.items[k]!);
    }
  }
}

/**
 * The point nearest to (px, py) within `radius` (data units), or -1. `visible` (optional) skips
 * points that are not drawn. Ties go to the higher index, which is drawn on top.
 */
export function nearestPoint(g: SpatialGrid, x: ArrayLike<number>, y: ArrayLike<number>, px: number, py: number, radius: number, visible?: (i: number) => boolean): number {
  let best = -1;
  let bestD = radius * radius;
  eachInBox(g, px - radius, py - radius, px + radius, py + radius, (i) => {
    if (visible && !visible(i)) return;
    const dx = x[i]! - px;
    const dy = y[i]! - py;
    const d = dx * dx + dy * dy;
    if (d < bestD || (d === bestD && i > best)) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** Even-odd rule: whether (px, py) is inside the closed polygon. */
export function insidePolygon(poly: Polygon, px: number, py: number): boolean {
  const n = poly.length >> 1;
  let inside = false;
  for (let a = 0, b = n - 1; a < n; b = a++) {
    const ax = poly[2 * a]!;
    const ay = poly[2 * a + 1]!;
    const bx = poly[2 * b]!;
    const by = poly[2 * b + 1]!;
    if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside;
}

/** Indices of the points inside the polygon (a lasso, in data coordinates), ascending. */
export function pointsInPolygon(g: SpatialGrid, x: ArrayLike<number>, y: ArrayLike<number>, poly: Polygon, visible?: (i: number) => boolean): number[] {
  if (poly.length < 6) return [];
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < poly.length; k += 2) {
    x0 = Math.min(x0, poly[k]!);
    x1 = Math.max(x1, poly[k]!);
    y0 = Math.min(y0, poly[k + 1]!);
    y1 = Math.max(y1, poly[k + 1]!);
  }
  const out: number[] = [];
  eachInBox(g, x0, y0, x1, y1, (i) => {
    const px = x[i]!;
    const py = y[i]!;
    if (px < x0 || px > x1 || py < y0 || py > y1) return;
    if (visible && !visible(i)) return;
    if (insidePolygon(poly, px, py)) out.push(i);
  });
  return out.sort((a, b) => a - b);
}
