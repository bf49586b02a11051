/**
 * An ensemble: several runs picked by hand whose class probabilities are averaged for the test-set
 * exports and the review, and how it compares with its best member on the validation images.
 */
import { MultiSelect, Stack, Table, Text } from '@mantine/core';
import type { RunSummary } from '../../../shared/domain';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { pct } from '../../components/format';
import { describeGain, ensembleCandidates } from './export-logic';

/** `suggested`: lists made elsewhere (the latest sweep's best N, a k-fold configuration's fold models), offered as one pick beside the hand-picked runs. */
export function EnsemblePanel({ runs, picked, onPick, suggested = [] }: { runs: RunSummary[]; picked: number[]; onPick: (ids: number[]) => void; suggested?: { label: string; runs: number[] }[] }) {
  const candidates = ensembleCandidates(runs, picked);
  const active = picked.length >= 2;
  const summary = useQuery('ensembleSummary', { runs: active ? picked : [1, 2] }, ['runs', 'images'], active);
  return (
    <Stack gap={6} data-testid="export-ensemble">
      <MultiSelect
        size="xs"
        w={520}
        label="Ensemble (optional)"
        description="Pick two runs or more trained on the same classes: their probabilities are averaged for the submission, the probabilities CSV and the review."
        placeholder={picked.length ? '' : 'one run only'}
        data={[
          ...suggested.map((s) => ({ value: `group:${s.runs.join(',')}`, label: s.label })),
          ...candidates.map((r) => ({ value: String(r.id), label: `Run ${r.id} · ${r.model} · val ${pct(r.bestValAcc)}` })),
        ]}
        value={picked.map(String)}
        onChange={(values) => {
          const group = values.find((v) => v.startsWith('group:'));
          onPick(group ? group.slice('group:'.length).split(',').map(Number) : values.map(Number));
        }}
        clearable
        data-testid="export-ensemble-runs"
      />
      {active && <ErrorText error={summary.error} />}
      {active && summary.data && (
        <Stack gap={4} data-testid="export-ensemble-gain" data-gain={summary.data.gain?.accuracy ?? ''} data-images={summary.data.images}>
          <Text size="sm">{describeGain(summary.data)}</Text>
          {summary.data.members.length > 0 && (
            <Table withTableBorder fz="xs" w={420} data-testid="export-ensemble-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Validation</Table.Th>
                  <Table.Th>accuracy</Table.Th>
                  <Table.Th>loss</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {summary.data.members.map((m) => (
                  <Table.Tr key={m.runId}>
                    <Table.Td>
                      run {m.runId}
                      {m.runId === summary.data?.best?.runId ? ' (best member)' : ''}
                    </Table.Td>
                    <Table.Td>{pct(m.accuracy)}</Table.Td>
                    <Table.Td>{m.loss.toFixed(4)}</Table.Td>
                  </Table.Tr>
                ))}
                {summary.data.ensemble && (
                  <Table.Tr fw={600}>
                    <Table.Td>ensemble</Table.Td>
                    <Table.Td>{pct(summary.data.ensemble.accuracy)}</Table.Td>
                    <Table.Td>{summary.data.ensemble.loss.toFixed(4)}</Table.Td>
                  </Table.Tr>
                )}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </Stack>
  );
}
