/**
 * The virtualized thumbnail grid: only the rows in view (plus a few) exist in the DOM, and only
 * their pages of rows are fetched. role="grid" with rows and gridcells; tiles use a roving
 * tabindex and aria-selected. Pointer and key handling is delegated to the grid element.
 */
import { memo, useEffect, useLayoutEffect, useRef, useState, type DragEvent, type KeyboardEvent, type MouseEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ClassInfo, ImageRow, Split } from '../../../shared/domain';
import { fileUrl } from '../../api/client';
import type { PageCache } from './page-cache';
import { useCacheVersion } from './useImagePages';
import classes from './gallery.module.css';

export const GAP = 6;
export const LABEL_HEIGHT = 24;
const SPLIT_LABEL: Record<Split, string> = { train: 'train', val: 'val', test: 'test' };

interface TileProps {
  index: number;
  row: ImageRow | undefined;
  cls: ClassInfo | undefined;
  selected: boolean;
  focused: boolean;
  size: number;
  /** False while the grid flies past (scrollbar drag, End): no thumbnail requests for tiles seen for one frame. */
  loadImage: boolean;
}

const Tile = memo(function Tile({ index, row, cls, selected, focused, size, loadImage }: TileProps) {
  if (!loadImage) {
    // Flying past: one element with the class colour, filled in when the scroll slows.
    return (
      <div
        role="gridcell"
        className={classes.tile}
        aria-selected={selected}
        tabIndex={focused ? 0 : -1}
        data-index={index}
        data-testid="tile"
        data-image-id={row?.id}
        data-class={cls?.name ?? ''}
        style={{ width: size, height: size + LABEL_HEIGHT, marginRight: GAP, borderBottom: `${LABEL_HEIGHT}px solid ${cls?.color ?? 'transparent'}` }}
      />
    );
  }
  return (
    <div
      role="gridcell"
      className={`${classes.tile}${focused ? ` ${classes.focused}` : ''}`}
      aria-selected={selected}
      aria-label={row ? `${row.fileName}, ${cls ? cls.name : 'unlabelled'}, ${row.split}` : 'Loading'}
      tabIndex={focused ? 0 : -1}
      data-index={index}
      data-testid="tile"
      data-image-id={row?.id}
      data-class={cls?.name ?? ''}
      data-split={row?.split}
      draggable={!!row}
      style={{ width: size, height: size + LABEL_HEIGHT, marginRight: GAP }}
    >
      {row && loadImage ? (
        <img
          className={classes.thumb}
          src={fileUrl('thumb', row.id)}
          alt=""
          draggable={false}
          decoding="async"
          style={{ height: size }}
          onLoad={(e) => (e.currentTarget.style.visibility = '')}
          onError={(e) => (e.currentTarget.style.visibility = 'hidden')}
        />
      ) : (
        <div className={classes.placeholder} style={{ height: size }} />
      )}
      {selected && (
        <div className={classes.check} aria-hidden>
          ✓
        </div>
      )}
      <div className={classes.label} style={cls ? { borderTopColor: cls.color } : undefined} title={row?.fileName}>
        <span className={`${classes.className}${cls ? '' : ` ${classes.unlabelled}`}`}>{row ? (cls ? cls.name : 'unlabelled') : ''}</span>
        {row && (
          <span className={classes.split} data-split={row.split}>
            {SPLIT_LABEL[row.split]}
          </span>
        )}
      </div>
    </div>
  );
});

interface GridRowProps {
  rowIndex: number;
  start: number;
  columns: number;
  total: number;
  size: number;
  height: number;
  cache: PageCache;
  version: number;
  classById: ReadonlyMap<number, ClassInfo>;
  selected: ReadonlySet<number>;
  tabTarget: number;
  loadImages: boolean;
}

/** One row of tiles; memoized so a scroll only renders the rows that come into view. */
const GridRow = memo(function GridRow({ rowIndex, start, columns, total, size, height, cache, classById, selected, tabTarget, loadImages }: GridRowProps) {
  const first = rowIndex * columns;
  const end = Math.min(total, first + columns);
  const tiles = [];
  for (let i = first; i < end; i++) {
    const row = cache.get(i);
    tiles.push(
      <Tile
        key={i}
        index={i}
        row={row}
        cls={row?.classId != null ? classById.get(row.classId) : undefined}
        selected={row ? selected.has(row.id) : false}
        focused={i === tabTarget}
        size={size}
        loadImage={loadImages}
      />,
    );
  }
  return (
    <div role="row" aria-rowindex={rowIndex + 1} className={classes.row} style={{ transform: `translateY(${start}px)`, paddingLeft: GAP, height }}>
      {tiles}
    </div>
  );
});

/**
 * Scrolling faster than this (px per ms: 4 = 4,000 px/s, a fling or a scrollbar drag) defers
 * thumbnail loading until the scroll slows or stops (150 ms); slower, thumbnails load as tiles appear.
 */
const FAST_SCROLL = 4;

export interface GridLayout {
  columns: number;
  visibleRows: number;
}

