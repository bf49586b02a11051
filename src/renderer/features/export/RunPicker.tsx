/** The run the Export screen works with: a select of every run and what the chosen one is. */
import { Badge, Group, Select, Stack, Text } from '@mantine/core';
import type { RunSummary } from '../../../shared/domain';
import { pct } from '../../components/format';
import { SCENARIOS, STATE_COLOR } from '../../components/runs';

export function RunPicker({ runs, run, onPick, testPredicted, testTotal }: { runs: RunSummary[]; run: RunSummary | undefined; onPick: (id: number) => void; testPredicted: number | undefined; testTotal: number }) {
  return (
    <Stack gap={6}>
      <Select
        size="xs"
        w={420}
        label="Run"
        description="Its predictions fill the submission; its model is what gets exported."
        data={[...runs].sort((a, b) => b.id - a.id).map((r) => ({ value: String(r.id), label: `Run ${r.id} · ${r.model} · ${r.state}` }))}
        value={run ? String(run.id) : null}
        onChange={(v) => v && onPick(Number(v))}
        allowDeselect={false}
        data-testid="export-run"
      />
      {run && (
        <Group gap="md" data-testid="export-run-summary" data-run-id={run.id} data-state={run.state}>
          <Badge color={STATE_COLOR[run.state]} variant="light">
            {run.state}
          </Badge>
          <Text size="sm">{SCENARIOS[run.scenario].title}</Text>
          <Text size="sm" c="dimmed">
            model {run.model}
          </Text>
          <Text size="sm" data-testid="export-run-accuracy">
            validation accuracy {pct(run.bestValAcc)}
          </Text>
          <Text size="sm" c="dimmed" data-testid="export-run-coverage">
            {testTotal === 0 ? 'no test images in the project' : `${testPredicted ?? '…'} of ${testTotal} test images predicted by this run`}
          </Text>
        </Group>
      )}
      {run && run.state !== 'succeeded' && (
        <Text size="xs" c="red">
          This run has no trained model ({run.state === 'running' ? 'it is still running' : `it ${run.state}`}): pick a succeeded run to predict and export.
        </Text>
      )}
    </Stack>
  );
}
