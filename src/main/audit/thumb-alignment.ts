/**
 * How well two grey thumbnails match once the second is laid over the first as a copy would be:
 * scaled (upscaled, downscaled, cropped or padded, which all scale the content and move it), moved,
 * and possibly mirrored. The score is the normalised cross-correlation on the part of the first
 * that falls inside the second (zero mean and unit variance there: brightness and contrast changes
 * do not count, and a padded border, lying outside the other image, is not compared).
 *
 * Search, coarse to fine: at half size, every zoom of ZOOMS, both orientations and every whole-pixel
 * shift up to a fifth of the side; then around the best few, at full size, finer zooms and
 * half-pixel shifts (bilinear); last, the sharper thumbnail blurred towards the other's blur (a
 * thumbnail reduced from a larger copy is blurred, one kept at its own size is not), and the pose
 * refined again on the pair so matched.
 */
import type { GreyThumb } from '../media/perceptual-hash';
import { Correlation, gaussianTaps, ncc } from './ncc';
import { bilinear } from './content-box';
import { flatBorder } from '../../shared/flat-border';

export interface Alignment {
  /** Normalised cross-correlation at the best alignment, -1..1 (-1: nothing to compare). */
  score: number;
  /** The second image is the first's mirror image. */
  mirrored: boolean;
  /** The second image's content size over the first's, in pixels (above 1: the second shows it larger, e.g. upscaled, or cropped to the same size). */
  scale: number;
  /** The two as compared for `score`: the smaller one's grid, the other laid over it, blur matched; `inside` marks the compared pixels. */
  overlay?: Overlay;
}

/** Two grey planes on one grid (w x h), and which of its pixels are compared. */
export interface Overlay {
  w: number;
  h: number;
  a: Float32Array;
  b: Float32Array;
  inside: Uint8Array;
  /** The pictures lie on a light background (onLight): their subjects are the dark part. */
  lightBackground: boolean;
}

/** A grey plane of floats. */
interface Plane {
  w: number;
  h: number;
  px: Float32Array;
  /** The part inside a flat border (a pad or letterbox), [x0, y0, x1, y1) : a border is never compared. */
  inner?: readonly [number, number, number, number];
}

/** Largest flat border taken off a side, as a share of it (a pad of 10% with rounding). */
const MAX_BORDER = 0.15;

/**
 * The plane with its flat border found (content-box.ts), and one more row or column on each side
 * that had a border (where a blurred thumbnail smears the border into the picture).
 */
function withInner(p: Plane): Plane {
  const [x0, y0, x1, y1] = flatBorder(p, MAX_BORDER);
  return { ...p, inner: [x0 > 0 ? x0 + 1 : 0, y0 > 0 ? y0 + 1 : 0, x1 < p.w ? x1 - 1 : p.w, y1 < p.h ? y1 - 1 : p.h] };
}

/**
 * What a plane's picture lies on, told by its outermost ring of pixels: a light background when
 * most of the ring lies in the top quarter of the plane's range, a dark one when most lies in the
 * bottom quarter, null when neither (a mid-grey pad, a picture filled to its edges). A garment
 * reaching an edge or two leaves most of the ring to the background, as a 28-pixel trouser from
 * top to bottom does.
 */
function backgroundOf(p: Plane): 'light' | 'dark' | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of p.px) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  let light = 0;
  let dark = 0;
  let ring = 0;
  const count = (x: number, y: number): void => {
    const v = p.px[y * p.w + x] as number;
    ring++;
    if (v > hi - 0.25 * (hi - lo)) light++;
    else if (v < lo + 0.25 * (hi - lo)) dark++;
  };
  for (let x = 0; x < p.w; x++) {
    count(x, 0);
    if (p.h > 1) count(x, p.h - 1);
  }
  for (let y = 1; y < p.h - 1; y++) {
    count(0, y);
    if (p.w > 1) count(p.w - 1, y);
  }
  return hi <= lo ? null : light > ring / 2 ? 'light' : dark > ring / 2 ? 'dark' : null;
}

/** A pair lies on a light background when one image's does and the other's is not dark (a copy's mid-grey pad tells nothing). */
const onLight = (a: Plane, b: Plane): boolean => {
  const bg = [backgroundOf(a), backgroundOf(b)];
  return bg.includes('light') && !bg.includes('dark');
};

