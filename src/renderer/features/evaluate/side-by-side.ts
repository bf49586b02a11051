/**
 * Two runs side by side (typically two backbones on the same project, "which backbone"): the
 * figures that decide between them, and each class's validation accuracy (recall at the best
 * epoch) matched by class name, with which run is ahead.
 */
import type { RunDetail } from '../../../shared/domain';
import { formatCount, pct } from '../../components/format';
import { formatDuration } from '../../components/run-charts';
import { classMetrics } from './metrics';

export type Ahead = 'a' | 'b' | null;

export interface SideRow {
  key: string;
  a: string;
  b: string;
  /** Which run is ahead on this figure (null: a tie, not comparable, or not a figure of merit). */
  ahead: Ahead;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Higher (or lower, with `lowerWins`) wins; null when either is missing or they tie. */
export function ahead(a: number | null, b: number | null, lowerWins = false): Ahead {
  if (a === null || b === null || a === b) return null;
  return (a > b) !== lowerWins ? 'a' : 'b';
}

function seconds(r: RunDetail): number | null {
  const ms = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : NaN;
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** Model, best validation accuracy, training time and speed, and what each froze and trained. */
export function sideRows(a: RunDetail, b: RunDetail): SideRow[] {
  const figure = (r: RunDetail, key: string) => num(r.result?.[key]);
  const count = (v: number | null) => (v === null ? '—' : formatCount(v));
  return [
    { key: 'model', a: a.model, b: b.model, ahead: null },
    { key: 'best val accuracy', a: pct(a.bestValAcc), b: pct(b.bestValAcc), ahead: ahead(a.bestValAcc, b.bestValAcc) },
    { key: 'training time', a: formatDuration(a.startedAt, a.finishedAt), b: formatDuration(b.startedAt, b.finishedAt), ahead: ahead(seconds(a), seconds(b), true) },
    {
      key: 'images / s',
      a: figure(a, 'imagesPerSec')?.toFixed(1) ?? '—',
      b: figure(b, 'imagesPerSec')?.toFixed(1) ?? '—',
      ahead: ahead(figure(a, 'imagesPerSec'), figure(b, 'imagesPerSec')),
    },
    { key: 'frozen parameters', a: count(figure(a, 'frozenParams')), b: count(figure(b, 'frozenParams')), ahead: null },
    { key: 'trainable parameters', a: count(figure(a, 'trainableParams')), b: count(figure(b, 'trainableParams')), ahead: null },
  ];
}

export interface ClassPair {
  name: string;
  /** Validation accuracy of the class (recall), null when the run has no validation image of it. */
  a: number | null;
  b: number | null;
  ahead: Ahead;
}

/** Per-class validation accuracy of both runs, matched by class name (case-insensitive), a's classes first. */
export function perClassPairs(a: RunDetail, b: RunDetail): ClassPair[] {
  const recalls = (r: RunDetail) => new Map((r.confusion ? classMetrics(r.confusion.classNames, r.confusion.matrix) : []).map((m) => [m.name.toLowerCase(), { name: m.name, recall: m.recall }]));
  const ra = recalls(a);
  const rb = recalls(b);
  const keys = [...new Set([...ra.keys(), ...rb.keys()])];
  return keys.map((k) => {
    const x = ra.get(k)?.recall ?? null;
    const y = rb.get(k)?.recall ?? null;
    return { name: ra.get(k)?.name ?? rb.get(k)?.name ?? k, a: x, b: y, ahead: ahead(x, y) };
  });
}
