/**
 * The Evaluate screen: a run's validation confusion matrix (click or Enter on a cell to see
 * exactly those images), per-class precision/recall/F1, accuracy against the majority baseline;
 * the misclassified and top-loss images with on-the-spot label fixes; label suggestions for
 * unlabelled images; and the run history with comparison.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, CloseButton, Group, SegmentedControl, Select, Slider, Stack, Table, Tabs, Text } from '@mantine/core';
import type { ClassInfo, ProjectCounts, RunDetail } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { useQuery } from '../../api/hooks';
import { ConfusionHeatmap } from '../../components/ConfusionHeatmap';
import { ErrorText } from '../../components/ErrorText';
import { SCENARIOS } from '../../components/runs';
import { pct } from '../../components/format';
import { accuracy, classMetrics, macro, majorityBaseline } from './metrics';
import { PredictionGrid, acceptPredictions } from '../../components/PredictionGrid';
import { RunHistory } from './RunHistory';
import { useUndoRedoKeys } from '../../components/labels';

let lastRunId: number | null = null;
let lastTab = 'matrix';

function Overview({ run, classes }: { run: RunDetail; classes: ClassInfo[] }) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  useEffect(() => setCell(null), [run.id]);
  const cm = run.confusion;
  if (!cm || cm.matrix.length === 0) return <Text c="dimmed">This run has no validation confusion matrix{run.state === 'running' ? ' yet' : ''}.</Text>;
  const acc = accuracy(cm.matrix);
  const baseline = run.baseline ?? majorityBaseline(cm.matrix);
  const beats = acc !== null && baseline !== null && acc > baseline + 1e-9;
  const per = classMetrics(cm.classNames, cm.matrix);
  return (
    <Stack gap="md" data-testid="eval-overview">
      <Group gap="xl" align="flex-start">
        <Card withBorder padding="sm">
          <Text size="xs" c="dimmed">
            Validation accuracy (epoch {cm.epoch})
          </Text>
          <Text fw={700} size="xl" data-testid="eval-accuracy">
            {pct(acc)}
          </Text>
          <Text size="xs" c="dimmed" data-testid="eval-baseline">
            majority baseline {pct(baseline)}
          </Text>
        </Card>
        {!beats && (
          <Alert color="red" variant="light" title="No better than guessing" data-testid="baseline-flag" maw={420}>
            This model does not beat always answering the largest class. Look at the data (labels, balance, similarity) before tuning settings.
          </Alert>
        )}
      </Group>
      <Group align="flex-start" gap="xl" wrap="wrap">
        <Stack gap={4}>
          <Text size="sm" fw={600}>
            Confusion matrix: rows are the true class, columns the prediction. Click a cell (or Enter) for its images.
          </Text>
          <ConfusionHeatmap classNames={cm.classNames} matrix={cm.matrix} onOpen={(r, c) => setCell([r, c])} testId="eval-confusion" />
        </Stack>
        <Table fz="sm" withTableBorder maw={560} data-testid="class-metrics">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Class</Table.Th>
              <Table.Th ta="right">Precision</Table.Th>
              <Table.Th ta="right">Recall</Table.Th>
              <Table.Th ta="right">F1</Table.Th>
              <Table.Th ta="right">Support</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {per.map((m) => (
              <Table.Tr key={m.name} data-testid="metrics-row" data-class-name={m.name}>
                <Table.Td>{m.name}</Table.Td>
                <Table.Td ta="right">{pct(m.precision)}</Table.Td>
                <Table.Td ta="right">{pct(m.recall)}</Table.Td>
                <Table.Td ta="right">{pct(m.f1)}</Table.Td>
                <Table.Td ta="right">{m.support}</Table.Td>
              </Table.Tr>
            ))}
            <Table.Tr style={{ fontWeight: 600 }}>
              <Table.Td>macro average</Table.Td>
              <Table.Td ta="right">{pct(macro(per.map((m) => m.precision)))}</Table.Td>
              <Table.Td ta="right">{pct(macro(per.map((m) => m.recall)))}</Table.Td>
              <Table.Td ta="right">{pct(macro(per.map((m) => m.f1)))}</Table.Td>
              <Table.Td ta="right">{per.reduce((a, m) => a + m.support, 0)}</Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      </Group>
      {cell && (
        <Card withBorder padding="sm" data-testid="cell-images" data-true={cell[0]} data-pred={cell[1]}>
          <Group justify="space-between" mb="xs">
            <Text fw={600} size="sm">
              True {cm.classNames[cell[0]]}, predicted {cm.classNames[cell[1]]}: {cm.matrix[cell[0]]?.[cell[1]] ?? 0} validation image{cm.matrix[cell[0]]?.[cell[1]] === 1 ? '' : 's'}
            </Text>
            <CloseButton aria-label="Close the cell's images" onClick={() => setCell(null)} />
          </Group>
          <PredictionGrid filter={{ runId: run.id, trueIndex: cell[0], predictedIndex: cell[1], ...valOnly(run) }} classes={classes} testId="cell-grid" explain emptyText="No images in this cell (labels may have been fixed since the run)." />
        </Card>
      )}
    </Stack>
  );
}

/** The validation images of a run; every labelled image of a k-fold out-of-fold run (each predicted by the fold model that did not train on it). */
const valOnly = (run: RunDetail): { split?: 'val' } => (run.kind === 'cv' ? {} : { split: 'val' });

