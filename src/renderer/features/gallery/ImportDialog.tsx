/**
 * Import: the user types or pastes a folder, zip, CSV or file path (browser mode gets no paths
 * from drag and drop), picks what kind of source it is, and starts the import job. Progress and
 * Cancel show in the status bar; the report opens when the job finishes.
 */
import { useState } from 'react';
import { Button, Group, Modal, Select, Stack, Text, TextInput } from '@mantine/core';
import type { JobInfo } from '../../../shared/api';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { ErrorText } from '../../components/ErrorText';

type Choice = 'auto' | 'folder' | 'csv' | 'files' | 'test';
const CHOICES: { value: Choice; label: string; help: string }[] = [
  { value: 'auto', label: 'Detect automatically', help: 'A folder, a .zip, a .csv or one image file.' },
  { value: 'folder', label: 'Folder with one subfolder per class', help: 'Subfolder names become classes; loose files stay unlabelled.' },
  { value: 'csv', label: 'CSV (filename,label) + images folder', help: 'Each CSV row names a file and its class; an optional third column gives the split.' },
  { value: 'files', label: 'Unlabelled files', help: 'Everything is imported without a class, to label here.' },
  { value: 'test', label: 'Test set (kept for prediction)', help: 'Imported unlabelled into the test split; never trained on.' },
];

export function ImportDialog({ opened, onClose, onStarted, hint = '' }: { opened: boolean; onClose: () => void; onStarted: (job: JobInfo<'import'>) => void; hint?: string }) {
  const [source, setSource] = useState('');
  const [choice, setChoice] = useState<Choice>('auto');
  const [images, setImages] = useState('');
  const [error, setError] = useState<StudioError>();
  const [busy, setBusy] = useState(false);

  const start = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const job = await api.call('importImages', {
        source: source.trim(),
        kind: choice === 'test' ? 'auto' : choice,
        ...(choice === 'test' ? { split: 'test' as const } : {}),
        ...(choice === 'csv' ? { csv: source.trim(), ...(images.trim() ? { images: images.trim() } : {}) } : {}),
      });
      onStarted(job);
      onClose();
    } catch (err) {
      setError(StudioError.from(err));
    } finally {
      setBusy(false);
    }
  };

  const help = CHOICES.find((c) => c.value === choice)?.help ?? '';
  return (
    <Modal opened={opened} onClose={onClose} title="Import images" size="lg">
      <Stack gap="sm" data-testid="import-dialog">
        {hint && (
          <Text size="sm" c="blue" data-testid="import-hint">
            {hint}
          </Text>
        )}
        <TextInput
          label={choice === 'csv' ? 'CSV file' : 'Folder, zip or file'}
          description="Type or paste the full path."
          placeholder={choice === 'csv' ? '/data/labels.csv' : '/data/leaves'}
          value={source}
          onChange={(e) => setSource(e.currentTarget.value)}
          onKeyDown={(e) => e.key === 'Enter' && source.trim() && void start()}
          data-autofocus
          data-testid="import-source"
        />
        <Select
          label="Kind"
          data={CHOICES.map((c) => ({ value: c.value, label: c.label }))}
          value={choice}
          onChange={(v) => v && setChoice(v as Choice)}
          allowDeselect={false}
          data-testid="import-kind"
        />
        <Text size="xs" c="dimmed">
          {help}
        </Text>
        {choice === 'csv' && (
          <TextInput
            label="Images folder"
            description="The folder the CSV's file names are relative to (default: the CSV's folder)."
            value={images}
            onChange={(e) => setImages(e.currentTarget.value)}
            data-testid="import-images"
          />
        )}
        <ErrorText error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Close
          </Button>
          <Button loading={busy} disabled={!source.trim()} onClick={() => void start()} data-testid="import-start">
            Import
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
