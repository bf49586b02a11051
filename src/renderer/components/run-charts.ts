/** Series for the loss and accuracy curves of a run (train and validation per epoch, smoothed batch loss). */
import type { EpochMetrics } from '../../shared/domain';
import type { Point, Series } from './Curves';

export const COLORS = { train: '#228be6', val: '#f76707', batch: '#74c0fc', other: '#ae3ec9', otherVal: '#37b24d' };

const pts = (metrics: readonly EpochMetrics[], pick: (m: EpochMetrics) => number | null): Point[] =>
  metrics.flatMap((m) => {
    const y = pick(m);
    return y === null || !Number.isFinite(y) ? [] : [{ x: m.epoch, y }];
  });

/** Exponential moving average (the engine's loss is already smoothed a little; this evens it for drawing). */
export function smooth(points: readonly Point[], alpha = 0.3): Point[] {
  let s: number | null = null;
  return points.map((p) => {
    s = s === null ? p.y : alpha * p.y + (1 - alpha) * s;
    return { x: p.x, y: s };
  });
}

export function lossSeries(metrics: readonly EpochMetrics[], batchLoss: readonly Point[] = [], prefix = '', colors = { train: COLORS.train, val: COLORS.val }): Series[] {
  const s: Series[] = [];
  if (batchLoss.length > 1) s.push({ id: `${prefix}batch`, label: `${prefix}train loss per batch (smoothed)`, color: COLORS.batch, points: smooth(batchLoss), width: 1, opacity: 0.8 });
  s.push({ id: `${prefix}train-loss`, label: `${prefix}train loss`, color: colors.train, points: pts(metrics, (m) => m.trainLoss) });
  s.push({ id: `${prefix}val-loss`, label: `${prefix}validation loss`, color: colors.val, points: pts(metrics, (m) => m.valLoss), dashed: true });
  return s;
}

export function accSeries(metrics: readonly EpochMetrics[], prefix = '', colors = { train: COLORS.train, val: COLORS.val }): Series[] {
  return [
    { id: `${prefix}train-acc`, label: `${prefix}train accuracy`, color: colors.train, points: pts(metrics, (m) => m.trainAcc) },
    { id: `${prefix}val-acc`, label: `${prefix}validation accuracy`, color: colors.val, points: pts(metrics, (m) => m.valAcc), dashed: true },
  ];
}

export function formatEta(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function formatDuration(startedAt: string, finishedAt: string | null): string {
  const ms = (finishedAt ? Date.parse(finishedAt) : Date.now()) - Date.parse(startedAt);
  return Number.isFinite(ms) ? formatEta(ms / 1000) : '—';
}
