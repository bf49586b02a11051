/**
 * A sweep's leaderboard, live while it runs (it reads again whenever runs change, as each epoch
 * ends): one row per configuration, mean ± sd over its folds under k-fold, sortable by validation
 * accuracy, loss or time, the majority baseline beside; cancel one run or the whole sweep, run
 * again what did not succeed, open a run (a k-fold configuration: its out-of-fold run) in Evaluate.
 */
import { useState } from 'react';
import { Badge, Button, Group, Table, Text, UnstyledButton } from '@mantine/core';
import { sortLeaderboard, type LeaderboardRow, type LeaderboardSort, type MeanSd } from '../../../../shared/domain';
import { StudioError } from '../../../../shared/errors';
import { api } from '../../../api/client';
import { useQuery } from '../../../api/hooks';
import { ErrorText } from '../../../components/ErrorText';
import { STATE_COLOR } from '../../../components/runs';
import { roughDuration } from './sweep-form';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const meanSd = (m: MeanSd | null, f: (x: number) => string): string => (m === null ? '–' : m.n > 1 ? `${f(m.mean)} ± ${f(m.sd)}` : f(m.mean));

export function SweepLeaderboard({ sweepId, onEvaluate }: { sweepId: number; onEvaluate?: (runId: number) => void }) {
  const q = useQuery('sweepLeaderboard', { id: sweepId }, ['runs', 'jobs']);
  const [sort, setSort] = useState<LeaderboardSort>('acc');
  const [error, setError] = useState<StudioError | undefined>();
  const board = q.data;
  if (!board) return <ErrorText error={q.error} />;
  const act = (p: Promise<unknown>): void => {
    setError(undefined);
    p.then(q.reload, (err: unknown) => setError(StudioError.from(err)));
  };
  const s = board.sweep;
  const header = (by: LeaderboardSort, label: string) => (
    <Table.Th>
      <UnstyledButton onClick={() => setSort(by)} fw={sort === by ? 700 : 400} fz="xs" data-testid={`sort-${by}`}>
        {label}
        {sort === by ? (by === 'acc' ? ' ↓' : ' ↑') : ''}
      </UnstyledButton>
    </Table.Th>
  );
  return (
    <div data-testid="sweep-leaderboard" data-sweep-id={sweepId} data-state={s.state}>
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Text fw={600}>Sweep {s.id}</Text>
          <Badge color={STATE_COLOR[s.state]} data-testid="sweep-state">
            {s.state}
          </Badge>
          <Text size="xs" c="dimmed">
            {s.counts.succeeded} succeeded · {s.counts.running} to go · {s.counts.failed} failed · {s.counts.cancelled} cancelled{s.folds ? ` · ${s.folds}-fold` : ''} · {s.on === 'slurm' ? 'Slurm' : 'this machine'}
          </Text>
        </Group>
        <Group gap="xs">
          <Text size="xs" data-testid="sweep-baseline">
            Majority baseline: {board.baseline === null ? '–' : pct(board.baseline)}
          </Text>
          {s.state === 'running' ? (
            <Button size="xs" color="red" variant="light" onClick={() => act(api.call('cancelSweep', { id: s.id }))} data-testid="sweep-cancel">
              Cancel sweep
            </Button>
          ) : s.counts.succeeded < s.counts.succeeded + s.counts.failed + s.counts.cancelled ? (
            <Button size="xs" variant="light" onClick={() => act(api.call('resumeSweep', { id: s.id }))} data-testid="sweep-resume">
              Run the rest again
            </Button>
          ) : null}
        </Group>
      </Group>
      <ErrorText error={error} />
      <Table fz="xs" striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Configuration</Table.Th>
            {header('acc', 'Val accuracy')}
            {header('loss', 'Val loss')}
            {header('time', 'Time')}
            <Table.Th>Runs</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {sortLeaderboard(board.rows, sort).map((r) => (
            <Row key={r.configIndex} row={r} baseline={board.baseline} onCancel={(id) => act(api.call('cancelRun', { id }))} {...(onEvaluate ? { onEvaluate } : {})} />
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}

function Row({ row, baseline, onCancel, onEvaluate }: { row: LeaderboardRow; baseline: number | null; onCancel: (runId: number) => void; onEvaluate?: (runId: number) => void }) {
  const below = row.valAcc !== null && baseline !== null && row.valAcc.mean <= baseline;
  return (
    <Table.Tr data-testid="leaderboard-row" data-state={row.state}>
      <Table.Td>{row.label}</Table.Td>
      <Table.Td c={below ? 'red' : undefined} data-testid="row-acc">
        {meanSd(row.valAcc, pct)}
        {row.oofAcc !== null ? ` (out-of-fold ${pct(row.oofAcc)})` : ''}
      </Table.Td>
      <Table.Td>{meanSd(row.valLoss, (x) => x.toFixed(3))}</Table.Td>
      <Table.Td>{row.seconds === null ? '–' : roughDuration(row.seconds)}</Table.Td>
      <Table.Td>
        <Group gap={4}>
          {row.runs.map((run) => (
            <Badge
              key={run.id}
              size="xs"
              variant="light"
              color={STATE_COLOR[run.state]}
              title={run.error ?? undefined}
              style={{ cursor: run.state === 'running' || onEvaluate ? 'pointer' : undefined }}
              onClick={() => (run.state === 'running' ? onCancel(run.id) : run.state === 'succeeded' && onEvaluate?.(run.id))}
              data-testid="leaderboard-run"
              data-run-id={run.id}
            >
              {run.fold !== null ? `fold ${run.fold + 1}: ` : ''}run {run.id}
              {run.state === 'running' ? ' ✕' : ''}
            </Badge>
          ))}
          {row.cvRunId !== null && onEvaluate && (
            <Button size="compact-xs" variant="subtle" onClick={() => onEvaluate(row.cvRunId!)} data-testid="evaluate-cv">
              Evaluate out-of-fold
            </Button>
          )}
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}