function Mistakes({ run, classes }: { run: RunDetail; classes: ClassInfo[] }) {
  const [view, setView] = useState<'wrong' | 'loss'>('wrong');
  return (
    <Stack gap="sm" data-testid="eval-mistakes">
      <SegmentedControl
        size="xs"
        w={360}
        value={view}
        onChange={(v) => setView(v as 'wrong' | 'loss')}
        data={[
          { value: 'wrong', label: 'Misclassified' },
          { value: 'loss', label: 'Top losses (all labelled)' },
        ]}
        data-testid="mistakes-view"
      />
      <Text size="xs" c="dimmed">
        Highest loss first: the images the model found most surprising, often wrong labels. Fix one with 1–9 (0 unlabels); E shows what the model looked at.
      </Text>
      <PredictionGrid
        filter={view === 'wrong' ? { runId: run.id, wrongOnly: true, sort: 'loss' } : { runId: run.id, sort: 'loss', ...valOnly(run) }}
        classes={classes}
        testId="mistakes-grid"
        explain
        emptyText="No misclassified images among the run's predictions."
      />
    </Stack>
  );
}

function Suggestions({ run, classes }: { run: RunDetail; classes: ClassInfo[] }) {
  const [sort, setSort] = useState<'confidence-desc' | 'confidence-asc'>('confidence-desc');
  const [threshold, setThreshold] = useState(0.9);
  const [msg, setMsg] = useState('');
  const [error, setError] = useState<StudioError>();
  const above = useQuery('listPredictions', { runId: run.id, unlabelledOnly: true, minConfidence: threshold, limit: 1 }, ['images', 'runs']).data?.total ?? 0;
  const acceptAll = (): void => {
    acceptPredictions({ runId: run.id, minConfidence: threshold }).then(
      (n) => {
        setMsg(`${n} image${n === 1 ? '' : 's'} labelled (Ctrl+Z in the grid or the gallery undoes it)`);
        setError(undefined);
      },
      (err: unknown) => setError(StudioError.from(err)),
    );
  };
  return (
    <Stack gap="sm" data-testid="eval-suggestions">
      <Group gap="md" align="flex-end">
        <SegmentedControl
          size="xs"
          value={sort}
          onChange={(v) => setSort(v as typeof sort)}
          data={[
            { value: 'confidence-desc', label: 'Most confident first' },
            { value: 'confidence-asc', label: 'Most uncertain first' },
          ]}
          data-testid="suggestion-sort"
        />
        <Stack gap={2} w={220}>
          <Text size="xs">Accept threshold: {Math.round(100 * threshold)}%</Text>
          <Slider min={0.5} max={1} step={0.01} value={threshold} onChange={setThreshold} label={(v) => `${Math.round(100 * v)}%`} aria-label="Confidence threshold" data-testid="suggestion-threshold" />
        </Stack>
        <Button size="xs" disabled={above === 0} onClick={acceptAll} data-testid="accept-all">
          Accept {above} suggestion{above === 1 ? '' : 's'} ≥ {Math.round(100 * threshold)}%
        </Button>
        {msg && (
          <Text size="xs" data-testid="accept-message">
            {msg}
          </Text>
        )}
      </Group>
      <ErrorText error={error} />
      <PredictionGrid filter={{ runId: run.id, unlabelledOnly: true, sort }} classes={classes} mode="suggest" testId="suggestions-grid" emptyText="No unlabelled images with a prediction from this run." />
    </Stack>
  );
}

