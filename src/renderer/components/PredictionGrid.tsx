/**
 * A paged grid of images with a run's prediction on each (true label, predicted class and
 * confidence): a confusion-matrix cell, the misclassified or top-loss images, or the label
 * suggestions, or the test set under review before export. Labels are fixed on the spot with the
 * gallery's keys (1–9 label, 0 unlabel, into the gallery's undo history); in suggestion mode
 * Enter accepts the model's class.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { ActionIcon, Button, Group, Stack, Text, Tooltip } from '@mantine/core';
import type { RequestInput } from '../../shared/api';
import type { ClassInfo, PredictionRow } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { api, fileUrl } from '../api/client';
import { useQuery } from '../api/hooks';
import { ErrorText } from './ErrorText';
import { applyLabels, replaceLabelHistory, undoLabels, useLabelHistory } from './labels';
import { recordChange } from './label-history';

export type PredictionFilter = Omit<RequestInput<'listPredictions'>, 'offset' | 'limit'>;

const PAGE = 60;
const TILE = 150;

/** Accepts the run's predictions as labels and records the change for undo. */
export async function acceptPredictions(input: RequestInput<'acceptSuggestions'>): Promise<number> {
  const r = await api.call('acceptSuggestions', input);
  replaceLabelHistory((h) => recordChange(h, r.previous));
  return r.changed;
}

/** fix: labelled images, a prediction that differs from the label is a mistake; suggest: unlabelled images, Enter accepts; review: test images, a label given overrides the prediction. */
export type GridMode = 'fix' | 'suggest' | 'review';

function Tile({ index, row, cls, focused, onClick, mode }: { index: number; row: PredictionRow; cls: ClassInfo | undefined; focused: boolean; onClick: () => void; mode: GridMode }) {
  const differs = row.className !== null && row.className.toLowerCase() !== row.predictedName.toLowerCase();
  const overridden = mode === 'review' && differs;
  const wrong = differs && !overridden;
  return (
    <div
      role="gridcell"
      tabIndex={focused ? 0 : -1}
      aria-selected={focused}
      aria-label={`${row.fileName}, label ${row.className ?? 'none'}, predicted ${row.predictedName} ${Math.round(100 * row.confidence)}%${overridden ? ', your label is used' : ''}`}
      data-testid="pred-tile"
      data-index={index}
      data-image-id={row.imageId}
      data-class={row.className ?? ''}
      data-predicted={row.predictedName}
      data-confidence={row.confidence.toFixed(4)}
      onClick={onClick}
      style={{
        width: TILE,
        border: `2px solid ${focused ? 'var(--mantine-color-blue-filled)' : 'transparent'}`,
        borderRadius: 6,
        padding: 3,
        cursor: 'pointer',
        background: 'var(--mantine-color-default)',
      }}
    >
      <img src={fileUrl('thumb', row.imageId)} alt="" draggable={false} style={{ width: '100%', height: TILE - 40, objectFit: 'contain', display: 'block' }} />
      <Text size="xs" truncate title={row.fileName}>
        {row.fileName}
      </Text>
      <Group gap={4} wrap="nowrap" justify="space-between">
        <Text size="xs" truncate c={cls ? undefined : 'dimmed'} style={{ borderLeft: `4px solid ${cls?.color ?? 'transparent'}`, paddingLeft: 3 }}>
          {overridden ? `✎ ${row.className}` : (row.className ?? 'unlabelled')}
        </Text>
        <Text
          size="xs"
          c={overridden ? 'dimmed' : wrong ? 'red' : mode === 'fix' ? 'green' : 'blue'}
          fw={600}
          truncate
          td={overridden ? 'line-through' : undefined}
          title={overridden ? 'Your label is used instead of this prediction' : undefined}
          data-testid="pred-text"
        >
          → {row.predictedName} {Math.round(100 * row.confidence)}%
        </Text>
      </Group>
      {row.loss !== null && (
        <Text size="10px" c="dimmed">
          loss {row.loss.toFixed(2)} · {row.top.slice(1).map((t) => `${t.name} ${Math.round(100 * t.p)}%`).join(', ')}
        </Text>
      )}
    </div>
  );
}

