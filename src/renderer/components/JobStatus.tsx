/**
 * One job's state where the user started it: a progress bar with Cancel while it runs, its
 * error if it failed or could not start, a note if it was cancelled, and `children` (what it
 * produced) when it succeeded.
 */
import type { ReactNode } from 'react';
import { Alert, Button, Group, Progress, Stack, Text } from '@mantine/core';
import { ErrorText } from './ErrorText';
import { StudioError } from '../../shared/errors';
import { jobPercent } from './jobs';
import type { JobHandle } from './useJob';

/** A failed job's error, saying which job failed. */
function failure(label: string, e: { code: string; message: string } | undefined): StudioError {
  const code = e ? StudioError.from(e).code : 'internal';
  return new StudioError(code, `${label} failed: ${e?.message ?? 'no reason was given'}`);
}

export function JobStatus({ handle, label, testId, cancelledText, children }: { handle: JobHandle; label: string; testId: string; cancelledText?: string; children?: ReactNode }) {
  const { job, error } = handle;
  const running = job && (job.state === 'running' || job.state === 'queued');
  return (
    <Stack gap={6} data-testid={testId} data-state={job?.state ?? (error ? 'error' : 'idle')} data-job-id={job?.id}>
      <ErrorText error={error} />
      {running && (
        <Group gap="xs" wrap="nowrap">
          <Progress value={jobPercent(job)} style={{ flex: 1 }} aria-label={`${label} progress`} data-testid={`${testId}-progress`} animated={job.progress.total === 0} />
          <Text size="xs" style={{ whiteSpace: 'nowrap' }} aria-live="polite" data-testid={`${testId}-text`}>
            {job.progress.message ?? label} {job.progress.total > 0 ? `${job.progress.done}/${job.progress.total}` : ''}
          </Text>
          <Button size="compact-xs" variant="subtle" color="red" onClick={handle.cancel} data-testid={`${testId}-cancel`}>
            Cancel
          </Button>
        </Group>
      )}
      {job?.state === 'failed' && <ErrorText error={failure(label, job.error)} />}
      {job?.state === 'cancelled' && (
        <Alert color="gray" variant="light" p="xs" data-testid={`${testId}-cancelled`}>
          {cancelledText ?? `${label} cancelled.`}
        </Alert>
      )}
      {job?.state === 'succeeded' && children}
    </Stack>
  );
}