/**
 * Half size, centred on the plane's centre: a pixel of an even side averages two, of an odd side
 * three (a quarter, a half, a quarter), so the half grid's centre is the plane's and a pose found
 * at half size is the same pose at full size, mirrored or not. (Dropping an odd side's last pixel
 * put the half grid's centre half a pixel early: a copy's mirror image then fell half a half-size
 * pixel off every shift searched, and the pullover asset cropped and mirrored lined up at 0.67.)
 */
function half(p: Plane): Plane {
  const w = Math.max(1, p.w >> 1);
  const h = Math.max(1, p.h >> 1);
  const tx = halvingTaps(p.w);
  const ty = halvingTaps(p.h);
  const px = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let j = 0; j < ty.length; j++) for (let i = 0; i < tx.length; i++) sum += (ty[j] as number) * (tx[i] as number) * (p.px[(2 * y + j) * p.w + 2 * x + i] as number);
      px[y * w + x] = sum;
    }
  }
  return { w, h, px };
}

/** The weights one half-size pixel gives the pixels from 2k on, along a side of n (see half). */
const halvingTaps = (n: number): readonly number[] => (n < 2 ? [1] : n % 2 === 1 ? [0.25, 0.5, 0.25] : [0.5, 0.5]);

/** Gaussian blur of the given sigma (pixels), separable, edges clamped. */
function blur(p: Plane, sigma: number): Plane {
  if (sigma <= 0) return p;
  const k = gaussianTaps(sigma);
  const r = (k.length - 1) / 2;
  const pass = (src: Float32Array, dx: number, dy: number): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        let s = 0;
        for (let j = -r; j <= r; j++) {
          const xx = Math.min(p.w - 1, Math.max(0, x + j * dx));
          const yy = Math.min(p.h - 1, Math.max(0, y + j * dy));
          s += (k[j + r] as number) * (src[yy * p.w + xx] as number);
        }
        out[y * p.w + x] = s;
      }
    }
    return out;
  };
  return { ...p, px: pass(pass(p.px, 1, 0), 0, 1) };
}

/**
 * Sharpness: mean squared difference of neighbouring pixels over the variance. A blurred
 * thumbnail scores lower than a sharp one of the same picture.
 */
function sharpness(p: Plane, inside: Uint8Array): number {
  let mean = 0;
  let count = 0;
  for (let i = 0; i < p.px.length; i++) {
    if (!inside[i]) continue;
    mean += p.px[i] as number;
    count++;
  }
  mean /= Math.max(1, count);
  let variance = 0;
  let diff = 0;
  let n = 0;
  for (let y = 0; y < p.h; y++) {
    for (let x = 0; x < p.w; x++) {
      const i = y * p.w + x;
      if (!inside[i]) continue;
      const v = p.px[i] as number;
      variance += (v - mean) ** 2;
      if (x + 1 < p.w && inside[i + 1]) {
        diff += (v - (p.px[i + 1] as number)) ** 2;
        n++;
      }
      if (y + 1 < p.h && inside[i + p.w]) {
        diff += (v - (p.px[i + p.w] as number)) ** 2;
        n++;
      }
    }
  }
  return variance > 0 && n > 0 ? diff / n / (variance / count) : 0;
}

/** Where a's pixel centres fall in b: b's pixel = centre_b + k (a's pixel - centre_a) + shift, a mirrored first when asked. */
interface Pose {
  mirrored: boolean;
  /** Pixels of b per pixel of a. */
  k: number;
  dx: number;
  dy: number;
  /** Vertical over horizontal scale (thumbnail sizes are rounded: a copy's aspect ratio differs by a pixel's worth). */
  stretch?: number;
}

/** Share of a's pixels that must fall inside b for a score to count. */
const MIN_OVERLAP = 0.55;

const innerArea = (p: Plane): number => (p.inner ? (p.inner[2] - p.inner[0]) * (p.inner[3] - p.inner[1]) : p.w * p.h);

/**
 * Normalised cross-correlation of a (its inner part) with b sampled (bilinear) at a's pixels as
 * posed; -1 if too little overlaps or nothing varies. The refinement's inner loop: sampled and
 * summed in one pass, nothing stored.
 */