export function PredictionGrid({ filter, classes, mode = 'fix', testId = 'pred-grid', emptyText = 'No images here.' }: { filter: PredictionFilter; classes: ClassInfo[]; mode?: GridMode; testId?: string; emptyText?: string }) {
  const [page, setPage] = useState(0);
  const [focus, setFocus] = useState(0);
  const [error, setError] = useState<StudioError>();
  const [notice, setNotice] = useState('');
  const gridRef = useRef<HTMLDivElement>(null);
  const history = useLabelHistory();
  const key = JSON.stringify(filter);
  useEffect(() => {
    setPage(0);
    setFocus(0);
  }, [key]);
  const q = useQuery('listPredictions', { ...filter, offset: page * PAGE, limit: PAGE }, ['images', 'runs', 'classes']);
  const rows = q.data?.rows ?? [];
  const total = q.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const classByName = new Map(classes.map((c) => [c.name.toLowerCase(), c]));

  // A listing that shrank (a fixed label left the filter): keep the focus on a tile that exists.
  useEffect(() => {
    if (rows.length > 0 && focus >= rows.length) setFocus(rows.length - 1);
    if (q.data && rows.length === 0 && page > 0 && page >= pages) setPage(pages - 1);
  }, [rows.length, focus, q.data, page, pages]);

  const focusTile = (i: number): void => {
    setFocus(i);
    requestAnimationFrame(() => gridRef.current?.querySelector<HTMLElement>(`[data-index="${i}"]`)?.focus());
  };

  const run = (p: Promise<string>): void => {
    p.then(
      (msg) => {
        setNotice(msg);
        setError(undefined);
        gridRef.current?.focus({ preventScroll: true });
        requestAnimationFrame(() => gridRef.current?.querySelector<HTMLElement>('[tabindex="0"]')?.focus());
      },
      (err: unknown) => setError(StudioError.from(err)),
    );
  };

  const columns = (): number => {
    const el = gridRef.current;
    return el ? Math.max(1, Math.floor((el.clientWidth + 8) / (TILE + 12))) : 1;
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    const row = rows[focus];
    const mod = e.ctrlKey || e.metaKey;
    if (mod) return; // undo / redo: the Evaluate screen's window handler
    const cols = columns();
    const moves: Record<string, number> = { ArrowLeft: focus - 1, ArrowRight: focus + 1, ArrowUp: focus - cols, ArrowDown: focus + cols, Home: 0, End: rows.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      const to = moves[e.key]!;
      if (to >= rows.length && page < pages - 1) {
        setPage(page + 1);
        focusTile(0);
      } else if (to < 0 && page > 0) {
        setPage(page - 1);
        focusTile(PAGE - 1);
      } else focusTile(Math.max(0, Math.min(rows.length - 1, to)));
      return;
    }
    if (!row) return;
    if (/^[1-9]$/.test(e.key)) {
      e.preventDefault();
      const cls = classes[Number(e.key) - 1];
      if (!cls) setNotice(`There is no class ${e.key}`);
      else run(applyLabels([row.imageId], cls.id).then(() => `${row.fileName} labelled ${cls.name}`));
      return;
    }
    if (e.key === '0' || e.key === 'Backspace' || e.key === 'Delete') {
      e.preventDefault();
      run(applyLabels([row.imageId], null).then(() => `${row.fileName} unlabelled`));
      return;
    }
    if (e.key === 'Enter' && mode === 'suggest') {
      e.preventDefault();
      run(acceptPredictions({ runId: filter.runId, imageIds: [row.imageId] }).then((n) => (n > 0 ? `${row.fileName} labelled ${row.predictedName}` : `${row.predictedName} is no longer a class`)));
    }
  };

  return (
    <Stack gap="xs" data-testid={testId} data-total={total}>
      <ErrorText error={error ?? q.error} />
      {q.data && total === 0 ? (
        <Text c="dimmed" size="sm" data-testid="pred-empty">
          {emptyText}
        </Text>
      ) : (
        <div
          ref={gridRef}
          role="grid"
          aria-label="Images with predictions"
          tabIndex={-1}
          onKeyDown={onKeyDown}
          style={{ display: 'flex', flexWrap: 'wrap', gap: 8, outline: 'none' }}
        >
          {rows.map((r, i) => (
            <Tile key={r.imageId} index={i} row={r} cls={r.className ? classByName.get(r.className.toLowerCase()) : undefined} focused={i === focus} mode={mode} onClick={() => focusTile(i)} />
          ))}
        </div>
      )}
      <Group justify="space-between">
        <Group gap="xs">
          <Button size="compact-xs" variant="default" disabled={page === 0} onClick={() => setPage(page - 1)}>
            Previous
          </Button>
          <Text size="xs" data-testid="pred-status" aria-live="polite">
            {total} image{total === 1 ? '' : 's'} · page {page + 1}/{pages}
            {notice ? ` · ${notice}` : ''}
          </Text>
          <Button size="compact-xs" variant="default" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
            Next
          </Button>
        </Group>
        <Group gap="xs">
          <Tooltip label="Undo labelling (Ctrl+Z)">
            <ActionIcon variant="default" size="sm" aria-label="Undo" disabled={history.undo.length === 0} onClick={() => run(undoLabels().then((ok) => (ok ? 'Undone' : 'Nothing to undo')))} data-testid="pred-undo">
              ↶
            </ActionIcon>
          </Tooltip>
          <Text size="xs" c="dimmed">
            arrows · 1–9 label ({classes.slice(0, 9).map((c, i) => `${i + 1} ${c.name}`).join(', ')}) · 0 unlabel{mode === 'suggest' ? ' · Enter accept' : ''} · Ctrl+Z undo
          </Text>
        </Group>
      </Group>
    </Stack>
  );
}

