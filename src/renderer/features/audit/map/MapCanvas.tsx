/**
 * The embedding map's drawing surface: one canvas whose pixels are written from typed arrays
 * (raster.ts), one overlay canvas for the lasso and the hovered point, one thumbnail element.
 * No React element or DOM node per point. Pan (drag, arrow keys) and zoom (wheel, +/-) change
 * only the view kept in a ref and ask for one animation frame; hit-testing goes through a
 * spatial grid. A lasso (Lasso mode, or Shift+drag) selects the points inside it; a click picks
 * one point (Ctrl/Cmd toggles it).
 *
 * The container carries the view as data-view="scale,tx,ty" (CSS pixels: screen = data * scale +
 * offset), data-frames (frames drawn) and data-draw-ms (the last frame's drawing time), so a test
 * can place a lasso and a benchmark can time frames.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { fileUrl } from '../../../api/client';
import type { Colouring, MapPoints } from './colouring';
import { dotSize, drawPoints, packHex, type Pixels } from './raster';
import { buildGrid, nearestPoint, pointsInPolygon } from './spatial-grid';
import { boundsOf, fitView, pan, polygonToData, toData, toScreen, zoomAt, type View } from './view';

export type SelectMode = 'replace' | 'add' | 'toggle';

export interface MapCanvasProps {
  points: MapPoints;
  colouring: Colouring;
  /** Selected image ids (the gallery's selection). */
  selected: ReadonlySet<number>;
  onSelect(ids: number[], mode: SelectMode): void;
  /** Lasso on a plain drag (else a drag pans and Shift+drag lassos). */
  lasso: boolean;
  /** Describes a point for its hover card (file, label...). */
  describe(index: number): string;
  /** Keys the map does not use itself (labelling), with the map focused. */
  onKeyDown?(e: KeyboardEvent): void;
  /** Selection outline, by theme. */
  ringColor: string;
  /** A new value (a new map) fits the whole map into view; the same map redrawn keeps the view. */
  fitKey: string | number;
  /** Bumped to fit the whole map into view again (the Fit button). */
  fitNonce?: number;
}

const PAN_KEYS: Record<string, [number, number]> = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
const CLICK_SLOP = 3;
const HOVER_RADIUS = 8;

interface Drag {
  kind: 'pan' | 'lasso';
  x0: number;
  y0: number;
  lastX: number;
  lastY: number;
  moved: boolean;
  path: number[];
  mode: SelectMode;
}