function nccPosed(a: Plane, b: Plane, pose: Pose): number {
  const [ax0, ay0, ax1, ay1] = a.inner ?? [0, 0, a.w, a.h];
  const [bx0, by0, bx1, by1] = b.inner ?? [0, 0, b.w, b.h];
  const cax = (a.w - 1) / 2;
  const cay = (a.h - 1) / 2;
  // b's x at a's x = ax0, and its step per pixel of a.
  const step = pose.mirrored ? -pose.k : pose.k;
  const fx0 = (b.w - 1) / 2 + pose.dx + pose.k * ((pose.mirrored ? a.w - 1 - ax0 : ax0) - cax);
  const sums = new Correlation();
  for (let y = ay0; y < ay1; y++) {
    const fy = (b.h - 1) / 2 + pose.dy + pose.k * (pose.stretch ?? 1) * (y - cay);
    if (fy < by0 - 0.5 || fy > by1 - 0.5) continue;
    const yc = Math.min(b.h - 1, Math.max(0, fy));
    const yi = Math.max(0, Math.min(b.h - 2, Math.floor(yc)));
    const wy = b.h > 1 ? yc - yi : 0;
    const r0 = yi * b.w;
    const r1 = Math.min(b.h - 1, yi + 1) * b.w;
    const row = y * a.w;
    for (let x = ax0; x < ax1; x++) {
      const fx = fx0 + (x - ax0) * step;
      if (fx < bx0 - 0.5 || fx > bx1 - 0.5) continue;
      const xc = Math.min(b.w - 1, Math.max(0, fx));
      const xi = Math.max(0, Math.min(b.w - 2, Math.floor(xc)));
      const wx = b.w > 1 ? xc - xi : 0;
      const xj = Math.min(b.w - 1, xi + 1);
      const top = (b.px[r0 + xi] as number) * (1 - wx) + (b.px[r0 + xj] as number) * wx;
      const bottom = (b.px[r1 + xi] as number) * (1 - wx) + (b.px[r1 + xj] as number) * wx;
      sums.add(a.px[row + x] as number, top * (1 - wy) + bottom * wy);
    }
  }
  return sums.value(MIN_OVERLAP * innerArea(a));
}

/**
 * Relative zooms searched (content size of b over a, on top of the ratio of their areas): a crop
 * of up to about 20% or a border of up to about 12% a side, combined with resizing.
 */
export const ZOOMS = [0.8, 0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.16, 1.22];
/** Largest shift searched, as a share of the shorter side. */
const MAX_SHIFT = 0.2;
/** Below this once the blur is matched, the pose is not searched again (cost: of the benchmark's copies searched, one rose from under it, 0.884 to 0.958). */
const RESEARCH_MIN = 0.9;
/** Coarse poses refined at full size (and the other orientation's best, below). */
const REFINED = 2;
/** Below this at half size a pair is no copy (the copies of the benchmark score 0.95 or more there). */
const COARSE_MIN = 0.7;

/**
 * The coarse search for one orientation and zoom: b resampled once onto a's grid widened by r on
 * every side, then every whole-pixel shift of a over it (no resampling per shift).
 */
function coarseShifts(a: Plane, b: Plane, mirrored: boolean, k: number, r: number, out: { c: number; pose: Pose }[]): void {
  const W = a.w + 2 * r;
  const H = a.h + 2 * r;
  const canvas = new Float32Array(W * H);
  const inside = new Uint8Array(W * H);
  const cax = (a.w - 1) / 2;
  const cay = (a.h - 1) / 2;
  const [bx0, by0, bx1, by1] = b.inner ?? [0, 0, b.w, b.h];
  for (let y = 0; y < H; y++) {
    const fy = (b.h - 1) / 2 + k * (y - r - cay);
    if (fy < by0 - 0.5 || fy > by1 - 0.5) continue;
    for (let x = 0; x < W; x++) {
      const xa = x - r;
      const fx = (b.w - 1) / 2 + k * ((mirrored ? a.w - 1 - xa : xa) - cax);
      if (fx < bx0 - 0.5 || fx > bx1 - 0.5) continue;
      canvas[y * W + x] = bilinear(b, fx, fy);
      inside[y * W + x] = 1;
    }
  }
  const need = MIN_OVERLAP * innerArea(a);
  const inner = a.inner ?? [0, 0, a.w, a.h];
  for (let sy = -r; sy <= r; sy++) {
    for (let sx = -r; sx <= r; sx++) {
      const c = ncc(a.px, a.w, canvas, W, inner, r + sx, r + sy, need, inside);
      if (c <= -1) continue;
      // Comparing a's pixel with the canvas (sx, sy) further on moves b's sampling point by k (sx, sy), mirrored: by k (-sx, sy).
      out.push({ c, pose: { mirrored, k, dx: k * sx * (mirrored ? -1 : 1), dy: k * sy } });
    }
  }
}

