/**
 * A thumbnail's content without its flat margins, as a second hash for the near-duplicate
 * candidates (near-duplicates.ts). A pad, a letterbox, a crop into an empty background or an
 * upscale change a picture's pHash completely (the content moves and changes size in the frame),
 * but not the content inside its flat margins: trimmed, stretched to pHash's 32 x 32 and hashed,
 * a padded copy hashes like its original, and hashing the trimmed content mirrored as well finds
 * mirrored copies the same way. Computed from the stored grey thumbnails, nothing new is stored.
 */
import { dctHash, type GreyThumb } from '../media/perceptual-hash';
import { contentBorder, type GreyPlane } from '../../shared/flat-border';

/** b's value at (fx, fy) by bilinear interpolation, edges clamped. */
export function bilinear(p: GreyPlane, fx: number, fy: number): number {
  const xc = Math.min(p.w - 1, Math.max(0, fx));
  const yc = Math.min(p.h - 1, Math.max(0, fy));
  const x0 = Math.max(0, Math.min(p.w - 2, Math.floor(xc)));
  const y0 = Math.max(0, Math.min(p.h - 2, Math.floor(yc)));
  const x1 = Math.min(p.w - 1, x0 + 1);
  const y1 = Math.min(p.h - 1, y0 + 1);
  const ax = xc - x0;
  const ay = yc - y0;
  const top = (p.px[y0 * p.w + x0] as number) * (1 - ax) + (p.px[y0 * p.w + x1] as number) * ax;
  const bottom = (p.px[y1 * p.w + x0] as number) * (1 - ax) + (p.px[y1 * p.w + x1] as number) * ax;
  return top * (1 - ay) + bottom * ay;
}

/** pHash's DCT size. */
const SIDE = 32;

/** The box [x0, y0, x1, y1) of the plane (pixel edges, fractional allowed) stretched to SIDE x SIDE (row-major). */
function contentPlane(plane: GreyPlane, [x0, y0, x1, y1]: readonly [number, number, number, number]): Float64Array {
  const sx = (x1 - x0) / SIDE;
  const sy = (y1 - y0) / SIDE;
  const out = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) out[y * SIDE + x] = bilinear(plane, x0 + (x + 0.5) * sx - 0.5, y0 + (y + 0.5) * sy - 0.5);
  return out;
}

/** Share of the content's activity left outside each end of the descriptor's box. */
const ACTIVITY_TAIL = 0.05;

/**
 * Where, along one axis of the box, the activity (each line's standard deviation across the box)
 * starts and ends: the ACTIVITY_TAIL and 1 - ACTIVITY_TAIL points of its running sum, between
 * pixels. Peeling whole flat lines puts an edge a pixel early or late as a copy's blur and
 * rescaling smear it, 5-10% of a garment 10-20 pixels wide; these points move by a fraction of a
 * pixel (bench/audit.ts's candidate line: 266 of 350 triples among the 3 nearest descriptors
 * with whole lines, 313 with these).
 */
function activitySpan(lines: number, length: number, at: (line: number, i: number) => number): [number, number] {
  const activity = new Float64Array(lines);
  let total = 0;
  for (let l = 0; l < lines; l++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < length; i++) {
      const v = at(l, i);
      s += v;
      s2 += v * v;
    }
    activity[l] = Math.sqrt(Math.max(0, s2 / length - (s / length) ** 2));
    total += activity[l] as number;
  }
  if (total === 0) return [0, lines];
  const point = (q: number): number => {
    let before = 0;
    for (let l = 0; l < lines; l++) {
      const share = (activity[l] as number) / total;
      if (before + share >= q) return l + (q - before) / share;
      before += share;
    }
    return lines;
  };
  return [point(ACTIVITY_TAIL), point(1 - ACTIVITY_TAIL)];
}

/**
 * The content's box: flat margins peeled (nested), then narrowed to where its activity lies
 * (activitySpan), each axis within the other's span, twice: a pad's rows that peeling left (a
 * blurred row where the pad meets the picture is not flat) make every column vary, until they are
 * outside the rows' span.
 */
function contentBox(plane: GreyPlane): [number, number, number, number] {
  const [bx0, by0, bx1, by1] = contentBorder(plane);
  const px = (x: number, y: number) => plane.px[y * plane.w + x] as number;
  let [x0, y0, x1, y1] = [bx0, by0, bx1, by1];
  for (let pass = 0; pass < 2; pass++) {
    // Whole pixels of the other axis's span (at least one line).
    const [ry0, ry1] = [Math.floor(y0), Math.max(Math.floor(y0) + 1, Math.ceil(y1))];
    [x0, x1] = activitySpan(bx1 - bx0, ry1 - ry0, (l, i) => px(bx0 + l, ry0 + i)).map((v) => bx0 + v) as [number, number];
    const [rx0, rx1] = [Math.floor(x0), Math.max(Math.floor(x0) + 1, Math.ceil(x1))];
    [y0, y1] = activitySpan(by1 - by0, rx1 - rx0, (l, i) => px(rx0 + i, by0 + l)).map((v) => by0 + v) as [number, number];
  }
  return [x0, y0, x1, y1];
}

