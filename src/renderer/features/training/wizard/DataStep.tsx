/** Step 1: the labelled data per class and split, the majority baseline, leaks across splits, and what is worth a look. */
import { Alert, Group, List, Stack, Text } from '@mantine/core';
import type { DataFacts } from './data-facts';
import { LeakCheck } from './LeakCheck';

function ClassBalance({ facts }: { facts: DataFacts }) {
  const max = Math.max(1, ...facts.classes.map((c) => c.total));
  return (
    <Stack gap={4} data-testid="class-balance" aria-label="Class balance">
      {facts.classes.map((c) => (
        <Group key={c.id} gap="xs" wrap="nowrap" data-testid="balance-row" data-class-name={c.name}>
          <Text size="sm" w={140} truncate title={c.name}>
            {c.name}
          </Text>
          <div style={{ flex: 1, display: 'flex', height: 14, background: 'var(--mantine-color-default-hover)', borderRadius: 3, overflow: 'hidden' }}>
            <div title={`${c.train} train`} style={{ width: `${(100 * c.train) / max}%`, background: c.color }} />
            <div title={`${c.val} validation`} style={{ width: `${(100 * c.val) / max}%`, background: c.color, opacity: 0.45 }} />
          </div>
          <Text size="xs" w={150} c="dimmed" ta="right" style={{ fontVariantNumeric: 'tabular-nums' }}>
            {c.train} train · {c.val} val
          </Text>
        </Group>
      ))}
      <Text size="xs" c="dimmed">
        Solid: training images; faded: validation images.
      </Text>
    </Stack>
  );
}

function Stat({ label, value, testId }: { label: string; value: number | string; testId?: string }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} size="lg" data-testid={testId}>
        {value}
      </Text>
    </Stack>
  );
}

export function DataStep({ facts }: { facts: DataFacts }) {
  return (
    <Stack gap="sm" data-testid="step-data">
      <Group gap="xl">
        <Stat label="Labelled" value={facts.labelled} />
        <Stat label="Training" value={facts.train} />
        <Stat label="Validation" value={facts.val} />
        <Stat label="Unlabelled" value={facts.unlabelled} />
        <Stat label="Classes" value={facts.classes.length} />
        <Stat label="Majority baseline" value={facts.baseline === null ? '—' : `${(100 * facts.baseline).toFixed(1)}%`} testId="wizard-baseline" />
      </Group>
      <Text size="xs" c="dimmed">
        The majority baseline is the accuracy of always answering the largest class: a model has to beat it to be worth anything.
      </Text>
      <ClassBalance facts={facts} />
      <LeakCheck />
      {facts.warnings.length > 0 && (
        <Alert color={facts.blocking ? 'red' : 'yellow'} variant="light" title={facts.blocking ? 'Training cannot start yet' : 'Worth a look'} data-testid="data-warnings">
          <List size="sm">
            {facts.warnings.map((w) => (
              <List.Item key={w}>{w}</List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}
