/**
 * The embedding map tab: make the map (a job in the engine: PCA, then seeded UMAP of every
 * image's features), colour it by label, prediction, split or audit score, and select points by
 * lasso or click into the gallery's selection. With the map focused, 1–9 label the selection, 0
 * unlabels it (Ctrl+Z undoes), Esc clears it, G opens the gallery with it.
 */
import { useMemo, useState, type KeyboardEvent } from 'react';
import { Button, Group, SegmentedControl, Stack, Text, Tooltip, useComputedColorScheme } from '@mantine/core';
import type { FeatureSourceChoice } from '../../../../shared/api';
import type { ClassInfo } from '../../../../shared/domain';
import { StudioError } from '../../../../shared/errors';
import { api } from '../../../api/client';
import { ErrorText } from '../../../components/ErrorText';
import { JobStatus } from '../../../components/JobStatus';
import { setSelectedImages, useSelectedImages } from '../../../components/image-selection';
import { classOfDigitKey, isUnlabelKey } from '../../../components/label-keys';
import { applyLabels } from '../../../components/labels';
import type { JobHandle } from '../../../components/useJob';
import { COLOUR_MODES, SPLIT_ORDER, colourPoints, type ColourMode, type Colouring } from './colouring';
import { MapCanvas, type SelectMode } from './MapCanvas';
import { useMapPoints } from './useMapPoints';

const MODE_TEXT: Record<ColourMode, string> = { label: 'Label', prediction: 'Prediction', split: 'Split', score: 'Audit score' };

export function selectIds(current: ReadonlySet<number>, ids: readonly number[], mode: SelectMode): ReadonlySet<number> {
  if (mode === 'replace') return new Set(ids);
  const next = new Set(current);
  for (const id of ids) {
    if (mode === 'toggle' && next.has(id)) next.delete(id);
    else next.add(id);
  }
  return next;
}

function Legend({ colouring, mode }: { colouring: Colouring; mode: ColourMode }) {
  return (
    <Stack gap={4} w={180} data-testid="map-legend" data-mode={mode}>
      <Text size="xs" fw={600}>
        {MODE_TEXT[mode]}
      </Text>
      {colouring.ramp && (
        <Stack gap={2}>
          <div style={{ height: 10, borderRadius: 3, background: `linear-gradient(to right, ${colouring.ramp.low}, rgb(250,176,5), ${colouring.ramp.high})` }} />
          <Group justify="space-between">
            <Text size="10px">{colouring.ramp.lowLabel}</Text>
            <Text size="10px">{colouring.ramp.highLabel}</Text>
          </Group>
        </Stack>
      )}
      {colouring.legend.map((l) => (
        <Group key={l.label} gap={6} wrap="nowrap" data-testid="legend-item" data-label={l.label}>
          <div style={{ width: 10, height: 10, borderRadius: 5, background: l.color, flex: 'none' }} />
          <Text size="xs" truncate style={{ flex: 1 }}>
            {l.label}
          </Text>
          <Text size="xs" c="dimmed" style={{ fontVariantNumeric: 'tabular-nums' }}>
            {l.count}
          </Text>
        </Group>
      ))}
    </Stack>
  );
}

