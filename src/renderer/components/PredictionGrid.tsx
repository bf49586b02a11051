/**
 * A paged grid of images with a run's prediction on each (true label, predicted class and
 * confidence): a confusion-matrix cell, the misclassified or top-loss images, or the label
 * suggestions, or the test set under review before export. Labels are fixed on the spot with the
 * gallery's keys (1–9 label, 0 unlabel, into the gallery's undo history); in suggestion mode
 * Enter accepts the model's class. Where `explain` is on, E (or a tile's heatmap button) opens the
 * image with the run's Grad-CAM heatmap over it.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { ActionIcon, Group, Modal, Stack, Text, Tooltip } from '@mantine/core';
import type { RequestInput } from '../../shared/api';
import type { ClassInfo, PredictionRow } from '../../shared/domain';
import { fileUrl } from '../api/client';
import * as bulk from '../api/bulk';
import { useQuery } from '../api/hooks';
import { ErrorText } from './ErrorText';
import { HeatmapPreview } from './HeatmapPreview';
import { applyLabels, replaceLabelHistory, undoLabels, useLabelHistory } from './labels';
import { recordChange } from './label-history';
import { Tile, TileGrid, useTileActions, type TileGridHandle } from './TileGrid';
import { isUnlabelKey } from './label-keys';

export type PredictionFilter = Omit<RequestInput<'listPredictions'>, 'offset' | 'limit'>;

const PAGE = 60;
const TILE = 150;

/** Accepts the run's predictions as labels and records the change for undo. */
export async function acceptPredictions(input: RequestInput<'acceptSuggestions'>): Promise<number> {
  const r = await bulk.acceptSuggestions(input);
  replaceLabelHistory((h) => recordChange(h, r.previous));
  return r.changed;
}

/** fix: labelled images, a prediction that differs from the label is a mistake; suggest: unlabelled images, Enter accepts; review: test images, a label given overrides the prediction. */
export type GridMode = 'fix' | 'suggest' | 'review';

function PredictionTile({
  index,
  row,
  cls,
  focused,
  onFocus,
  mode,
  onExplain,
}: {
  index: number;
  row: PredictionRow;
  cls: ClassInfo | undefined;
  focused: boolean;
  onFocus: () => void;
  mode: GridMode;
  onExplain?: (() => void) | undefined;
}) {
  const differs = row.className !== null && row.className.toLowerCase() !== row.predictedName.toLowerCase();
  const overridden = mode === 'review' && differs;
  const wrong = differs && !overridden;
  return (
    <Tile
      index={index}
      focused={focused}
      onFocus={onFocus}
      label={`${row.fileName}, label ${row.className ?? 'none'}, predicted ${row.predictedName} ${Math.round(100 * row.confidence)}%${overridden ? ', your label is used' : ''}`}
      testId="pred-tile"
      data={{ 'image-id': row.imageId, class: row.className ?? '', predicted: row.predictedName, confidence: row.confidence.toFixed(4) }}
      width={TILE}
      thumb={fileUrl('thumb', row.imageId)}
    >
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
      {onExplain && (
        <Text
          component="button"
          size="10px"
          c="blue"
          tabIndex={-1}
          style={{ background: 'none', border: 'none', padding: 0, cursor: 'pointer' }}
          onClick={(e) => {
            e.stopPropagation();
            onExplain();
          }}
          data-testid="pred-explain"
        >
          Why? (E)
        </Text>
      )}
    </Tile>
  );
}

