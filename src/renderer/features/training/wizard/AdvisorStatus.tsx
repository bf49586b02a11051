/** Where the advice is not there: still being asked, or the advisor's typed error with a way to ask again. */
import { Button, Group, Stack, Text } from '@mantine/core';
import { ErrorText } from '../../../components/ErrorText';
import type { AdviceState } from './advice';

export function AdvisorStatus({ state }: { state: AdviceState }) {
  if (state.error) {
    return (
      <Stack gap={4}>
        <ErrorText error={state.error} />
        <Group gap="xs">
          <Text size="xs" c="dimmed">
            Without the advisor, choose a scenario yourself.
          </Text>
          <Button size="compact-xs" variant="subtle" onClick={state.retry} data-testid="advice-retry">
            Ask again
          </Button>
        </Group>
      </Stack>
    );
  }
  if (!state.advice) {
    return (
      <Text size="sm" c="dimmed" data-testid="advice-pending">
        The advisor is looking at a sample of your images with the pretrained network…
      </Text>
    );
  }
  return null;
}