export function EvaluateScreen({ counts, initialRunId }: { counts: ProjectCounts; initialRunId?: number | null }) {
  const runs = useQuery('listRuns', {}, ['runs']);
  const list = runs.data ?? [];
  const [picked, setPicked] = useState<number | null>(initialRunId ?? lastRunId);
  const [tab, setTab] = useState(lastTab);
  useEffect(() => {
    if (initialRunId) setPicked(initialRunId);
  }, [initialRunId]);
  const fallback = list.find((r) => r.state === 'succeeded') ?? list[0];
  const runId = picked !== null && list.some((r) => r.id === picked) ? picked : (fallback?.id ?? null);
  useEffect(() => {
    lastRunId = runId;
    lastTab = tab;
  }, [runId, tab]);
  const detail = useQuery('getRun', { id: runId ?? 1 }, ['runs'], runId !== null);
  const run = detail.data && detail.data.id === runId ? detail.data : undefined;
  const classes: ClassInfo[] = counts.byClass;
  const [undoError, setUndoError] = useState<StudioError>();

  // Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) undo and redo label fixes wherever the focus is, as in the gallery.
  useUndoRedoKeys(setUndoError);

  if (runs.data && list.length === 0)
    return (
      <Text c="dimmed" data-testid="evaluate-empty">
        No runs yet: train one on the Train screen.
      </Text>
    );
  return (
    <Stack gap="sm" data-testid="evaluate">
      <Group gap="sm">
        <Select
          size="xs"
          w={420}
          aria-label="Run"
          data={list.map((r) => ({ value: String(r.id), label: `Run ${r.id} · ${SCENARIOS[r.scenario].title} · ${r.model} · ${r.state}${r.bestValAcc !== null ? ` · ${pct(r.bestValAcc)}` : ''}` }))}
          value={runId === null ? null : String(runId)}
          onChange={(v) => v && setPicked(Number(v))}
          allowDeselect={false}
          data-testid="eval-run"
        />
      </Group>
      <ErrorText error={runs.error ?? detail.error ?? undoError} />
      <Tabs value={tab} onChange={(v) => setTab(v ?? 'matrix')} keepMounted={false}>
        <Tabs.List mb="sm">
          <Tabs.Tab value="matrix" data-testid="tab-matrix">
            Confusion and metrics
          </Tabs.Tab>
          <Tabs.Tab value="mistakes" data-testid="tab-mistakes">
            Mistakes
          </Tabs.Tab>
          <Tabs.Tab value="suggestions" data-testid="tab-suggestions">
            Label suggestions
          </Tabs.Tab>
          <Tabs.Tab value="history" data-testid="tab-history">
            Run history
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="matrix">{run && <Overview run={run} classes={classes} />}</Tabs.Panel>
        <Tabs.Panel value="mistakes">{run && <Mistakes run={run} classes={classes} />}</Tabs.Panel>
        <Tabs.Panel value="suggestions">{run && <Suggestions run={run} classes={classes} />}</Tabs.Panel>
        <Tabs.Panel value="history">
          <RunHistory
            runs={list}
            onOpen={(id) => {
              setPicked(id);
              setTab('matrix');
            }}
          />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
