/**
 * Every run with its scenario, model, settings, backend, duration and best metrics; pick two to
 * compare them (e.g. two backbones on the same project): accuracy, time and parameters side by
 * side, each class's validation accuracy, the settings that differ, their curves overlaid, and
 * both confusion matrices.
 */
import { useState } from 'react';
import { ActionIcon, Badge, Button, Checkbox, SimpleGrid, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import type { RunSummary, TrainConfig } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ConfusionHeatmap } from '../../components/ConfusionHeatmap';
import { Curves, type Series } from '../../components/Curves';
import { ErrorText } from '../../components/ErrorText';
import { STATE_COLOR, backendLabel } from '../../components/runs';
import { COLORS, accSeries, formatDuration, lossSeries } from '../../components/run-charts';
import { pct } from '../../components/format';
import { perClassPairs, sideRows, type Ahead } from './side-by-side';

/** The config as dotted keys -> printable values (head.hidden, augment.flip, ...). */
export function flattenConfig(c: TrainConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, prefix: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, prefix ? `${prefix}.${k}` : k);
    } else out[prefix] = v === null ? 'off' : Array.isArray(v) ? v.join(', ') || 'none' : String(v);
  };
  walk(c, '');
  return out;
}

export function settingsDiff(a: TrainConfig, b: TrainConfig): { key: string; a: string; b: string; differs: boolean }[] {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])];
  return keys.map((key) => ({ key, a: fa[key] ?? '—', b: fb[key] ?? '—', differs: (fa[key] ?? '—') !== (fb[key] ?? '—') }));
}

