/**
 * The Evaluate screen: a run's validation confusion matrix (click or Enter on a cell to see
 * exactly those images), per-class precision/recall/F1, accuracy against the majority baseline;
 * the misclassified and top-loss images with on-the-spot label fixes; label suggestions for
 * unlabelled images; and the run history with comparison. The confusion matrix and the mistakes
 * also show for an ensemble (the run with others picked beside it: their probabilities averaged),
 * with its gain over its best member.
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, CloseButton, Group, MultiSelect, SegmentedControl, Select, Slider, Stack, Table, Tabs, Text } from '@mantine/core';
import type { ClassInfo, ConfusionMatrix, EnsembleSummary, PredictionSource, ProjectCounts, RunDetail } from '../../../shared/domain';
import { viewsText } from '../../../shared/tta';
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

/** What the confusion and mistakes views show: one run, or an ensemble (its members' stored probabilities averaged). */
interface Evaluated {
  key: string;
  source: PredictionSource;
  confusion: ConfusionMatrix | null;
  baseline: number | null;
  running: boolean;
  ensemble?: EnsembleSummary;
  /** A k-fold configuration's out-of-fold run: its predictions cover every labelled image, not only validation. */
  allLabelled?: boolean;
}

const ofRun = (run: RunDetail): Evaluated => ({
  key: `run:${run.id}`,
  source: { runId: run.id },
  confusion: run.confusion,
  baseline: run.baseline,
  running: run.state === 'running',
  ...(run.kind === 'cv' ? { allLabelled: true } : {}),
});
const ofEnsemble = (s: EnsembleSummary): Evaluated => ({ key: `runs:${s.runs.join(',')}`, source: { runs: s.runs }, confusion: s.confusion, baseline: null, running: false, ensemble: s });

function EnsembleGain({ s }: { s: EnsembleSummary }) {
  if (!s.best || !s.ensemble || !s.gain) return null;
  return (
    <Card withBorder padding="sm" data-testid="eval-ensemble-gain" data-gain={s.gain.accuracy}>
      <Text size="xs" c="dimmed">
        Ensemble of runs {s.runs.join(', ')} against its best member (run {s.best.runId}), predictions {viewsText(s.views)}
      </Text>
      <Text fw={700} size="xl">
        {s.gain.accuracy >= 0 ? '+' : ''}
        {(100 * s.gain.accuracy).toFixed(1)} points
      </Text>
      <Text size="xs" c="dimmed">
        accuracy {pct(s.ensemble.accuracy)} against {pct(s.best.accuracy)}; loss {s.ensemble.loss.toFixed(4)} against {s.best.loss.toFixed(4)}
      </Text>
    </Card>
  );
}

function Overview({ run, classes }: { run: Evaluated; classes: ClassInfo[] }) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  useEffect(() => setCell(null), [run.key]);
  const cm = run.confusion;
  if (!cm || cm.matrix.length === 0)
    return <Text c="dimmed">{run.ensemble ? 'This ensemble has no validation image predicted by every member: predict with it on the Export screen.' : `This run has no validation confusion matrix${run.running ? ' yet' : ''}.`}</Text>;
  const acc = accuracy(cm.matrix);
  const baseline = run.baseline ?? majorityBaseline(cm.matrix);
  const beats = acc !== null && baseline !== null && acc > baseline + 1e-9;
  const per = classMetrics(cm.classNames, cm.matrix);
  return (
    <Stack gap="md" data-testid="eval-overview">
      <Group gap="xl" align="flex-start">
        <Card withBorder padding="sm">
          <Text size="xs" c="dimmed">
            Validation accuracy ({run.ensemble ? 'ensemble' : `epoch ${cm.epoch}`})
          </Text>
          <Text fw={700} size="xl" data-testid="eval-accuracy">
            {pct(acc)}
          </Text>
          <Text size="xs" c="dimmed" data-testid="eval-baseline">
            majority baseline {pct(baseline)}
          </Text>
        </Card>
        {run.ensemble && <EnsembleGain s={run.ensemble} />}
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
          <PredictionGrid filter={{ ...run.source, trueIndex: cell[0], predictedIndex: cell[1], ...valOnly(run) }} classes={classes} testId="cell-grid" explain emptyText="No images in this cell (labels may have been fixed since the run)." />
        </Card>
      )}
    </Stack>
  );
}

/** The validation images; every labelled image of a k-fold out-of-fold run (each predicted by the fold model that did not train on it). */
const valOnly = (run: Evaluated): { split?: 'val' } => (run.allLabelled ? {} : { split: 'val' });

function Mistakes({ run, classes }: { run: Evaluated; classes: ClassInfo[] }) {
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
        filter={view === 'wrong' ? { ...run.source, wrongOnly: true, sort: 'loss' } : { ...run.source, sort: 'loss', ...valOnly(run) }}
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
  // Runs averaged with the picked one (an ensemble), hand-picked among succeeded runs with its classes.
  const [beside, setBeside] = useState<number[]>([]);
  const classKey = (names: readonly string[]): string => names.map((n) => n.toLowerCase()).sort().join('\n');
  const partners = run ? list.filter((r) => r.id !== run.id && r.state === 'succeeded' && classKey(r.classNames) === classKey(run.classNames)) : [];
  const members = run && run.state === 'succeeded' ? [run.id, ...beside.filter((id) => partners.some((p) => p.id === id))] : [];
  const ensemble = useQuery('ensembleSummary', { runs: members.length >= 2 ? members : [1, 2] }, ['runs', 'images'], members.length >= 2);
  const evaluated = members.length >= 2 ? (ensemble.data ? ofEnsemble(ensemble.data) : undefined) : run && ofRun(run);
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
        <MultiSelect
          size="xs"
          w={360}
          aria-label="Ensemble with"
          placeholder={partners.length ? 'Ensemble with… (average with other runs)' : 'no other run with these classes'}
          data={partners.map((r) => ({ value: String(r.id), label: `Run ${r.id} · ${r.model}${r.bestValAcc !== null ? ` · ${pct(r.bestValAcc)}` : ''}` }))}
          value={beside.filter((id) => partners.some((p) => p.id === id)).map(String)}
          onChange={(v) => setBeside(v.map(Number))}
          disabled={partners.length === 0}
          clearable
          data-testid="eval-ensemble"
        />
      </Group>
      <ErrorText error={runs.error ?? detail.error ?? (members.length >= 2 ? ensemble.error : undefined) ?? undoError} />
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
        <Tabs.Panel value="matrix">{evaluated && <Overview run={evaluated} classes={classes} />}</Tabs.Panel>
        <Tabs.Panel value="mistakes">{evaluated && <Mistakes run={evaluated} classes={classes} />}</Tabs.Panel>
        {/* Suggestions are accepted from one run's predictions. */}
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