export function MapCanvas({ points, colouring, selected, onSelect, lasso, describe, onKeyDown, ringColor, fitKey, fitNonce = 0 }: MapCanvasProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ scale: 1, tx: 0, ty: 0 });
  const fitScale = useRef(1);
  const size = useRef({ w: 0, h: 0, dpr: 1 });
  const image = useRef<{ data: ImageData; px: Pixels } | null>(null);
  const frame = useRef(0);
  const frames = useRef(0);
  const drag = useRef<Drag | null>(null);
  const hoverRef = useRef(-1);
  const [hover, setHover] = useState<{ index: number; sx: number; sy: number } | null>(null);

  const grid = useMemo(() => buildGrid(points.x, points.y), [points]);
  const bounds = useMemo(() => boundsOf(points.x, points.y), [points]);
  const indexOfId = useMemo(() => {
    const m = new Map<number, number>();
    for (let i = 0; i < points.count; i++) m.set(points.ids[i]!, i);
    return m;
  }, [points]);
  const selectedIdx = useMemo(() => {
    const out: number[] = [];
    for (const id of selected) {
      const i = indexOfId.get(id);
      if (i !== undefined) out.push(i);
    }
    return Uint32Array.from(out);
  }, [selected, indexOfId]);

  // What a frame draws, read from a ref so the drawing function never goes stale.
  const scene = useRef({ points, colouring, selectedIdx, ringColor });
  scene.current = { points, colouring, selectedIdx, ringColor };

  const draw = useCallback(() => {
    frame.current = 0;
    const t0 = performance.now();
    const canvas = canvasRef.current;
    const overlay = overlayRef.current;
    const { w, h, dpr } = size.current;
    if (!canvas || !overlay || w === 0 || h === 0) return;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const W = Math.round(w * dpr);
    const H = Math.round(h * dpr);
    if (!image.current || image.current.px.width !== W || image.current.px.height !== H) {
      const data = ctx.createImageData(W, H);
      image.current = { data, px: { data: new Uint32Array(data.data.buffer), width: W, height: H } };
    }
    const { data, px } = image.current;
    const s = scene.current;
    const v = view.current;
    const pointSize = dotSize(s.points.count, dpr, v.scale / fitScale.current);
    px.data.fill(0);
    drawPoints(px, s.points.x, s.points.y, s.colouring.colors, v, dpr, pointSize, s.colouring.order ?? undefined);
    if (s.selectedIdx.length > 0) {
      drawPoints(px, s.points.x, s.points.y, packHex(s.ringColor), v, dpr, pointSize + 2 * Math.max(1, Math.round(dpr)), s.selectedIdx);
      drawPoints(px, s.points.x, s.points.y, s.colouring.colors, v, dpr, pointSize, s.selectedIdx);
    }
    ctx.putImageData(data, 0, 0);

    const o = overlay.getContext('2d');
    if (o) {
      o.setTransform(dpr, 0, 0, dpr, 0, 0);
      o.clearRect(0, 0, w, h);
      const d = drag.current;
      if (d?.kind === 'lasso' && d.path.length >= 4) {
        o.beginPath();
        o.moveTo(d.path[0]!, d.path[1]!);
        for (let k = 2; k < d.path.length; k += 2) o.lineTo(d.path[k]!, d.path[k + 1]!);
        o.closePath();
        o.fillStyle = 'rgba(76, 110, 245, 0.12)';
        o.fill();
        o.setLineDash([5, 4]);
        o.strokeStyle = s.ringColor;
        o.lineWidth = 1.5;
        o.stroke();
        o.setLineDash([]);
      }
      const hv = hoverRef.current;
      if (hv >= 0 && hv < s.points.count) {
        const [hx, hy] = toScreen(v, s.points.x[hv]!, s.points.y[hv]!);
        o.beginPath();
        o.arc(hx, hy, pointSize / dpr + 4, 0, 2 * Math.PI);
        o.strokeStyle = s.ringColor;
        o.lineWidth = 2;
        o.stroke();
      }
    }
    frames.current++;
    const box = boxRef.current;
    if (box) {
      box.dataset.view = `${v.scale},${v.tx},${v.ty}`;
      box.dataset.frames = String(frames.current);
      box.dataset.drawMs = (performance.now() - t0).toFixed(2);
    }
  }, []);

  const schedule = useCallback(() => {
    if (!frame.current) frame.current = requestAnimationFrame(draw);
  }, [draw]);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const fit = useCallback(() => {
    const { w, h } = size.current;
    if (w === 0 || h === 0) return;
    view.current = fitView(bounds, w, h);
    fitScale.current = view.current.scale;
    schedule();
  }, [bounds, schedule]);

  // Follow the container's size; the first size (and a new map, or Fit) fits the whole map.
  const fitted = useRef<string | number | null>(null);
  useLayoutEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const resize = (): void => {
      const dpr = window.devicePixelRatio || 1;
      const w = box.clientWidth;
      const h = box.clientHeight;
      size.current = { w, h, dpr };
      for (const c of [canvasRef.current, overlayRef.current]) {
        if (!c) continue;
        c.width = Math.round(w * dpr);
        c.height = Math.round(h * dpr);
      }
      if (fitted.current !== fitKey) {
        fitted.current = fitKey;
        fit();
      } else schedule();
    };
    resize();
    const ro = new ResizeObserver(resize);
    ro.observe(box);
    return () => ro.disconnect();
  }, [fitKey, fit, schedule]);

  useEffect(() => {
    if (fitNonce > 0) fit();
  }, [fitNonce, fit]);

  // New points, colouring or selection: one more frame.
  useEffect(schedule, [points, colouring, selectedIdx, ringColor, schedule]);

  // Wheel zoom about the pointer (a non-passive listener, so the page does not scroll).
  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const onWheel = (e: WheelEvent): void => {
      e.preventDefault();
      const r = box.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      view.current = zoomAt(view.current, e.clientX - r.left, e.clientY - r.top, Math.exp(-delta * 0.0015), fitScale.current / 4, fitScale.current * 400);
      schedule();
    };
    box.addEventListener('wheel', onWheel, { passive: false });
    return () => box.removeEventListener('wheel', onWheel);
  }, [schedule]);

  const local = (e: PointerEvent): [number, number] => {
    const r = boxRef.current!.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  const pick = (sx: number, sy: number): number => {
    const [dx, dy] = toData(view.current, sx, sy);
    return nearestPoint(grid, points.x, points.y, dx, dy, HOVER_RADIUS / view.current.scale);
  };

  const setHovered = (index: number, sx = 0, sy = 0): void => {
    if (index === hoverRef.current) return;
    hoverRef.current = index;
    setHover(index >= 0 ? { index, sx, sy } : null);
    schedule();
  };

  const onPointerDown = (e: PointerEvent<HTMLDivElement>): void => {
    if (e.button !== 0) return;
    boxRef.current?.focus({ preventScroll: true });
    try {
      e.currentTarget.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser does not track (a synthetic event): the drag still works inside the map.
    }
    const [sx, sy] = local(e);
    const isLasso = lasso || e.shiftKey;
    drag.current = {
      kind: isLasso ? 'lasso' : 'pan',
      x0: sx,
      y0: sy,
      lastX: sx,
      lastY: sy,
      moved: false,
      path: [sx, sy],
      mode: e.shiftKey || e.ctrlKey || e.metaKey ? 'add' : 'replace',
    };
    setHovered(-1);
  };

  const onPointerMove = (e: PointerEvent<HTMLDivElement>): void => {
    const [sx, sy] = local(e);
    const d = drag.current;
    if (!d) {
      const i = pick(sx, sy);
      if (i >= 0) {
        const [px, py] = toScreen(view.current, points.x[i]!, points.y[i]!);
        setHovered(i, px, py);
      } else setHovered(-1);
      return;
    }
    if (Math.abs(sx - d.x0) > CLICK_SLOP || Math.abs(sy - d.y0) > CLICK_SLOP) d.moved = true;
    if (d.kind === 'pan') view.current = pan(view.current, sx - d.lastX, sy - d.lastY);
    else if (Math.hypot(sx - d.lastX, sy - d.lastY) >= 2) d.path.push(sx, sy);
    else return;
    d.lastX = sx;
    d.lastY = sy;
    schedule();
  };

  const onPointerUp = (e: PointerEvent<HTMLDivElement>): void => {
    const d = drag.current;
    drag.current = null;
    if (!d) return;
    const [sx, sy] = local(e);
    if (!d.moved) {
      // A click: the point under it (Ctrl/Cmd toggles it), or nothing (clears the selection).
      const i = pick(sx, sy);
      const toggle = e.ctrlKey || e.metaKey;
      if (i >= 0) onSelect([points.ids[i]!], toggle ? 'toggle' : e.shiftKey ? 'add' : 'replace');
      else if (!toggle && !e.shiftKey) onSelect([], 'replace');
    } else if (d.kind === 'lasso') {
      d.path.push(sx, sy);
      const inside = pointsInPolygon(grid, points.x, points.y, polygonToData(view.current, d.path));
      onSelect(
        inside.map((i) => points.ids[i]!),
        d.mode,
      );
    }
    schedule();
  };

  const onKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const step = PAN_KEYS[e.key];
    const { w, h } = size.current;
    if (step && !(e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      view.current = pan(view.current, step[0] * w * 0.1, step[1] * h * 0.1);
      schedule();
    } else if (e.key === '+' || e.key === '=' || e.key === '-' || e.key === '_') {
      e.preventDefault();
      view.current = zoomAt(view.current, w / 2, h / 2, e.key === '+' || e.key === '=' ? 1.25 : 0.8, fitScale.current / 4, fitScale.current * 400);
      schedule();
    } else onKeyDown?.(e);
  };

  const hoverId = hover ? points.ids[hover.index] : undefined;
  const card = hover && hoverId !== undefined ? placeCard(hover.sx, hover.sy, size.current.w, size.current.h) : null;

  return (
    <div
      ref={boxRef}
      role="application"
      aria-label={`Embedding map of ${points.count} images. Drag to pan${lasso ? '' : ', Shift+drag to lasso'}, wheel or +/- to zoom, arrows to pan.`}
      tabIndex={0}
      data-testid="embedding-map"
      data-points={points.count}
      data-lasso={lasso}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => {
        drag.current = null;
        schedule();
      }}
      onPointerLeave={() => {
        if (!drag.current) setHovered(-1);
      }}
      onKeyDown={onKey}
      style={{ position: 'relative', flex: 1, minHeight: 300, overflow: 'hidden', cursor: lasso ? 'crosshair' : 'grab', touchAction: 'none', outline: 'none', borderRadius: 6, background: 'var(--mantine-color-default-hover)' }}
    >
      <canvas ref={canvasRef} style={{ position: 'absolute', inset: 0, width: '100%', height: '100%' }} />
      <canvas ref={overlayRef} style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', pointerEvents: 'none' }} />
      {card && hover && hoverId !== undefined && (
        <div
          data-testid="map-hover"
          data-image-id={hoverId}
          style={{ position: 'absolute', left: card.left, top: card.top, width: CARD_W, pointerEvents: 'none', background: 'var(--mantine-color-body)', border: '1px solid var(--mantine-color-default-border)', borderRadius: 6, padding: 4, boxShadow: '0 2px 8px rgba(0,0,0,.25)', fontSize: 11 }}
        >
          <img src={fileUrl('thumb', hoverId)} alt="" style={{ width: '100%', height: CARD_W - 8, objectFit: 'contain', display: 'block' }} />
          <div style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>{describe(hover.index)}</div>
        </div>
      )}
    </div>
  );
}

const CARD_W = 148;
const CARD_H = CARD_W + 24;

/** The hover card beside the point, kept inside the map. */
function placeCard(sx: number, sy: number, w: number, h: number): { left: number; top: number } {
  const left = sx + 14 + CARD_W <= w ? sx + 14 : Math.max(0, sx - 14 - CARD_W);
  const top = Math.max(0, Math.min(h - CARD_H, sy - CARD_H / 2));
  return { left, top };
}