export function MapPanel({ classes, handle, source, onOpenGallery }: { classes: ClassInfo[]; handle: JobHandle<'map'>; source: FeatureSourceChoice; onOpenGallery: () => void }) {
  const { map, error: loadError } = useMapPoints();
  const [mode, setMode] = useState<ColourMode>('label');
  const [lasso, setLasso] = useState(true);
  const [fitNonce, setFitNonce] = useState(0);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<StudioError>();
  const selected = useSelectedImages();
  const scheme = useComputedColorScheme('light');
  const running = handle.job?.state === 'running' || handle.job?.state === 'queued';

  const palette = map?.meta.classes;
  const colouring = useMemo(() => (map && palette ? colourPoints(map.points, mode, palette) : null), [map, mode, palette]);

  const describe = (i: number): string => {
    if (!map) return '';
    const p = map.points;
    const name = (k: number): string => (k >= 0 ? (map.meta.classes[k]?.name ?? '?') : 'unlabelled');
    const score = p.score[i]!;
    return [name(p.label[i]!), SPLIT_ORDER[p.split[i]!] ?? '', p.predicted[i]! >= 0 ? `predicted ${name(p.predicted[i]!)}` : '', Number.isNaN(score) ? '' : `score ${score.toFixed(2)}`].filter(Boolean).join(' · ');
  };

  const start = (): void => {
    void handle.start(() => api.call('startEmbeddingMap', source));
  };

  const onSelect = (ids: number[], how: SelectMode): void => {
    const next = selectIds(selected, ids, how);
    setSelectedImages(next);
    setNotice(`${next.size} selected`);
  };

  const label = (classId: number | null): void => {
    const ids = [...selected];
    if (ids.length === 0) return setNotice('Select images first: drag a lasso around them');
    const cls = classId === null ? undefined : classes.find((c) => c.id === classId);
    applyLabels(ids, classId).then(
      (n) => {
        setNotice(`${n} image${n === 1 ? '' : 's'} ${cls ? `labelled ${cls.name}` : 'unlabelled'}`);
        setError(undefined);
      },
      (err: unknown) => setError(StudioError.from(err)),
    );
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const named = classOfDigitKey(e.key, classes);
    if (named) {
      e.preventDefault();
      if ('cls' in named) label(named.cls.id);
      else setNotice(named.missing);
    } else if (isUnlabelKey(e.key)) {
      e.preventDefault();
      label(null);
    } else if (e.key === 'Escape') {
      setSelectedImages(new Set());
      setNotice('Selection cleared');
    } else if (e.key === 'g' || e.key === 'G') {
      e.preventDefault();
      onOpenGallery();
    } else if (e.key === 'l' || e.key === 'L') setLasso((v) => !v);
  };

  const hasPredictions = map?.meta.runId != null;
  const modes = COLOUR_MODES.filter((m) => m !== 'prediction' || hasPredictions);

  return (
    <Stack gap="xs" h="100%" data-testid="map-panel">
      <Group gap="xs" justify="space-between">
        <Group gap="xs">
          <Button size="xs" onClick={start} loading={handle.starting} disabled={running} data-testid="map-start" variant={map ? 'default' : 'filled'}>
            {map ? 'Recompute map' : 'Make the map'}
          </Button>
          {map && (
            <>
              <SegmentedControl size="xs" value={mode} onChange={(v) => setMode(v as ColourMode)} data={modes.map((m) => ({ value: m, label: MODE_TEXT[m] }))} aria-label="Colour by" data-testid="map-colour" />
              <SegmentedControl
                size="xs"
                value={lasso ? 'lasso' : 'pan'}
                onChange={(v) => setLasso(v === 'lasso')}
                data={[
                  { value: 'lasso', label: 'Lasso' },
                  { value: 'pan', label: 'Pan' },
                ]}
                aria-label="Drag to"
                data-testid="map-drag-mode"
              />
              <Button size="xs" variant="default" onClick={() => setFitNonce((n) => n + 1)} data-testid="map-fit">
                Fit
              </Button>
            </>
          )}
        </Group>
        {map && (
          <Group gap="xs">
            <Text size="xs" data-testid="map-selected" data-count={selected.size}>
              {selected.size} selected
            </Text>
            <Button size="xs" variant="default" disabled={selected.size === 0} onClick={() => setSelectedImages(new Set())}>
              Clear
            </Button>
            <Tooltip label="Open the gallery with these images selected (G)">
              <Button size="xs" variant="light" disabled={selected.size === 0} onClick={onOpenGallery} data-testid="map-open-gallery">
                Open in gallery
              </Button>
            </Tooltip>
          </Group>
        )}
      </Group>
      <JobStatus handle={handle} label="Embedding map" testId="map-job" cancelledText="Map cancelled; the previous map, if any, is kept." />
      <ErrorText error={error ?? loadError} />
      {map === null && !running && (
        <Text c="dimmed" size="sm" data-testid="map-empty">
          No map yet. Making one reads every image&apos;s cached features (extracting those that are missing), reduces them with PCA and lays them out in 2-D with UMAP.
        </Text>
      )}
      {map && colouring && (
        <>
          <Group align="stretch" gap="sm" wrap="nowrap" style={{ flex: 1, minHeight: 420 }}>
            <MapCanvas
              points={map.points}
              colouring={colouring}
              selected={selected}
              onSelect={onSelect}
              lasso={lasso}
              describe={describe}
              onKeyDown={onKeyDown}
              ringColor={scheme === 'dark' ? '#ffffff' : '#1a1b1e'}
              fitKey={map.meta.mapId}
              fitNonce={fitNonce}
            />
            <Legend colouring={colouring} mode={mode} />
          </Group>
          <Text size="xs" c="dimmed" data-testid="map-status" aria-live="polite">
            {map.points.count} images · features {map.meta.source.model} at {map.meta.source.cutLayer}
            {notice ? ` · ${notice}` : ''} · {lasso ? 'drag a lasso (Shift adds)' : 'drag to pan, Shift+drag lasso'} · wheel zoom · click a point · 1–9 label the selection · 0 unlabel · Esc clear · G gallery · Ctrl+Z undo
          </Text>
        </>
      )}
    </Stack>
  );
}
