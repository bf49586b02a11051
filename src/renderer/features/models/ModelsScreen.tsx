/**
 * The model library: the models on this machine, the built-in one first (size, parameters, input,
 * preprocessing, where they came from; hide or show; delete, except the built-in one), the catalog (publisher, licence, preprocessing, published top-1,
 * what the download is checked against; download as a job with progress and cancel), and import
 * from disk: drop a TensorFlow.js folder or a Keras file here (Electron gives its path), or type
 * its path (browser mode gives none).
 */
import { useState, type DragEvent } from 'react';
import { Badge, Button, Group, Paper, Progress, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import type { CatalogModelInfo } from '../../../shared/api';
import type { JobInfo } from '../../../shared/api';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useEvent, useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { describeCheck, describePreprocessing, formatBytes, formatParams, percent } from './model-format';

function Installed() {
  const models = useQuery('listModels', {}, ['models']);
  const [error, setError] = useState<StudioError>();
  const remove = (id: string): void => {
    setError(undefined);
    api.call('removeModel', { id }).catch((e: unknown) => setError(StudioError.from(e)));
  };
  const setHidden = (id: string, hidden: boolean): void => {
    setError(undefined);
    api.call('setModelHidden', { id, hidden }).catch((e: unknown) => setError(StudioError.from(e)));
  };
  const [note, setNote] = useState<string>();
  const addClasses = (model: string): void => {
    setError(undefined);
    api.call('addClassesFromModel', { model }).then(
      (list) => setNote(`The project's classes now include ${list.map((c) => `"${c.name}"`).join(', ')}.`),
      (e: unknown) => setError(StudioError.from(e)),
    );
  };
  const rows = models.data ?? [];
  return (
    <Stack gap="xs">
      <Title order={4}>Installed models</Title>
      <ErrorText error={error ?? models.error} />
      {note && (
        <Text size="sm" data-testid="models-note">
          {note}
        </Text>
      )}
      {rows.length === 0 ? (
        <Text c="dimmed" size="sm" data-testid="no-models">
          No models installed yet: download one from the catalog, or import a TensorFlow.js folder or a Keras file.
        </Text>
      ) : (
        <Table fz="sm" withTableBorder data-testid="installed-models">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Model</Table.Th>
              <Table.Th>Size</Table.Th>
              <Table.Th>Parameters</Table.Th>
              <Table.Th>Input</Table.Th>
              <Table.Th>Preprocessing</Table.Th>
              <Table.Th>From</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((m) => (
              <Table.Tr key={m.id} data-testid={`installed-${m.id}`} data-hidden={m.hidden === true} style={m.hidden ? { opacity: 0.55 } : undefined}>
                <Table.Td>
                  <Group gap={6}>
                    <Text size="sm" fw={500}>
                      {m.name}
                    </Text>
                    {m.source === 'built-in' && (
                      <Badge size="xs" variant="light" data-testid={`builtin-${m.id}`}>
                        built-in
                      </Badge>
                    )}
                    {m.hidden && (
                      <Badge size="xs" variant="light" color="gray">
                        hidden
                      </Badge>
                    )}
                  </Group>
                  <Text size="xs" c="dimmed">
                    {m.id} · {m.format ?? 'tfjs'}
                    {m.architecture ? ` · ${m.architecture}` : ''}
                  </Text>
                  {m.teachable && (
                    <Stack gap={2} mt={4} data-testid={`teachable-${m.id}`}>
                      <Badge size="xs" variant="light" color="grape">
                        Teachable Machine {m.teachable.version}
                      </Badge>
                      <Text size="xs" c="dimmed">
                        Its head was trained on {m.teachable.labels.length} classes of its own: {m.teachable.labels.join(', ')}. Features default to the base's out_relu.
                      </Text>
                      <Button size="compact-xs" variant="light" onClick={() => addClasses(m.id)} data-testid={`classes-from-${m.id}`}>
                        Add these classes to the project
                      </Button>
                    </Stack>
                  )}
                </Table.Td>
                <Table.Td>{formatBytes(m.weightBytes)}</Table.Td>
                <Table.Td>{formatParams(m.params)}</Table.Td>
                <Table.Td>{m.inputSize ? `${m.inputSize}×${m.inputSize}` : '?'}</Table.Td>
                <Table.Td>{describePreprocessing(m.preprocessing)}</Table.Td>
                <Table.Td>
                  <Text size="xs" style={{ wordBreak: 'break-all' }}>
                    {m.source === 'catalog' ? 'catalog: ' : m.source === 'built-in' ? 'built in, offline: ' : 'imported: '}
                    {m.origin}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="compact-xs" variant="subtle" onClick={() => setHidden(m.id, !m.hidden)} data-testid={`${m.hidden ? 'show' : 'hide'}-${m.id}`}>
                      {m.hidden ? 'Show' : 'Hide'}
                    </Button>
                    {m.source !== 'built-in' && (
                      <Button size="compact-xs" variant="subtle" color="red" onClick={() => remove(m.id)} data-testid={`delete-${m.id}`}>
                        Delete
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function ImportFromDisk() {
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<StudioError>();
  const [note, setNote] = useState<string>();
  const [over, setOver] = useState(false);

  const importPaths = async (paths: string[]): Promise<void> => {
    setBusy(true);
    setError(undefined);
    setNote(undefined);
    try {
      const done: string[] = [];
      for (const p of paths) done.push((await api.call('importModel', { dir: p })).id);
      setNote(`Installed ${done.join(', ')}.`);
      setPath('');
    } catch (e) {
      setError(StudioError.from(e));
    } finally {
      setBusy(false);
    }
  };

  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setOver(false);
    const pathFor = window.studio?.pathForFile;
    const files = [...e.dataTransfer.files];
    if (!pathFor) {
      setNote('This browser does not tell the studio where a dropped file is: type its path below.');
      return;
    }
    void importPaths(files.map((f) => pathFor(f)).filter((p) => p !== ''));
  };

  return (
    <Paper
      withBorder
      p="sm"
      data-testid="model-drop"
      data-dragging={over}
      bg={over ? 'var(--mantine-color-blue-light)' : undefined}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <Stack gap="xs">
        <Title order={5}>Import from disk</Title>
        <Text size="sm" c="dimmed">
          Drop a TensorFlow.js model folder or a Keras file here (.h5 saved with model.save, .keras, or the weights-only .h5 of VGG16, ResNet50, MobileNetV2 or EfficientNetB0), or type its path.
        </Text>
        <Group align="flex-end" wrap="nowrap">
          <TextInput style={{ flex: 1 }} label="Path" placeholder="/path/to/model.h5 or a model folder" value={path} onChange={(e) => setPath(e.currentTarget.value)} data-testid="model-path" />
          <Button onClick={() => void importPaths([path.trim()])} disabled={busy || path.trim() === ''} loading={busy} data-testid="model-import">
            Import
          </Button>
        </Group>
        <ErrorText error={error} />
        {note && (
          <Text size="sm" data-testid="import-note">
            {note}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}

function CatalogRow({ c, job, onDownload, onCancel }: { c: CatalogModelInfo; job: JobInfo | undefined; onDownload: () => void; onCancel: () => void }) {
  const running = job && (job.state === 'running' || job.state === 'queued');
  return (
    <Table.Tr data-testid={`catalog-${c.id}`}>
      <Table.Td>
        <Text size="sm" fw={500}>
          {c.name}
        </Text>
        <Text size="xs" c="dimmed">
          {c.publisher} · {c.licence}
        </Text>
      </Table.Td>
      <Table.Td>{formatParams(c.params)}</Table.Td>
      <Table.Td>{formatBytes(c.sizeBytes, c.sizeExact)}</Table.Td>
      <Table.Td>{`${c.inputSize}×${c.inputSize}`}</Table.Td>
      <Table.Td>{describePreprocessing(c.preprocessing)}</Table.Td>
      <Table.Td>{c.top1 === null ? '?' : `${(c.top1 * 100).toFixed(1)}%`}</Table.Td>
      <Table.Td>
        <Text size="xs">{describeCheck(c)}</Text>
      </Table.Td>
      <Table.Td style={{ minWidth: 160 }}>
        {c.installed ? (
          <Badge color="green" variant="light">
            installed
          </Badge>
        ) : running ? (
          <Group gap={4} wrap="nowrap">
            <Progress value={percent(job)} style={{ flex: 1 }} aria-label={`Download ${c.name}`} data-testid={`download-progress-${c.id}`} animated={job.progress.total === 0} />
            <Button size="compact-xs" variant="subtle" color="red" onClick={onCancel} data-testid={`download-cancel-${c.id}`}>
              Cancel
            </Button>
          </Group>
        ) : (
          <Stack gap={2}>
            <Button size="compact-xs" onClick={onDownload} data-testid={`download-${c.id}`}>
              Download
            </Button>
            {job?.state === 'failed' && (
              <Text size="xs" c="red" data-testid={`download-error-${c.id}`}>
                {job.error?.message}
              </Text>
            )}
            {job?.state === 'cancelled' && (
              <Text size="xs" c="dimmed">
                Cancelled.
              </Text>
            )}
          </Stack>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

function Catalog() {
  const catalog = useQuery('listCatalog', {}, ['models']);
  // The download job of each catalog entry started here, followed through job events.
  const [jobs, setJobs] = useState<Record<string, JobInfo>>({});
  const [error, setError] = useState<StudioError>();
  const follow = (j: JobInfo): void => setJobs((cur) => {
    const entry = Object.entries(cur).find(([, job]) => job.id === j.id);
    return entry ? { ...cur, [entry[0]]: j } : cur;
  });
  useEvent('job.progress', follow);
  useEvent('job.finished', follow);
  const download = (id: string): void => {
    setError(undefined);
    api.call('downloadModel', { id }).then(
      (job) => setJobs((cur) => ({ ...cur, [id]: job })),
      (e: unknown) => setError(StudioError.from(e)),
    );
  };
  const cancel = (job: JobInfo | undefined): void => {
    if (job) api.call('cancelJob', { id: job.id }).catch(() => undefined); // already over: its job.finished says how
  };
  return (
    <Stack gap="xs">
      <Title order={4}>Catalog</Title>
      <Text size="sm" c="dimmed">
        Pretrained ImageNet networks, downloaded from the address their publisher (Keras, TensorFlow.js) uses and checked before they are installed.
      </Text>
      <ErrorText error={error ?? catalog.error} />
      <Table fz="sm" withTableBorder data-testid="catalog">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Model</Table.Th>
            <Table.Th>Parameters</Table.Th>
            <Table.Th>Download</Table.Th>
            <Table.Th>Input</Table.Th>
            <Table.Th>Preprocessing</Table.Th>
            <Table.Th>ImageNet top-1</Table.Th>
            <Table.Th>Checked against</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(catalog.data ?? []).map((c) => (
            <CatalogRow key={c.id} c={c} job={jobs[c.id]} onDownload={() => download(c.id)} onCancel={() => cancel(jobs[c.id])} />
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

export function ModelsScreen() {
  return (
    <Stack gap="lg" data-testid="models-screen">
      <Installed />
      <ImportFromDisk />
      <Catalog />
    </Stack>
  );
}
