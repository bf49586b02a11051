/**
 * A page of image tiles with a roving focus (arrows, Home, End) and a pager: the grid of the
 * Audit screen's lists (likely label errors, label next) and of PredictionGrid (Evaluate, Export
 * review). What a key does to the focused row is the caller's (`onKey`); the grid keeps the focus
 * on a tile that exists when rows leave the list (an issue fixed or a label changed), so the next
 * one is under the cursor.
 */
import { useEffect, useImperativeHandle, useRef, useState, type KeyboardEvent, type ReactNode, type Ref, type RefObject } from 'react';
import { Button, Group, Text } from '@mantine/core';
import type { ClassInfo } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { classOfDigitKey } from './label-keys';

export interface TileGridHandle {
  /** Puts the keyboard focus back on the focused tile (after a button took it). */
  refocus(): void;
}

/**
 * What a tile grid's actions leave behind: a notice after one worked (the keyboard goes back to the
 * grid), the error when one failed; and the gallery's digit keys, 1–9 for the classes in order.
 */
export function useTileActions(grid: RefObject<TileGridHandle | null>) {
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<StudioError>();
  const run = (p: Promise<string>): void => {
    p.then(
      (msg) => {
        setNotice(msg);
        setError(undefined);
        grid.current?.refocus();
      },
      (err: unknown) => setError(StudioError.from(err)),
    );
  };
  /** A digit key 1–9 labels with that class (or says there is none): true when `key` was one. */
  const digit = (key: string, classes: readonly ClassInfo[], label: (cls: ClassInfo) => void): boolean => {
    const named = classOfDigitKey(key, classes);
    if (!named) return false;
    if ('cls' in named) label(named.cls);
    else setNotice(named.missing);
    return true;
  };
  return { notice, error, run, digit };
}

export interface TileGridProps<T> {
  rows: readonly T[];
  keyOf(row: T): number;
  tileWidth: number;
  label: string;
  /** On the grid element; its status line is `${testId}-status` unless statusTestId says otherwise. */
  testId?: string;
  statusTestId?: string;
  page: number;
  pages: number;
  onPage(page: number): void;
  /** With it, stepping back from a page's first tile lands on the last tile of the page before (else its first). */
  pageSize?: number;
  /** The status line: statusBefore, "page i/n", status. */
  statusBefore?: ReactNode;
  status: ReactNode;
  /** Beside the pager, at the far end of its row (undo, key help). */
  aside?: ReactNode;
  render(row: T, index: number, focused: boolean, focus: () => void): ReactNode;
  /** A key on the focused row; return true when it was handled. */
  onKey(e: KeyboardEvent, row: T, index: number): boolean;
  handle?: Ref<TileGridHandle>;
}

export function TileGrid<T>({ rows, keyOf, tileWidth, label, testId, statusTestId, page, pages, onPage, pageSize, statusBefore, status, aside, render, onKey, handle }: TileGridProps<T>) {
  const [focus, setFocus] = useState(0);
  const gridRef = useRef<HTMLDivElement>(null);

  // Rows that left the list: the focus stays on a tile that exists.
  useEffect(() => {
    if (rows.length > 0 && focus >= rows.length) setFocus(rows.length - 1);
  }, [rows.length, focus]);

  const focusTile = (i: number): void => {
    setFocus(i);
    requestAnimationFrame(() => gridRef.current?.querySelector<HTMLElement>(`[data-index="${i}"]`)?.focus());
  };
  useImperativeHandle(handle, () => ({
    refocus: () => {
      gridRef.current?.focus({ preventScroll: true }); // keys stay in the grid until the tile is back
      requestAnimationFrame(() => gridRef.current?.querySelector<HTMLElement>('[tabindex="0"]')?.focus());
    },
  }));

  const columns = (): number => {
    const el = gridRef.current;
    return el ? Math.max(1, Math.floor((el.clientWidth + 8) / (tileWidth + 12))) : 1;
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.ctrlKey || e.metaKey || e.altKey) return; // undo / redo: the window's handler
    const cols = columns();
    const moves: Record<string, number> = { ArrowLeft: focus - 1, ArrowRight: focus + 1, ArrowUp: focus - cols, ArrowDown: focus + cols, Home: 0, End: rows.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      const to = moves[e.key]!;
      if (to >= rows.length && page < pages - 1) {
        onPage(page + 1);
        focusTile(0);
      } else if (to < 0 && page > 0) {
        onPage(page - 1);
        focusTile(pageSize ? pageSize - 1 : 0);
      } else focusTile(Math.max(0, Math.min(rows.length - 1, to)));
      return;
    }
    const row = rows[focus];
    if (row !== undefined && onKey(e, row, focus)) e.preventDefault();
  };

  const pager = (
    <Group gap="xs">
      <Button size="compact-xs" variant="default" disabled={page === 0} onClick={() => onPage(page - 1)}>
        Previous
      </Button>
      <Text size="xs" aria-live="polite" data-testid={statusTestId ?? (testId && `${testId}-status`)}>
        {statusBefore}
        page {page + 1}/{pages}
        {status}
      </Text>
      <Button size="compact-xs" variant="default" disabled={page >= pages - 1} onClick={() => onPage(page + 1)}>
        Next
      </Button>
    </Group>
  );

  return (
    <>
      <div
        ref={gridRef}
        role="grid"
        aria-label={label}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        data-testid={testId}
        style={{ display: 'flex', flexWrap: 'wrap', gap: 8, outline: 'none', alignContent: 'flex-start' }}
      >
        {rows.map((r, i) => (
          <div key={keyOf(r)} style={{ display: 'contents' }}>
            {render(r, i, i === focus, () => setFocus(i))}
          </div>
        ))}
      </div>
      {aside ? (
        <Group justify="space-between">
          {pager}
          {aside}
        </Group>
      ) : (
        pager
      )}
    </>
  );
}

/** The frame of one tile: focus ring, roving tabindex, thumbnail on top. */
export function Tile({ index, focused, onFocus, label, testId, data, width, thumb, children }: { index: number; focused: boolean; onFocus: () => void; label: string; testId: string; data: Record<string, string | number>; width: number; thumb: string; children: ReactNode }) {
  const attrs = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, String(v)]));
  return (
    <div
      role="gridcell"
      tabIndex={focused ? 0 : -1}
      aria-selected={focused}
      aria-label={label}
      data-testid={testId}
      data-index={index}
      {...attrs}
      onClick={onFocus}
      onFocus={onFocus}
      style={{
        width,
        border: `2px solid ${focused ? 'var(--mantine-color-blue-filled)' : 'transparent'}`,
        borderRadius: 6,
        padding: 3,
        cursor: 'pointer',
        background: 'var(--mantine-color-default)',
        outline: 'none',
      }}
    >
      <img src={thumb} alt="" draggable={false} style={{ width: '100%', height: width - 40, objectFit: 'contain', display: 'block' }} />
      {children}
    </div>
  );
}
