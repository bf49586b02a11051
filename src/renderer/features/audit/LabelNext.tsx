/**
 * Label next: the unlabelled images the current head is least sure of (margin between its top
 * two classes, or entropy), weighed by how typical each is of the unlabelled pool, best first.
 * Label with the gallery's keys (Enter takes the head's guess); a labelled image leaves the queue.
 * After each batch of labels a quick retrain of the head on the cached features ranks the queue
 * again; its progress shows here while it runs.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Alert, Button, Group, NumberInput, SegmentedControl, Stack, Switch, Text, Tooltip } from '@mantine/core';
import type { FeatureSourceChoice } from '../../../shared/api';
import type { ClassInfo, LabelNextInfo, LabelNextRow, UncertaintyKind } from '../../../shared/domain';
import { api, fileUrl } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { JobStatus } from '../../components/JobStatus';
import { applyLabels } from '../../components/labels';
import type { JobHandle } from '../../components/useJob';
import { Tile, TileGrid, useTileActions, type TileGridHandle } from '../../components/TileGrid';

const PAGE = 60;
const TILE = 150;

function ranking(r: LabelNextInfo): string {
  const secs = (r.durations.totalMs / 1000).toFixed(1);
  return `ranked ${r.ranked} unlabelled image${r.ranked === 1 ? '' : 's'} with a head trained on ${r.trainedOn} labelled (${secs} s, ${new Date(r.createdAt).toLocaleTimeString()})`;
}

function NextTile({ row, rank, index, focused, onFocus, cls }: { row: LabelNextRow; rank: number; index: number; focused: boolean; onFocus: () => void; cls: ClassInfo | undefined }) {
  return (
    <Tile
      index={index}
      focused={focused}
      onFocus={onFocus}
      width={TILE}
      thumb={fileUrl('thumb', row.imageId)}
      testId="next-tile"
      label={`${rank}. ${row.fileName}: the head guesses ${row.predicted} ${Math.round(100 * row.confidence)}%, uncertainty ${row.uncertainty.toFixed(2)}`}
      data={{ 'image-id': row.imageId, rank, score: row.score.toFixed(4), predicted: row.predicted }}
    >
      <Text size="xs" truncate title={row.fileName}>
        {rank}. {row.fileName}
      </Text>
      <Text size="xs" truncate style={{ borderLeft: `4px solid ${cls?.color ?? 'transparent'}`, paddingLeft: 3 }}>
        {row.predicted} {Math.round(100 * row.confidence)}%?
      </Text>
      <Tooltip label="uncertainty (1 = undecided) · typicality of the unlabelled pool">
        <Text size="10px" c="dimmed">
          unsure {row.uncertainty.toFixed(2)} · typical {row.density.toFixed(2)}
        </Text>
      </Tooltip>
    </Tile>
  );
}

export function LabelNext({ classes, handle, source }: { classes: ClassInfo[]; handle: JobHandle<'label-next'>; source: FeatureSourceChoice }) {
  const [uncertainty, setUncertainty] = useState<UncertaintyKind>('margin');
  const [representative, setRepresentative] = useState(true);
  const [batch, setBatch] = useState(10);
  const [since, setSince] = useState(0);
  const [page, setPage] = useState(0);
  const grid = useRef<TileGridHandle>(null);
  const { notice, error, run, digit } = useTileActions(grid);
  const q = useQuery('labelNextQueue', { uncertainty, representative, offset: page * PAGE, limit: PAGE }, ['audit', 'images', 'classes']);
  const rows = q.data?.rows ?? [];
  const total = q.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const info = q.data?.ranking ?? null;
  const running = handle.starting || handle.job?.state === 'running' || handle.job?.state === 'queued';
  const classById = new Map(classes.map((c) => [c.id, c]));

  const retrain = (): void => {
    setSince(0);
    void handle.start(() => api.call('startLabelNext', source));
  };

  // A full batch of new labels: retrain once the previous retrain is over.
  const retrainRef = useRef(retrain);
  retrainRef.current = retrain;
  useEffect(() => {
    if (since >= batch && !running) retrainRef.current();
  }, [since, batch, running]);

  const label = (row: LabelNextRow, classId: number | null): void => {
    const cls = classId === null ? undefined : classById.get(classId);
    run(
      applyLabels([row.imageId], classId).then(() => {
        if (classId !== null) setSince((n) => n + 1);
        return `${row.fileName} ${cls ? `labelled ${cls.name}` : 'unlabelled'}`;
      }),
    );
  };

  const onKey = (e: KeyboardEvent, row: LabelNextRow): boolean => {
    if (digit(e.key, classes, (cls) => label(row, cls.id))) return true;
    if (e.key === 'Enter' && row.predictedClassId !== null) {
      label(row, row.predictedClassId);
      return true;
    }
    return false;
  };

  return (
    <Stack gap="xs" data-testid="label-next">
      <Group gap="md" align="flex-end">
        <SegmentedControl
          size="xs"
          value={uncertainty}
          onChange={(v) => {
            setUncertainty(v as UncertaintyKind);
            setPage(0);
          }}
          data={[
            { value: 'margin', label: 'Margin' },
            { value: 'entropy', label: 'Entropy' },
          ]}
          aria-label="Uncertainty"
          data-testid="next-uncertainty"
        />
        <Switch size="xs" label="Typical images first" checked={representative} onChange={(e) => setRepresentative(e.currentTarget.checked)} data-testid="next-representative" />
        <NumberInput size="xs" w={150} label="Retrain after each" suffix=" labels" min={1} max={500} value={batch} onChange={(v) => setBatch(typeof v === 'number' && v >= 1 ? v : 10)} data-testid="next-batch" />
        <Button size="xs" variant={info ? 'default' : 'filled'} onClick={retrain} disabled={running} data-testid="next-retrain">
          {info ? 'Retrain now' : 'Rank the unlabelled images'}
        </Button>
      </Group>
      <JobStatus handle={handle} label="Quick retrain" testId="next-job" cancelledText="Retrain cancelled; the queue keeps its previous order." />
      {running && (
        <Text size="xs" c="blue" data-testid="next-retraining">
          Retraining the head on the labels so far; the queue reorders when it is done.
        </Text>
      )}
      {info && (
        <Text size="xs" c="dimmed" data-testid="next-ranking" data-ranking-id={info.id}>
          The queue: {ranking(info)}.{since > 0 ? ` ${since} labelled since; it reorders after ${Math.max(0, batch - since)} more.` : ''}
        </Text>
      )}
      <ErrorText error={error ?? q.error} />
      {q.data && !info && !running && (
        <Alert color="gray" variant="light" p="xs" data-testid="next-empty">
          No ranking yet: rank the unlabelled images (a head is trained on the labelled ones in seconds, from their cached features).
        </Alert>
      )}
      {info && total === 0 && (
        <Text c="dimmed" size="sm" data-testid="next-done">
          Every image the ranking looked at is labelled.
        </Text>
      )}
      {total > 0 && (
        <TileGrid
          handle={grid}
          rows={rows}
          keyOf={(r) => r.imageId}
          tileWidth={TILE}
          label="Images to label next"
          testId="next-grid"
          page={page}
          pages={pages}
          onPage={setPage}
          onKey={onKey}
          status={` · ${total} to label${notice ? ` · ${notice}` : ''}`}
          render={(row, i, focused, focus) => <NextTile row={row} rank={page * PAGE + i + 1} index={i} focused={focused} onFocus={focus} cls={row.predictedClassId !== null ? classById.get(row.predictedClassId) : undefined} />}
        />
      )}
      <Text size="xs" c="dimmed">
        arrows · 1–9 label ({classes.slice(0, 9).map((c, i) => `${i + 1} ${c.name}`).join(', ')}) · Enter the head&apos;s guess · Ctrl+Z undo
      </Text>
    </Stack>
  );
}