export interface ImageGridProps {
  cache: PageCache;
  total: number;
  size: number;
  classById: ReadonlyMap<number, ClassInfo>;
  selected: ReadonlySet<number>;
  focus: number | null;
  /** Bumped when the keyboard moved the focus: scroll to it and focus its tile. */
  focusNonce: number;
  onLayout: (l: GridLayout) => void;
  onTileClick: (index: number, e: MouseEvent) => void;
  onTileDoubleClick: (index: number) => void;
  onTileDragStart: (index: number, e: DragEvent) => void;
  onKeyDown: (e: KeyboardEvent) => void;
  label: string;
}

function indexOf(target: EventTarget): number | null {
  const el = (target as HTMLElement).closest?.('[data-index]');
  return el ? Number(el.getAttribute('data-index')) : null;
}

export function ImageGrid(props: ImageGridProps) {
  const { cache, total, size, classById, selected, focus, focusNonce, onLayout } = props;
  const version = useCacheVersion(cache);
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [height, setHeight] = useState(0);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      setWidth(el.clientWidth);
      setHeight(el.clientHeight);
    });
    ro.observe(el);
    setWidth(el.clientWidth);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  const columns = Math.max(1, Math.floor((width - GAP) / (size + GAP)));
  const rowHeight = size + LABEL_HEIGHT + GAP;
  const rowCount = Math.ceil(total / columns);
  const visibleRows = Math.max(1, Math.floor(height / rowHeight));

  useEffect(() => onLayout({ columns, visibleRows }), [columns, visibleRows, onLayout]);

  const virtualizer = useVirtualizer({
    count: rowCount,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 3,
    paddingStart: GAP,
  });
  useEffect(() => virtualizer.measure(), [rowHeight, virtualizer]);

  const items = virtualizer.getVirtualItems();

  // Scroll speed between renders: when flying past, tiles are drawn without their thumbnails
  // (which would be requested and dropped a frame later) until the scroll slows or stops.
  // Renders caused by something else (a page arriving) keep the last verdict until the scroll stops.
  const motion = useRef({ offset: 0, time: 0, fast: false });
  const offset = virtualizer.scrollOffset ?? 0;
  const now = performance.now();
  const m = motion.current;
  if (!virtualizer.isScrolling) motion.current = { offset, time: now, fast: false };
  else if (offset !== m.offset) {
    const dt = now - m.time;
    motion.current = { offset, time: now, fast: dt > 0 && dt < 250 && Math.abs(offset - m.offset) / dt > FAST_SCROLL };
  }
  const fast = motion.current.fast;
  const firstRow = items[0]?.index ?? 0;
  const lastRow = items[items.length - 1]?.index ?? 0;

  // Fetch the rows in view plus a margin of about one screen either side.
  useEffect(() => {
    const margin = visibleRows * columns;
    cache.ensure(Math.max(0, firstRow * columns - margin), (lastRow + 1) * columns + margin);
  }, [cache, firstRow, lastRow, columns, visibleRows]);

  // Keyboard focus: scroll the focused tile into view, then focus it once it is rendered.
  useEffect(() => {
    if (focusNonce === 0 || focus === null) return;
    virtualizer.scrollToIndex(Math.floor(focus / columns), { align: 'auto' });
    let tries = 0;
    let raf = 0;
    const tryFocus = (): void => {
      const el = scroller.current?.querySelector<HTMLElement>(`[data-index="${focus}"]`);
      if (el) el.focus({ preventScroll: true });
      else if (tries++ < 10) raf = requestAnimationFrame(tryFocus);
    };
    raf = requestAnimationFrame(tryFocus);
    return () => cancelAnimationFrame(raf);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- runs per focus request only
  }, [focusNonce]);

  const onClick = (e: MouseEvent): void => {
    const i = indexOf(e.target);
    if (i !== null) props.onTileClick(i, e);
  };
  const onDoubleClick = (e: MouseEvent): void => {
    const i = indexOf(e.target);
    if (i !== null) props.onTileDoubleClick(i);
  };
  const onDragStart = (e: DragEvent): void => {
    const i = indexOf(e.target);
    if (i !== null) props.onTileDragStart(i, e);
  };

  // With nothing focused yet, Tab into the grid lands on the first tile.
  const tabTarget = focus ?? 0;

  return (
    <div
      ref={scroller}
      className={classes.scroller}
      role="grid"
      aria-label={props.label}
      aria-rowcount={rowCount}
      aria-colcount={columns}
      aria-multiselectable
      data-testid="gallery-grid"
      data-total={total}
      tabIndex={total === 0 ? 0 : -1}
      onClick={onClick}
      onDoubleClick={onDoubleClick}
      onDragStart={onDragStart}
      onKeyDown={props.onKeyDown}
    >
      <div style={{ height: virtualizer.getTotalSize() + GAP, width: '100%', position: 'relative' }}>
        {items.map((vr) => (
          <GridRow
            key={vr.key}
            rowIndex={vr.index}
            start={vr.start}
            columns={columns}
            total={total}
            size={size}
            height={rowHeight}
            cache={cache}
            version={version}
            classById={classById}
            selected={selected}
            tabTarget={tabTarget}
            loadImages={!fast}
          />
        ))}
      </div>
    </div>
  );
}
