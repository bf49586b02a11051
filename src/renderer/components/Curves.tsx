/**
 * Line charts as plain SVG: several series over a shared x axis (epochs), with axes, ticks and a
 * legend. `linePath` and `scale` are exported for tests and for other charts.
 */
import type { CSSProperties } from 'react';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  id: string;
  label: string;
  color: string;
  points: readonly Point[];
  dashed?: boolean;
  /** Stroke width (thin for noisy per-batch lines). */
  width?: number;
  opacity?: number;
}

export interface Domain {
  x: [number, number];
  y: [number, number];
}

/** A linear map from [d0, d1] to [r0, r1] (a degenerate domain maps to the middle). */
export function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

/** "M x y L x y ..." for the finite points, in order, rounded to 0.1 px. */
export function linePath(points: readonly Point[], sx: (v: number) => number, sy: (v: number) => number): string {
  const r = (v: number): number => Math.round(v * 10) / 10;
  return points
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${r(sx(p.x))} ${r(sy(p.y))}`)
    .join(' ');
}

/** The extent of every finite point, widened by `fixed` bounds where given. */
export function domainOf(series: readonly Series[], fixed: Partial<{ xMin: number; xMax: number; yMin: number; yMax: number }> = {}): Domain {
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const x0 = fixed.xMin ?? (xs.length ? Math.min(...xs) : 0);
  const x1 = fixed.xMax ?? (xs.length ? Math.max(...xs) : 1);
  const y0 = fixed.yMin ?? (ys.length ? Math.min(...ys) : 0);
  const y1 = fixed.yMax ?? (ys.length ? Math.max(...ys) : 1);
  return { x: [x0, x1 > x0 ? x1 : x0 + 1], y: [y0, y1 > y0 ? y1 : y0 + 1] };
}

function ticks(d0: number, d1: number, count: number, integer: boolean): number[] {
  if (integer) {
    const step = Math.max(1, Math.ceil((d1 - d0) / count));
    const out: number[] = [];
    for (let v = Math.ceil(d0); v <= d1 + 1e-9; v += step) out.push(v);
    return out;
  }
  return Array.from({ length: count + 1 }, (_, i) => d0 + ((d1 - d0) * i) / count);
}

export interface CurvesProps {
  series: readonly Series[];
  title?: string;
  xLabel?: string;
  yMin?: number;
  yMax?: number;
  xMin?: number;
  xMax?: number;
  /** y tick format, e.g. percentages. */
  formatY?: (v: number) => string;
  width?: number;
  height?: number;
  testId?: string;
  style?: CSSProperties;
}

export function Curves({ series, title, xLabel = 'epoch', yMin, yMax, xMin, xMax, formatY = (v) => v.toFixed(2), width = 420, height = 220, testId = 'curves', style }: CurvesProps) {
  const m = { left: 44, right: 10, top: title ? 22 : 8, bottom: 30 };
  const fixed: Partial<{ xMin: number; xMax: number; yMin: number; yMax: number }> = {};
  if (xMin !== undefined) fixed.xMin = xMin;
  if (xMax !== undefined) fixed.xMax = xMax;
  if (yMin !== undefined) fixed.yMin = yMin;
  if (yMax !== undefined) fixed.yMax = yMax;
  const d = domainOf(series, fixed);
  const sx = scale(d.x[0], d.x[1], m.left, width - m.right);
  const sy = scale(d.y[0], d.y[1], height - m.bottom, m.top);
  const xt = ticks(d.x[0], d.x[1], 6, true);
  const yt = ticks(d.y[0], d.y[1], 4, false);
  const empty = series.every((s) => s.points.length === 0);
  return (
    <figure style={{ margin: 0, ...style }} data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={title ?? 'chart'} style={{ maxWidth: width, display: 'block' }}>
        {title && (
          <text x={m.left} y={14} fontSize={12} fontWeight={600} fill="currentColor">
            {title}
          </text>
        )}
        <line x1={m.left} x2={width - m.right} y1={height - m.bottom} y2={height - m.bottom} stroke="currentColor" strokeOpacity={0.4} />
        <line x1={m.left} x2={m.left} y1={m.top} y2={height - m.bottom} stroke="currentColor" strokeOpacity={0.4} />
        {yt.map((v, i) => (
          <g key={`y${i}`}>
            <line x1={m.left} x2={width - m.right} y1={sy(v)} y2={sy(v)} stroke="currentColor" strokeOpacity={0.08} />
            <text x={m.left - 4} y={sy(v) + 3} fontSize={9} textAnchor="end" fill="currentColor" fillOpacity={0.7}>
              {formatY(v)}
            </text>
          </g>
        ))}
        {xt.map((v) => (
          <text key={`x${v}`} x={sx(v)} y={height - m.bottom + 12} fontSize={9} textAnchor="middle" fill="currentColor" fillOpacity={0.7}>
            {v}
          </text>
        ))}
        <text x={(m.left + width - m.right) / 2} y={height - 4} fontSize={10} textAnchor="middle" fill="currentColor" fillOpacity={0.7}>
          {xLabel}
        </text>
        {empty && (
          <text x={(m.left + width) / 2} y={height / 2} fontSize={11} textAnchor="middle" fill="currentColor" fillOpacity={0.5}>
            waiting for the first epoch…
          </text>
        )}
        {series.map((s) =>
          s.points.length === 1 ? (
            <circle key={s.id} data-series={s.id} cx={sx(s.points[0]!.x)} cy={sy(s.points[0]!.y)} r={3} fill={s.color} />
          ) : (
            <path
              key={s.id}
              data-series={s.id}
              d={linePath(s.points, sx, sy)}
              fill="none"
              stroke={s.color}
              strokeWidth={s.width ?? 2}
              strokeOpacity={s.opacity ?? 1}
              strokeDasharray={s.dashed ? '5 4' : undefined}
            />
          ),
        )}
      </svg>
      <figcaption style={{ display: 'flex', gap: 12, flexWrap: 'wrap', fontSize: 11, paddingLeft: m.left }}>
        {series.map((s) => (
          <span key={s.id} style={{ display: 'inline-flex', alignItems: 'center', gap: 4 }}>
            <svg width={18} height={6} aria-hidden>
              <line x1={0} x2={18} y1={3} y2={3} stroke={s.color} strokeWidth={2} strokeDasharray={s.dashed ? '4 3' : undefined} />
            </svg>
            {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