/**
 * Pattern search from a pose: shifts and zoom stepped, the steps halved when no neighbour is better.
 * The shift stays within `reach` of a's pixels either way (at the pose's zoom, in b's): unbounded,
 * it slid a dress's skirt under a trouser's top half (12 of 28 pixels down, smoothed 0.99), which
 * stood out 5.5 times among 12 garments with few rivals.
 */
function refine(a: Plane, b: Plane, start: Pose, reach: number): { c: number; pose: Pose } {
  let pose = start;
  let c = nccPosed(a, b, pose);
  let step = 1;
  let zoom = 0.04;
  while (step >= 0.25) {
    const tries: Pose[] = [
      { ...pose, dx: pose.dx + step },
      { ...pose, dx: pose.dx - step },
      { ...pose, dy: pose.dy + step },
      { ...pose, dy: pose.dy - step },
      { ...pose, k: pose.k * (1 + zoom) },
      { ...pose, k: pose.k / (1 + zoom) },
      { ...pose, stretch: (pose.stretch ?? 1) * (1 + zoom / 2) },
      { ...pose, stretch: (pose.stretch ?? 1) / (1 + zoom / 2) },
    ];
    let moved = false;
    for (const t of tries) {
      if (Math.abs(t.dx) > reach * t.k || Math.abs(t.dy) > reach * t.k) continue;
      const ct = nccPosed(a, b, t);
      if (ct > c + 1e-6) {
        c = ct;
        pose = t;
        moved = true;
      }
    }
    if (!moved) {
      step /= 2;
      zoom /= 2;
    }
  }
  return { c, pose };
}

/** b sampled (bilinear) at a's pixels as posed, and which of them fell inside b's inner part. */
function posedSamples(a: Plane, b: Plane, pose: Pose): { px: Float32Array; inside: Uint8Array } {
  const px = new Float32Array(a.w * a.h);
  const inside = new Uint8Array(a.w * a.h);
  const [bx0, by0, bx1, by1] = b.inner ?? [0, 0, b.w, b.h];
  const cax = (a.w - 1) / 2;
  const cay = (a.h - 1) / 2;
  for (let y = 0; y < a.h; y++) {
    const fy = (b.h - 1) / 2 + pose.dy + pose.k * (pose.stretch ?? 1) * (y - cay);
    if (fy < by0 - 0.5 || fy > by1 - 0.5) continue;
    for (let x = 0; x < a.w; x++) {
      const fx = (b.w - 1) / 2 + pose.dx + pose.k * ((pose.mirrored ? a.w - 1 - x : x) - cax);
      if (fx < bx0 - 0.5 || fx > bx1 - 0.5) continue;
      px[y * a.w + x] = bilinear(b, fx, fy);
      inside[y * a.w + x] = 1;
    }
  }
  return { px, inside };
}

/** The thumbnail as a plane with its flat border found. */
const planeOf = (t: GreyThumb): Plane => withInner({ w: t.width, h: t.height, px: Float32Array.from(t.pixels) });

/** Half size with the inner part halved (shrunk inward: a pixel half border, half picture is not inner; an odd side's half pixel reaches one further). */
function halfPlane(p: Plane): Plane {
  const h = half(p);
  const [x0, y0, x1, y1] = p.inner ?? [0, 0, p.w, p.h];
  const end = (e: number, side: number): number => Math.floor((e - (side % 2)) / 2);
  return { ...h, inner: [Math.ceil(x0 / 2), Math.ceil(y0 / 2), Math.max(Math.ceil(x0 / 2) + 1, end(x1, p.w)), Math.max(Math.ceil(y0 / 2) + 1, end(y1, p.h))] };
}

/**
 * The best alignment of b over a; `mirror: false` tries b only as it is. The one with fewer
 * pixels is laid over by the other (sampled at its pixels), so the comparison is at the coarser
 * one's detail, the finer one smoothed to it first.
 */
