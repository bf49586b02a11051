/**
 * The confusion matrix as an accessible heatmap: a grid with true classes as rows and predicted
 * classes as columns, counts or row-normalised shares, colour by the row share (green on the
 * diagonal, red off it). Arrow keys move between cells (Home/End along a row), Enter or Space
 * or a click opens a cell. Plain elements and inline styles: usable without a Mantine provider.
 */
import { useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';

function normaliseRows(matrix: readonly (readonly number[])[]): number[][] {
  return matrix.map((r) => {
    const s = r.reduce((a, b) => a + b, 0);
    return r.map((v) => (s > 0 ? v / s : 0));
  });
}

export interface ConfusionHeatmapProps {
  classNames: readonly string[];
  /** rows = true class, columns = predicted class. */
  matrix: readonly (readonly number[])[];
  /** Start in row-normalised mode. */
  defaultNormalised?: boolean;
  onOpen?: (trueIndex: number, predictedIndex: number) => void;
  /** Accessible name of the grid. */
  label?: string;
  /** Cell size in px. */
  cell?: number;
  testId?: string;
}

function cellColour(share: number, diagonal: boolean): string {
  const a = Math.min(1, Math.max(0, share));
  if (a === 0) return 'transparent';
  return diagonal ? `rgba(47, 158, 68, ${0.12 + 0.78 * a})` : `rgba(224, 49, 49, ${0.12 + 0.78 * a})`;
}

export function ConfusionHeatmap({ classNames, matrix, defaultNormalised = false, onOpen, label = 'Confusion matrix', cell = 56, testId = 'confusion' }: ConfusionHeatmapProps) {
  const [normalised, setNormalised] = useState(defaultNormalised);
  const [focus, setFocus] = useState<[number, number]>([0, 0]);
  const refs = useRef(new Map<string, HTMLTableCellElement>());
  const shares = normaliseRows(matrix);
  const n = classNames.length;

  const moveTo = (r: number, c: number): void => {
    const rr = Math.max(0, Math.min(n - 1, r));
    const cc = Math.max(0, Math.min(n - 1, c));
    setFocus([rr, cc]);
    refs.current.get(`${rr}:${cc}`)?.focus();
  };

  const onKeyDown = (e: KeyboardEvent, r: number, c: number): void => {
    const moves: Record<string, [number, number]> = {
      ArrowUp: [r - 1, c],
      ArrowDown: [r + 1, c],
      ArrowLeft: [r, c - 1],
      ArrowRight: [r, c + 1],
      Home: [r, 0],
      End: [r, n - 1],
    };
    const to = moves[e.key];
    if (to) {
      e.preventDefault();
      moveTo(to[0], to[1]);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onOpen?.(r, c);
    }
  };

  const button = (on: boolean): CSSProperties => ({
    font: 'inherit',
    fontSize: 12,
    padding: '2px 8px',
    border: '1px solid var(--mantine-color-default-border, #ccc)',
    background: on ? 'var(--mantine-color-blue-filled, #228be6)' : 'transparent',
    color: on ? 'white' : 'inherit',
    cursor: 'pointer',
  });

  return (
    <div data-testid={testId} data-normalised={normalised}>
      <div role="group" aria-label="Show" style={{ display: 'flex', gap: 0, marginBottom: 6 }}>
        <button type="button" aria-pressed={!normalised} style={{ ...button(!normalised), borderRadius: '4px 0 0 4px' }} onClick={() => setNormalised(false)} data-testid="cm-counts">
          Counts
        </button>
        <button type="button" aria-pressed={normalised} style={{ ...button(normalised), borderRadius: '0 4px 4px 0' }} onClick={() => setNormalised(true)} data-testid="cm-normalised">
          Row %
        </button>
      </div>
      <div style={{ overflow: 'auto', maxWidth: '100%' }}>
        <table role="grid" aria-label={label} style={{ borderCollapse: 'collapse', fontSize: 12 }}>
          <thead>
            <tr>
              <th style={{ textAlign: 'right', padding: 4, fontWeight: 400, color: 'var(--mantine-color-dimmed, #888)' }}>true ↓ / predicted →</th>
              {classNames.map((name, c) => (
                <th key={c} scope="col" data-testid="cm-col" style={{ width: cell, maxWidth: cell, padding: 4, fontWeight: 600, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} title={name}>
                  {name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {classNames.map((rowName, r) => (
              <tr key={r}>
                <th scope="row" data-testid="cm-row" style={{ textAlign: 'right', padding: '0 8px 0 4px', fontWeight: 600, whiteSpace: 'nowrap' }}>
                  {rowName}
                </th>
                {classNames.map((colName, c) => {
                  const count = matrix[r]?.[c] ?? 0;
                  const share = shares[r]?.[c] ?? 0;
                  const focused = focus[0] === r && focus[1] === c;
                  const text = normalised ? `${Math.round(100 * share)}%` : String(count);
                  return (
                    <td
                      key={c}
                      role="gridcell"
                      ref={(el) => {
                        if (el) refs.current.set(`${r}:${c}`, el);
                        else refs.current.delete(`${r}:${c}`);
                      }}
                      tabIndex={focused ? 0 : -1}
                      aria-label={`true ${rowName}, predicted ${colName}: ${count} image${count === 1 ? '' : 's'} (${Math.round(100 * share)}% of ${rowName})`}
                      aria-selected={focused}
                      data-testid="cm-cell"
                      data-true={r}
                      data-pred={c}
                      data-count={count}
                      onClick={() => {
                        setFocus([r, c]);
                        onOpen?.(r, c);
                      }}
                      onFocus={() => setFocus([r, c])}
                      onKeyDown={(e) => onKeyDown(e, r, c)}
                      style={{
                        width: cell,
                        height: Math.round(cell * 0.7),
                        textAlign: 'center',
                        background: cellColour(share, r === c),
                        color: share > 0.55 ? 'white' : 'inherit',
                        border: '1px solid var(--mantine-color-default-border, #ddd)',
                        outline: focused ? '2px solid var(--mantine-color-blue-filled, #228be6)' : undefined,
                        outlineOffset: -2,
                        cursor: onOpen ? 'pointer' : 'default',
                        fontVariantNumeric: 'tabular-nums',
                      }}
                    >
                      {text}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
