/** Running jobs with their progress and a Cancel button, always visible at the bottom. */
import { useEffect, useState } from 'react';
import { Button, Group, Progress, Text } from '@mantine/core';
import type { JobInfo } from '../../shared/api';
import { api } from '../api/client';
import { useEvent } from '../api/hooks';

export function StatusBar() {
  const [jobs, setJobs] = useState<Map<string, JobInfo>>(new Map());
  const [last, setLast] = useState<JobInfo>();
  useEffect(() => {
    api.call('listJobs', {}).then((list) => setJobs(new Map(list.filter((j) => j.state === 'running').map((j) => [j.id, j]))), () => undefined);
  }, []);
  useEvent('job.progress', (j) => setJobs((m) => new Map(m).set(j.id, j)));
  useEvent('job.finished', (j) => {
    setJobs((m) => {
      const n = new Map(m);
      n.delete(j.id);
      return n;
    });
    setLast(j);
  });
  const running = [...jobs.values()];
  return (
    <Group h="100%" px="md" gap="lg" wrap="nowrap" data-testid="status-bar">
      {running.length === 0 && (
        <Text size="xs" c="dimmed">
          {last ? `Last job: ${last.kind} ${last.state}${last.error ? ` — ${last.error.message}` : ''}` : 'Ready'}
        </Text>
      )}
      {running.map((j) => {
        const pct = j.progress.total > 0 ? (100 * j.progress.done) / j.progress.total : 0;
        return (
          <Group key={j.id} gap="xs" wrap="nowrap" data-testid="job" style={{ flex: 1, maxWidth: 520 }}>
            <Text size="xs" style={{ whiteSpace: 'nowrap' }}>
              {j.kind}: {j.progress.message ?? ''} {j.progress.done}/{j.progress.total}
            </Text>
            <Progress value={pct} style={{ flex: 1 }} aria-label={`${j.kind} progress`} />
            <Button size="compact-xs" variant="subtle" color="red" onClick={() => void api.call('cancelJob', { id: j.id })}>
              Cancel
            </Button>
          </Group>
        );
      })}
    </Group>
  );
}