export function alignThumbs(ta: GreyThumb, tb: GreyThumb, options: { mirror?: boolean } = {}): Alignment {
  const swap = tb.width * tb.height < ta.width * ta.height;
  const a = planeOf(swap ? tb : ta);
  let b = planeOf(swap ? ta : tb);
  const light = onLight(a, b);
  const base = Math.sqrt((b.w * b.h) / (a.w * a.h));
  // Sampling a finer b at a's pixels: smoothed first as a reduction would (no aliasing).
  if (base > 1.15) b = blur(b, 0.5 * base);
  const ha = halfPlane(a);
  const hb = halfPlane(b);
  const r = Math.max(1, Math.round(MAX_SHIFT * Math.min(ha.w, ha.h)));
  // The refinement's shifts: the coarse search's at full size, and a pixel.
  const reach = 2 * r + 1;
  const coarse: { c: number; pose: Pose }[] = [];
  for (const mirrored of options.mirror === false ? [false] : [false, true]) for (const z of ZOOMS) coarseShifts(ha, hb, mirrored, base * z, r, coarse);
  coarse.sort((p, q) => q.c - p.c);
  // Half size smooths away what distinguishes near-identical images, so a pair that does not
  // correlate there will not at full size either: most candidates stop here.
  if ((coarse[0]?.c ?? -1) < COARSE_MIN) return { score: coarse[0]?.c ?? -1, mirrored: coarse[0]?.pose.mirrored ?? false, scale: 1 };
  let best = { c: -1, pose: { mirrored: false, k: base, dx: 0, dy: 0 } as Pose };
  // And the other orientation's best: a garment is nearly symmetric, so at half size the wrong
  // orientation's poses can crowd out the right one's (the benchmark's copies cropped and mirrored
  // lined up at 0.57-0.99 without it, 8 of 10 at 0.998-1 with it; about a fifth more time a pair).
  const starts = coarse.slice(0, REFINED);
  const other = coarse.find((p) => starts.every((s) => s.pose.mirrored !== p.pose.mirrored));
  if (other) starts.push(other);
  for (const start of starts) {
    // At full size the shift in b's pixels doubles (both halved alike).
    const fine = refine(a, b, { ...start.pose, dx: 2 * start.pose.dx, dy: 2 * start.pose.dy }, reach);
    if (fine.c > best.c) best = fine;
  }
  if (best.c <= -1) return { score: -1, mirrored: false, scale: 1 };
  // Blur: the sharper of a and b-as-laid-over softened towards the other (a thumbnail reduced from a larger image is blurred).
  const laid = posedSamples(a, b, best.pose);
  const over: Plane = { ...a, px: laid.px };
  const aSharper = sharpness(a, laid.inside) > sharpness(over, laid.inside);
  let score = best.c;
  const inner = a.inner ?? [0, 0, a.w, a.h];
  const [ix0, iy0, ix1, iy1] = inner;
  const innerOf = (laidInside: Uint8Array) => Uint8Array.from(laidInside, (v, i) => (v && i % a.w >= ix0 && i % a.w < ix1 && Math.floor(i / a.w) >= iy0 && Math.floor(i / a.w) < iy1 ? 1 : 0));
  let overlay: Overlay = { w: a.w, h: a.h, a: a.px, b: laid.px, inside: innerOf(laid.inside), lightBackground: light };
  let sharpened = 0;
  for (const sigma of [0.5, 0.8, 1.2]) {
    const [pa, pb] = aSharper ? [blur(a, sigma).px, laid.px] : [a.px, blur(over, sigma).px];
    const c = ncc(pa, a.w, pb, a.w, inner, 0, 0, MIN_OVERLAP * innerArea(a), laid.inside);
    if (c > score) {
      score = c;
      sharpened = sigma;
      overlay = { ...overlay, a: pa, b: pb };
    }
  }
  // The pose was found on the unmatched pair, where a blurred copy's zoom is loosely held (the sharp
  // side's detail pulls it off: an upscaled 28-pixel garment settles 4% too small at 0.97); searched
  // again with the blur matched, it settles where the copy lies (0.99 or more).
  if (sharpened > 0 && score >= RESEARCH_MIN) {
    const [pa, pb] = aSharper ? [blur(a, sharpened), b] : [a, blur(b, sharpened * best.pose.k)];
    const again = refine(pa, pb, best.pose, reach);
    if (again.c > score) {
      const relaid = posedSamples(pa, pb, again.pose);
      score = again.c;
      best = again;
      overlay = { w: a.w, h: a.h, a: pa.px, b: relaid.px, inside: innerOf(relaid.inside), lightBackground: light };
    }
  }
  // The scale reported is b's content size over a's, in pixels, whichever was laid over which.
  const scale = best.pose.k;
  return { score, mirrored: best.pose.mirrored, scale: swap ? 1 / scale : scale, overlay };
}
