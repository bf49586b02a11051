/**
 * A notice for every import source whose folder is gone (moved or renamed), with a field for
 * its new place and "Point to new location" (relocateSource checks a sample of the files there
 * and refuses, saying why, if they are not the same images).
 */
import { useEffect, useState } from 'react';
import { Alert, Button, Group, Stack, Text, TextInput } from '@mantine/core';
import type { SourceStatus } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';

function MovedSource({ source }: { source: SourceStatus }) {
  const [root, setRoot] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<StudioError>();
  const relocate = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await api.call('relocateSource', { id: source.id, root: root.trim() });
    } catch (err) {
      setError(StudioError.from(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Alert color="yellow" variant="light" p="xs" title="An image folder has moved" data-testid="moved-source" data-source-id={source.id}>
      <Stack gap={6}>
        <Text size="sm">
          {source.images} image{source.images === 1 ? '' : 's'} came from <b>{source.root}</b>
          {source.description && source.description !== source.root ? ` (${source.description})` : ''}, which no longer exists. Their thumbnails still show, but training, prediction and export need the files.
        </Text>
        <Group gap="xs" align="flex-end">
          <TextInput
            size="xs"
            style={{ flex: 1, maxWidth: 520 }}
            label="New location"
            placeholder="/data/moved/folder"
            value={root}
            onChange={(e) => setRoot(e.currentTarget.value)}
            onKeyDown={(e) => e.key === 'Enter' && root.trim() && void relocate()}
            data-testid="relocate-root"
          />
          <Button size="xs" loading={busy} disabled={!root.trim()} onClick={() => void relocate()} data-testid="relocate-start">
            Point to new location
          </Button>
        </Group>
        <ErrorText error={error} />
      </Stack>
    </Alert>
  );
}

export function MovedSources() {
  const q = useQuery('sourcesStatus', {}, ['images', 'project']);
  // A folder moved while the studio was open is noticed when the user comes back to the window.
  const { reload } = q;
  useEffect(() => {
    window.addEventListener('focus', reload);
    return () => window.removeEventListener('focus', reload);
  }, [reload]);
  const moved = (q.data ?? []).filter((s) => !s.exists);
  if (moved.length === 0) return null;
  return (
    <Stack gap="xs" data-testid="moved-sources">
      {moved.map((s) => (
        <MovedSource key={s.id} source={s} />
      ))}
    </Stack>
  );
}