/** Figures of two runs in two columns, the run ahead on each in bold. */
function SideTable({ testId, head, a, b, rows }: { testId: string; head: string; a: number; b: number; rows: { key: string; a: string; b: string; ahead: Ahead }[] }) {
  return (
    <Table fz="xs" withTableBorder data-testid={testId}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{head}</Table.Th>
          <Table.Th>Run {a}</Table.Th>
          <Table.Th>Run {b}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((r) => (
          <Table.Tr key={r.key} data-testid="side-row" data-ahead={r.ahead ?? ''}>
            <Table.Td>{r.key}</Table.Td>
            <Table.Td fw={r.ahead === 'a' ? 700 : 400}>{r.a}</Table.Td>
            <Table.Td fw={r.ahead === 'b' ? 700 : 400}>{r.b}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Compare({ ids }: { ids: [number, number] }) {
  const a = useQuery('getRun', { id: ids[0] }, ['runs']).data;
  const b = useQuery('getRun', { id: ids[1] }, ['runs']).data;
  if (!a || !b) return <Text size="sm">Loading…</Text>;
  const diff = settingsDiff(a.config, b.config);
  const other = { train: COLORS.other, val: COLORS.otherVal };
  const loss: Series[] = [...lossSeries(a.metrics, [], `#${a.id} `), ...lossSeries(b.metrics, [], `#${b.id} `, other)];
  const acc: Series[] = [...accSeries(a.metrics, `#${a.id} `), ...accSeries(b.metrics, `#${b.id} `, other)];
  return (
    <Stack gap="sm" data-testid="run-compare">
      <Title order={5}>
        Run {a.id} and run {b.id}
      </Title>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <SideTable testId="compare-summary" head="" a={a.id} b={b.id} rows={sideRows(a, b)} />
        <SideTable
          testId="compare-per-class"
          head="Class (val accuracy)"
          a={a.id}
          b={b.id}
          rows={perClassPairs(a, b).map((c) => ({ key: c.name, a: pct(c.a), b: pct(c.b), ahead: c.ahead }))}
        />
      </SimpleGrid>
      <Table fz="xs" withTableBorder data-testid="settings-diff">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Setting</Table.Th>
            <Table.Th>Run {a.id}</Table.Th>
            <Table.Th>Run {b.id}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {[
            { key: 'backend', a: backendLabel(a.backend), b: backendLabel(b.backend), differs: backendLabel(a.backend) !== backendLabel(b.backend) },
            ...diff,
          ].map((d) => (
            <Table.Tr key={d.key} data-testid={d.differs ? 'diff-row' : 'same-row'} style={{ fontWeight: d.differs ? 700 : 400, opacity: d.differs ? 1 : 0.6 }}>
              <Table.Td>{d.key}</Table.Td>
              <Table.Td>{d.a}</Table.Td>
              <Table.Td>{d.b}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Curves title="Loss" series={loss} xMin={0} yMin={0} testId="compare-loss" />
        <Curves title="Accuracy" series={acc} xMin={0} yMin={0} yMax={1} formatY={(v) => `${Math.round(100 * v)}%`} testId="compare-acc" />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {[a, b].map((r) => (
          <Stack key={r.id} gap={4}>
            <Text size="sm" fw={600}>
              Run {r.id} {r.confusion ? `(epoch ${r.confusion.epoch})` : ''}
            </Text>
            {r.confusion && r.confusion.matrix.length > 0 ? (
              <ConfusionHeatmap classNames={r.confusion.classNames} matrix={r.confusion.matrix} cell={44} testId={`compare-confusion-${r.id}`} label={`Confusion matrix of run ${r.id}`} />
            ) : (
              <Text size="sm" c="dimmed">
                No confusion matrix.
              </Text>
            )}
          </Stack>
        ))}
      </SimpleGrid>
    </Stack>
  );
}

function epochsRun(r: RunSummary): string {
  const n = r.result?.epochsRun;
  return typeof n === 'number' ? String(n) : '—';
}

export function RunHistory({ runs, onOpen }: { runs: RunSummary[]; onOpen: (id: number) => void }) {
  const [picked, setPicked] = useState<number[]>([]);
  const [error, setError] = useState<StudioError>();
  const toggle = (id: number): void => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));
  const remove = (id: number): void => {
    api.call('deleteRun', { id }).then(
      () => setPicked((p) => p.filter((x) => x !== id)),
      (err: unknown) => setError(StudioError.from(err)),
    );
  };
  return (
    <Stack gap="sm" data-testid="run-history">
      <ErrorText error={error} />
      <Text size="xs" c="dimmed">
        Tick two runs to compare them.
      </Text>
      <Table.ScrollContainer minWidth={900}>
        <Table fz="xs" highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th />
              <Table.Th>Run</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Scenario</Table.Th>
              <Table.Th>Model</Table.Th>
              <Table.Th>Settings</Table.Th>
              <Table.Th>Backend</Table.Th>
              <Table.Th>Duration</Table.Th>
              <Table.Th>Epochs</Table.Th>
              <Table.Th>Best val acc</Table.Th>
              <Table.Th>Best val loss</Table.Th>
              <Table.Th>Baseline</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {runs.map((r) => (
              <Table.Tr key={r.id} data-testid="history-row" data-run-id={r.id}>
                <Table.Td>
                  <Checkbox size="xs" checked={picked.includes(r.id)} onChange={() => toggle(r.id)} aria-label={`Compare run ${r.id}`} data-testid="compare-check" />
                </Table.Td>
                <Table.Td>
                  <Button size="compact-xs" variant="subtle" onClick={() => onOpen(r.id)}>
                    #{r.id}
                  </Button>
                </Table.Td>
                <Table.Td>
                  <Badge size="xs" color={STATE_COLOR[r.state]}>
                    {r.state}
                  </Badge>
                </Table.Td>
                <Table.Td>{r.scenario}</Table.Td>
                <Table.Td>{r.model}</Table.Td>
                <Table.Td>
                  lr {r.config.lr}
                  {r.config.lrPretrained !== undefined ? `/${r.config.lrPretrained}` : ''} · bs {r.config.batchSize} · {r.config.epochs} ep{r.config.freezeTo ? ` · frozen to ${r.config.freezeTo}` : ''}
                  {r.config.augment ? ' · aug' : ''}
                </Table.Td>
                <Table.Td>{backendLabel(r.backend)}</Table.Td>
                <Table.Td>{formatDuration(r.startedAt, r.finishedAt)}</Table.Td>
                <Table.Td>{epochsRun(r)}</Table.Td>
                <Table.Td>{pct(r.bestValAcc)}</Table.Td>
                <Table.Td>{r.bestValLoss === null ? '—' : r.bestValLoss.toFixed(3)}</Table.Td>
                <Table.Td>{pct(r.baseline)}</Table.Td>
                <Table.Td>
                  <Tooltip label="Delete run">
                    <ActionIcon size="xs" variant="subtle" color="red" disabled={r.state === 'running'} onClick={() => remove(r.id)} aria-label={`Delete run ${r.id}`}>
                      ✕
                    </ActionIcon>
                  </Tooltip>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {picked.length === 2 && <Compare ids={[picked[0]!, picked[1]!]} />}
    </Stack>
  );
}
