/**
 * What the map's points are coloured by, and the legend that says so: the given label, the
 * prediction, the split (categories), or the audit score (a ramp from likely wrong to fine).
 * Colours are computed once per mode into one Uint32 per point, with a drawing order that puts
 * what matters on top (likely errors last, so above the rest).
 */
import { packHex, packRgba } from './raster';

/** The map as plain typed arrays, one entry per point, in the same order. */
export interface MapPoints {
  count: number;
  /** Image id of each point. */
  ids: Int32Array;
  x: Float32Array;
  y: Float32Array;
  /** Index of the label in the palette (the project's classes), -1 = unlabelled. */
  label: Int16Array;
  /** Index of the prediction in the palette, -1 = none. */
  predicted: Int16Array;
  /** 0 train, 1 val, 2 test. */
  split: Uint8Array;
  /** Audit score in [-1, 1] (lower = likelier a wrong label); NaN where there is none. */
  score: Float32Array;
}

export const COLOUR_MODES = ['label', 'prediction', 'split', 'score'] as const;
export type ColourMode = (typeof COLOUR_MODES)[number];

export const SPLIT_ORDER = ['train', 'val', 'test'] as const;
const SPLIT_COLOURS = ['#4c6ef5', '#f59f00', '#ae3ec9'];
const NONE_COLOUR = '#adb5bd';

export interface LegendItem {
  label: string;
  color: string;
  count: number;
}

export interface Colouring {
  colors: Uint32Array;
  /** Drawing order (indices), or null for index order. */
  order: Uint32Array | null;
  legend: LegendItem[];
  /** Score mode: the ramp's ends. */
  ramp?: { low: string; high: string; lowLabel: string; highLabel: string };
}

export interface ClassColour {
  id: number;
  name: string;
  color: string;
}

/** Red (score -1, another class far likelier) through amber to green (score 1, the label is the clear favourite). */
export function scoreColour(score: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, (score + 1) / 2));
  const stops: [number, [number, number, number]][] = [
    [0, [224, 49, 49]],
    [0.5, [250, 176, 5]],
    [1, [55, 178, 77]],
  ];
  for (let s = 1; s < stops.length; s++) {
    const [t1, c1] = stops[s]!;
    const [t0, c0] = stops[s - 1]!;
    if (t <= t1) {
      const u = (t - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k]! + (c1[k]! - c0[k]!) * u)) as [number, number, number];
    }
  }
  return stops[stops.length - 1]![1];
}

function byCategory(p: MapPoints, values: Int16Array | Uint8Array, keys: { key: number; label: string; color: string }[], noneLabel: string): Colouring {
  const packed = new Map(keys.map((k) => [k.key, packHex(k.color)]));
  const none = packHex(NONE_COLOUR);
  const counts = new Map<number, number>();
  const colors = new Uint32Array(p.count);
  let unknown = 0;
  for (let i = 0; i < p.count; i++) {
    const v = values[i]!;
    const c = packed.get(v);
    if (c === undefined) unknown++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
    colors[i] = c ?? none;
  }
  const legend = keys.filter((k) => counts.has(k.key)).map((k) => ({ label: k.label, color: k.color, count: counts.get(k.key)! }));
  if (unknown > 0) legend.push({ label: noneLabel, color: NONE_COLOUR, count: unknown });
  return { colors, order: null, legend };
}

/** `classes` is the palette the label and prediction indices point into. */
export function colourPoints(p: MapPoints, mode: ColourMode, classes: readonly ClassColour[]): Colouring {
  const classKeys = classes.map((c, k) => ({ key: k, label: c.name, color: c.color }));
  if (mode === 'label') return byCategory(p, p.label, classKeys, 'unlabelled');
  if (mode === 'prediction') return byCategory(p, p.predicted, classKeys, 'no prediction');
  if (mode === 'split') return byCategory(p, p.split, SPLIT_ORDER.map((s, k) => ({ key: k, label: s, color: SPLIT_COLOURS[k]! })), 'no split');
  const colors = new Uint32Array(p.count);
  const none = packRgba(173, 181, 189, 160);
  let scored = 0;
  for (let i = 0; i < p.count; i++) {
    const s = p.score[i]!;
    if (Number.isNaN(s)) colors[i] = none;
    else {
      const [r, g, b] = scoreColour(s);
      colors[i] = packRgba(r, g, b);
      scored++;
    }
  }
  // Unscored first, then from the best score to the worst: likely errors end on top.
  const order = Uint32Array.from({ length: p.count }, (_, i) => i).sort((a, b) => {
    const sa = p.score[a]!;
    const sb = p.score[b]!;
    if (Number.isNaN(sa)) return Number.isNaN(sb) ? a - b : -1;
    if (Number.isNaN(sb)) return 1;
    return sb - sa || a - b;
  });
  const legend: LegendItem[] = [{ label: 'scored', color: '#fab005', count: scored }];
  if (scored < p.count) legend.push({ label: 'no score', color: NONE_COLOUR, count: p.count - scored });
  return { colors, order, legend, ramp: { low: 'rgb(224,49,49)', high: 'rgb(55,178,77)', lowLabel: 'likely wrong', highLabel: 'label fits' } };
}
