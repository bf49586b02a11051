/** Create a project, open one by folder path, or reopen a recent one. */
import { useState } from 'react';
import { Button, Card, Center, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';

export function ProjectPicker() {
  const recent = useQuery('recentProjects', {}, ['project']);
  const [dir, setDir] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<StudioError>();
  const [busy, setBusy] = useState(false);

  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (err) {
      setError(StudioError.from(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="xl">
      <Stack w={560} gap="lg">
        <Title order={2}>Transfer Studio</Title>
        <Text c="dimmed">Build an image classifier from a folder of images by reusing a pretrained network.</Text>
        <Card withBorder>
          <Stack gap="sm">
            <TextInput
              label="Project folder"
              description="A new or empty folder to create a project in, or a folder holding project.sqlite to open."
              placeholder="/home/me/projects/leaves"
              value={dir}
              onChange={(e) => setDir(e.currentTarget.value)}
              data-testid="project-dir"
            />
            <TextInput label="Name (for a new project)" placeholder="Defaults to the folder name" value={name} onChange={(e) => setName(e.currentTarget.value)} data-testid="project-name-input" />
            <Group>
              <Button loading={busy} disabled={!dir.trim()} onClick={() => void act(() => api.call('createProject', { dir, ...(name.trim() ? { name } : {}) }))}>
                Create project
              </Button>
              <Button variant="default" loading={busy} disabled={!dir.trim()} onClick={() => void act(() => api.call('openProject', { dir }))}>
                Open project
              </Button>
            </Group>
            <ErrorText error={error} />
          </Stack>
        </Card>
        <Stack gap={4}>
          <Title order={5}>Recent projects</Title>
          {recent.data?.length === 0 && (
            <Text size="sm" c="dimmed">
              None yet.
            </Text>
          )}
          {recent.data?.map((p) => (
            <Group key={p.dir} justify="space-between" data-testid="recent-project">
              <Stack gap={0}>
                <Text
                  size="sm"
                  fw={500}
                  c={p.missing ? 'dimmed' : 'blue'}
                  style={{ cursor: p.missing ? 'default' : 'pointer' }}
                  onClick={() => !p.missing && void act(() => api.call('openProject', { dir: p.dir }))}
                >
                  {p.name}
                </Text>
                <Text size="xs" c="dimmed">
                  {p.dir}
                  {p.missing ? ' — no longer found' : ''}
                </Text>
              </Stack>
              <Button size="compact-xs" variant="subtle" color="gray" onClick={() => void act(() => api.call('forgetRecent', { dir: p.dir }).then(recent.reload))}>
                Forget
              </Button>
            </Group>
          ))}
        </Stack>
      </Stack>
    </Center>
  );
}