/** pHashes of the thumbnail's content inside its flat margins, stretched to 32 x 32, as it is and mirrored. */
export function contentHashes(t: GreyThumb): { plain: string; mirrored: string } {
  const plane = { w: t.width, h: t.height, px: t.pixels };
  const plain = contentPlane(plane, contentBorder(plane));
  const mirrored = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) mirrored[y * SIDE + SIDE - 1 - x] = plain[y * SIDE + x] as number;
  return { plain: dctHash(plain), mirrored: dctHash(mirrored) };
}

/** Side of the content descriptor's grid. */
const GRID = 8;
/** Length of a content descriptor (contentDescriptor). */
export const DESCRIPTOR_LENGTH = GRID * GRID;

/**
 * The content inside a box as a unit vector that a mirrored copy shares: its 8 x 8 block means
 * less their mean (a brightness change drops out), split into the part symmetric under a
 * left-right flip (the sum of mirrored columns) and the size of the antisymmetric part (their
 * difference, unsigned), then zero mean and unit length (a contrast change drops out). The dot
 * product of two is a correlation of their coarse contents, mirrored or not. Zero when flat.
 */
function describeBox(thumb: GreyPlane, box: readonly [number, number, number, number]): Float32Array {
  const plane = contentPlane(thumb, box);
  const cell = SIDE / GRID;
  const grid = new Float64Array(GRID * GRID);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const g = Math.floor(y / cell) * GRID + Math.floor(x / cell);
      grid[g] = (grid[g] as number) + (plane[y * SIDE + x] as number);
    }
  }
  let gridMean = 0;
  for (const v of grid) gridMean += v / grid.length;
  for (let i = 0; i < grid.length; i++) grid[i] = (grid[i] as number) - gridMean;
  const half = GRID / 2;
  const out = new Float32Array(DESCRIPTOR_LENGTH);
  for (let y = 0; y < GRID; y++) {
    for (let x = 0; x < half; x++) {
      const a = grid[y * GRID + x] as number;
      const b = grid[y * GRID + GRID - 1 - x] as number;
      out[y * half + x] = a + b;
      out[GRID * half + y * half + x] = Math.abs(a - b);
    }
  }
  let mean = 0;
  for (const v of out) mean += v / out.length;
  let norm = 0;
  for (let i = 0; i < out.length; i++) norm += ((out[i] as number) - mean) ** 2;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < out.length; i++) out[i] = ((out[i] as number) - mean) * scale;
  return out;
}

/** Side of a crop hypothesis (contentDescriptors) as a share of the content box's. */
export const CROP_SIDE = 0.95;
/** Where crop hypotheses lie along each side of the box: at its start, middle and end (3 x 3 in all). */
const CROP_AT = [0, 0.5, 1] as const;

/**
 * The content inside its box (contentBox), described (describeBox): a copy padded, rescaled or
 * recompressed lies among its original's nearest (near-duplicates.ts), where its pHash and content
 * hash moved 10-30 bits. With its crops': the content inside boxes CROP_SIDE of its box's sides,
 * at its corners, edges and centre. A copy cropped into its content (a garment filling the frame,
 * 3-7% gone from each side) has a box that holds less of it, so its descriptor lies near one of its
 * original's crops rather than near the original's own. On the benchmark (bench/audit.ts, the
 * content candidates alone): each triple's copy and original among one another's 2 nearest, 308 of
 * 350 by descriptors, 327 by the best of descriptor and crops (crops 0.9 of the sides: 323; 0.97:
 * 323; 0.95 at 5 x 5 places: 327; the centre alone: 319). Without `withCrops`, no crops (they take
 * most of the time).
 */
export function contentDescriptors(t: GreyThumb, withCrops = true): { descriptor: Float32Array; crops: Float32Array[] } {
  const thumb = { w: t.width, h: t.height, px: t.pixels };
  const [x0, y0, x1, y1] = contentBox(thumb);
  const [cw, ch] = [CROP_SIDE * (x1 - x0), CROP_SIDE * (y1 - y0)];
  const crops: Float32Array[] = [];
  for (const fy of withCrops ? CROP_AT : []) {
    for (const fx of CROP_AT) {
      const [cx, cy] = [x0 + fx * (x1 - x0 - cw), y0 + fy * (y1 - y0 - ch)];
      crops.push(describeBox(thumb, [cx, cy, cx + cw, cy + ch]));
    }
  }
  return { descriptor: describeBox(thumb, [x0, y0, x1, y1]), crops };
}