export function PredictionGrid({
  filter,
  classes,
  mode = 'fix',
  testId = 'pred-grid',
  emptyText = 'No images here.',
  explain: explainAsked = false,
}: {
  filter: PredictionFilter;
  classes: ClassInfo[];
  mode?: GridMode;
  testId?: string;
  emptyText?: string;
  /** Offer each image's Grad-CAM heatmap (E, or the tile's button); a single run's only. */
  explain?: boolean;
}) {
  const explain = explainAsked && filter.runId !== undefined;
  const [page, setPage] = useState(0);
  const [explained, setExplained] = useState<PredictionRow | null>(null);
  const grid = useRef<TileGridHandle>(null);
  const { notice, error, run, digit } = useTileActions(grid);
  const history = useLabelHistory();
  // Another filter: the first page, and (TileGrid keyed by it) the focus on the first tile.
  const key = JSON.stringify(filter);
  useEffect(() => setPage(0), [key]);
  const q = useQuery('listPredictions', { ...filter, offset: page * PAGE, limit: PAGE }, ['images', 'runs', 'classes']);
  const rows = q.data?.rows ?? [];
  const total = q.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const classByName = new Map(classes.map((c) => [c.name.toLowerCase(), c]));

  // A last page emptied by fixes: back to the page before.
  useEffect(() => {
    if (q.data && rows.length === 0 && page > 0 && page >= pages) setPage(pages - 1);
  }, [rows.length, q.data, page, pages]);

  const onKey = (e: KeyboardEvent, row: PredictionRow): boolean => {
    if (digit(e.key, classes, (cls) => run(applyLabels([row.imageId], cls.id).then(() => `${row.fileName} labelled ${cls.name}`)))) return true;
    if (isUnlabelKey(e.key)) {
      run(applyLabels([row.imageId], null).then(() => `${row.fileName} unlabelled`));
      return true;
    }
    if (explain && (e.key === 'e' || e.key === 'E')) {
      setExplained(row);
      return true;
    }
    // An ensemble (filter.runs) has no single run to accept from or to explain.
    if (e.key === 'Enter' && mode === 'suggest' && filter.runId !== undefined) {
      run(acceptPredictions({ runId: filter.runId, imageIds: [row.imageId] }).then((n) => (n > 0 ? `${row.fileName} labelled ${row.predictedName}` : `${row.predictedName} is no longer a class`)));
      return true;
    }
    return false;
  };

  return (
    <Stack gap="xs" data-testid={testId} data-total={total}>
      <ErrorText error={error ?? q.error} />
      {q.data && total === 0 && (
        <Text c="dimmed" size="sm" data-testid="pred-empty">
          {emptyText}
        </Text>
      )}
      {/* Also when empty: the pager and the undo button stay (the last fix can be taken back). */}
      <TileGrid
        key={key}
        handle={grid}
        rows={rows}
        keyOf={(r) => r.imageId}
        tileWidth={TILE}
        label="Images with predictions"
        statusTestId="pred-status"
        page={page}
        pages={pages}
        pageSize={PAGE}
        onPage={setPage}
        onKey={onKey}
        statusBefore={`${total} image${total === 1 ? '' : 's'} · `}
        status={notice ? ` · ${notice}` : ''}
        render={(r, i, focused, focus) => (
          <PredictionTile
            index={i}
            row={r}
            cls={r.className ? classByName.get(r.className.toLowerCase()) : undefined}
            focused={focused}
            mode={mode}
            onFocus={focus}
            onExplain={explain ? () => setExplained(r) : undefined}
          />
        )}
        aside={
          <Group gap="xs">
            <Tooltip label="Undo labelling (Ctrl+Z)">
              <ActionIcon variant="default" size="sm" aria-label="Undo" disabled={history.undo.length === 0} onClick={() => run(undoLabels().then((ok) => (ok ? 'Undone' : 'Nothing to undo')))} data-testid="pred-undo">
                ↶
              </ActionIcon>
            </Tooltip>
            <Text size="xs" c="dimmed">
              arrows · 1–9 label ({classes.slice(0, 9).map((c, i) => `${i + 1} ${c.name}`).join(', ')}) · 0 unlabel{mode === 'suggest' ? ' · Enter accept' : ''}{explain ? ' · E heatmap' : ''} · Ctrl+Z undo
            </Text>
          </Group>
        }
      />
      <Modal opened={explained !== null} onClose={() => setExplained(null)} title={explained ? `Why ${explained.predictedName}? ${explained.fileName}` : ''} size="auto" data-testid="explain-modal">
        {explained && filter.runId !== undefined && <HeatmapPreview runId={filter.runId} imageId={explained.imageId} fileName={explained.fileName} />}
      </Modal>
    </Stack>
  );
}
