/**
 * Export actions: pick what to write (the kinds the contract offers), type where (browser mode
 * cannot pick folders), set the competition's column names or template for test-set CSVs, and
 * run it as a job; the written path and what went into it show when it is done.
 */
import { useState } from 'react';
import { Button, Checkbox, Code, Group, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import type { ExportKind, ExportResult } from '../../../shared/api';
import type { RunSummary } from '../../../shared/domain';
import { api } from '../../api/client';
import { JobStatus } from '../../components/JobStatus';
import { buildExportRequest, defaultOut, describeResult, exportKinds, kindInfo } from './export-logic';
import { useJob } from '../../components/useJob';

function ExportDone({ result }: { result: ExportResult }) {
  return (
    <Stack gap={2} data-testid="export-result" data-kind={result.kind} data-rows={result.rows}>
      <Text size="sm" c="green" fw={600}>
        Written:
      </Text>
      {result.files.map((f) => (
        <Code key={f} data-testid="export-path">
          {f}
        </Code>
      ))}
      {describeResult(result).map((line) => (
        <Text key={line} size="xs" data-testid="export-fact">
          {line}
        </Text>
      ))}
    </Stack>
  );
}

/** `ensemble`: the runs whose averaged probabilities the test-set CSVs write (a model export still takes `run`). */
export function ExportPanel({ run, ensemble, projectDir }: { run: RunSummary | undefined; ensemble?: number[] | undefined; projectDir: string }) {
  const [kind, setKind] = useState<ExportKind>('submission');
  const [typed, setTyped] = useState<Partial<Record<ExportKind, string>>>({});
  const [idColumn, setIdColumn] = useState('');
  const [labelColumn, setLabelColumn] = useState('');
  const [template, setTemplate] = useState('');
  const [stripExtension, setStripExtension] = useState(false);
  const [overwrite, setOverwrite] = useState(false);
  const handle = useJob('export');
  const info = kindInfo(kind);
  const runId = run?.id ?? null;
  // Each kind suggests its own path (following the run) until the user types one for it.
  const out = typed[kind] ?? defaultOut(projectDir, kind, info.usesRun ? runId : null);
  const busy = handle.starting || handle.job?.state === 'running' || handle.job?.state === 'queued';
  const blocked = info.usesRun && !(ensemble && info.testCsv) && run !== undefined && run.state !== 'succeeded';

  const start = (): void => {
    const req = buildExportRequest({ kind, out, runId, ...(ensemble ? { runs: ensemble } : {}), idColumn, labelColumn, template, stripExtension, overwrite });
    void handle.start(() => api.call('exportData', req));
  };

  const result = handle.job?.result;
  return (
    <Stack gap="sm" data-testid="export-panel">
      <Group gap="md" align="flex-end" wrap="wrap">
        <Select
          size="xs"
          w={260}
          label="What to export"
          data={exportKinds().map((k) => ({ value: k, label: kindInfo(k).label }))}
          value={kind}
          onChange={(v) => v && setKind(v as ExportKind)}
          allowDeselect={false}
          data-testid="export-kind"
        />
        <TextInput
          size="xs"
          style={{ flex: 1, minWidth: 320 }}
          label={info.target === 'folder' ? 'Folder (new or empty)' : 'CSV file'}
          description="Type or paste the full path; the folder it goes in must already exist."
          value={out}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setTyped((t) => ({ ...t, [kind]: v }));
          }}
          onKeyDown={(e) => e.key === 'Enter' && out.trim() && !busy && !blocked && start()}
          data-testid="export-out"
        />
      </Group>
      <Text size="xs" c="dimmed">
        {info.help}
      </Text>
      {info.testCsv && (
        <SimpleGrid cols={{ base: 1, md: 3 }} spacing="sm" data-testid="export-csv-options">
          <TextInput size="xs" label="Id column name" placeholder="filename (or the template's)" value={idColumn} onChange={(e) => setIdColumn(e.currentTarget.value)} data-testid="export-id-column" />
          {info.labelColumn && (
            <TextInput size="xs" label="Label column name" placeholder="label (or the template's)" value={labelColumn} onChange={(e) => setLabelColumn(e.currentTarget.value)} data-testid="export-label-column" />
          )}
          <TextInput
            size="xs"
            label="Template CSV (optional)"
            description="The competition's sample submission: its ids, order and header are followed."
            placeholder="/data/sample_submission.csv"
            value={template}
            onChange={(e) => setTemplate(e.currentTarget.value)}
            data-testid="export-template"
          />
          <Checkbox size="xs" label="Write file names without their extension" checked={stripExtension} onChange={(e) => setStripExtension(e.currentTarget.checked)} data-testid="export-strip" />
        </SimpleGrid>
      )}
      <Group gap="md">
        {info.target === 'file' && <Checkbox size="xs" label="Replace the file if it exists" checked={overwrite} onChange={(e) => setOverwrite(e.currentTarget.checked)} data-testid="export-overwrite" />}
        <Button size="xs" disabled={!out.trim() || busy || blocked} loading={handle.starting} onClick={start} data-testid="export-start">
          Export {info.label.charAt(0).toLowerCase() + info.label.slice(1)}
        </Button>
        {blocked && (
          <Text size="xs" c="red">
            Pick a succeeded run.
          </Text>
        )}
      </Group>
      <JobStatus handle={handle} label="Export" testId="export-job" cancelledText="Export cancelled; nothing was written.">
        {result && <ExportDone result={result} />}
      </JobStatus>
      {handle.job?.error?.code === 'conflict' && !overwrite && (
        <Text size="xs" c="dimmed" data-testid="export-conflict-hint">
          Tick “Replace the file if it exists” to write over it, or change the name.
        </Text>
      )}
    </Stack>
  );
}
