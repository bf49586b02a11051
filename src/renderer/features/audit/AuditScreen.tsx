/**
 * The Audit screen: what is wrong with the data. The audit job (K-fold out-of-sample head
 * probabilities on the cached features, confident learning, near-duplicate clusters) with
 * progress and cancel; then its likely label errors, near-duplicates and leaks, the embedding
 * map, and the label-next queue, each in a tab; the results as a CSV. Every change made here
 * goes into the one undo history (Ctrl+Z / Ctrl+Shift+Z, or the buttons).
 */
import { useEffect, useState } from 'react';
import { ActionIcon, Alert, Button, Checkbox, Group, NumberInput, Select, Stack, Tabs, Text, TextInput, Tooltip } from '@mantine/core';
import { isJobOf, type JobInfo, type JobKind } from '../../../shared/api';
import { DEFAULT_AUDIT_FOLDS, type AuditSummary, type ProjectCounts } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { JobStatus } from '../../components/JobStatus';
import { bindImageSelection } from '../../components/image-selection';
import { bindLabelHistory, redoLabels, undoLabels, useLabelHistory, useUndoRedoKeys } from '../../components/labels';
import { joinPath } from '../../components/paths';
import { useJob, type JobHandle } from '../../components/useJob';
import { Duplicates } from './Duplicates';
import { LabelIssues } from './LabelIssues';
import { LabelNext } from './LabelNext';
import { MapPanel } from './map/MapPanel';
import { DEFAULT_SOURCE, parseSource, sourceOptions } from './source';

type Tab = 'errors' | 'duplicates' | 'map' | 'next';
let lastTab: Tab = 'errors';

/** Follows jobs of these kinds that were already running when the screen opened (started here before, or from the CLI). */
function useAdoptRunning(handles: { [K in JobKind]?: JobHandle<K> }): void {
  useEffect(() => {
    api.call('listJobs', {}).then(
      (jobs) => {
        for (const j of jobs) {
          if (j.state !== 'running' && j.state !== 'queued') continue;
          for (const kind of Object.keys(handles) as JobKind[]) if (isJobOf(j, kind)) (handles[kind] as JobHandle | undefined)?.adopt(j as JobInfo);
        }
      },
      () => undefined,
    );
    // Once, when the screen opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
}

const ago = (iso: string): string => {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? 'just now' : s < 5400 ? `${Math.round(s / 60)} min ago` : s < 129600 ? `${Math.round(s / 3600)} h ago` : new Date(iso).toLocaleDateString();
};

function Summary({ s }: { s: AuditSummary }) {
  const source = s.source.runId !== null ? `run ${s.source.runId} (${s.source.model} at ${s.source.cutLayer})` : `${s.source.model} at ${s.source.cutLayer}`;
  return (
    <Stack gap={2} data-testid="audit-summary" data-audit-id={s.id} data-open={s.openIssues} data-leaks={s.leaks}>
      <Text size="sm">
        Audited {ago(s.createdAt)}: {s.scored} labelled images scored out of sample ({s.folds} folds, features of {source}) in {(s.durations.totalMs / 1000).toFixed(1)} s;{' '}
        <b>{s.openIssues}</b> likely label error{s.openIssues === 1 ? '' : 's'} open of {s.flagged} flagged; {s.clusters} near-duplicate cluster{s.clusters === 1 ? '' : 's'}
        {s.leaks > 0 ? (
          <Text span c="red" fw={600}>
            {' '}
            ({s.leaks} across splits)
          </Text>
        ) : null}
        {s.conflicts > 0 ? ` (${s.conflicts} with disagreeing labels)` : ''}.
      </Text>
      {(s.imagesSince > 0 || s.skippedCount > 0) && (
        <Text size="xs" c="orange">
          {s.imagesSince > 0 ? `${s.imagesSince} image${s.imagesSince === 1 ? ' was' : 's were'} imported since: audit again to include them. ` : ''}
          {s.skippedCount > 0 ? `${s.skippedCount} image${s.skippedCount === 1 ? '' : 's'} could not be read (${s.skipped.slice(0, 3).join(', ')}${s.skippedCount > 3 ? ', …' : ''}).` : ''}
        </Text>
      )}
    </Stack>
  );
}

function AuditExport({ projectDir }: { projectDir: string }) {
  const handle = useJob('export');
  const [out, setOut] = useState(() => joinPath(projectDir, 'audit.csv'));
  const [overwrite, setOverwrite] = useState(false);
  const busy = handle.starting || handle.job?.state === 'running' || handle.job?.state === 'queued';
  const result = handle.job?.result;
  return (
    <Stack gap={4} data-testid="audit-export">
      <Group gap="xs" align="flex-end">
        <TextInput size="xs" w={360} label="Audit results as CSV" value={out} onChange={(e) => setOut(e.currentTarget.value)} data-testid="audit-export-path" />
        <Checkbox size="xs" label="Replace an existing file" checked={overwrite} onChange={(e) => setOverwrite(e.currentTarget.checked)} data-testid="audit-export-overwrite" />
        <Button size="xs" variant="default" loading={busy} onClick={() => void handle.start(() => api.call('exportData', { kind: 'audit', out: out.trim(), overwrite }))} data-testid="audit-export-start">
          Export CSV
        </Button>
      </Group>
      <JobStatus handle={handle} label="Audit export" testId="audit-export-job" cancelledText="Export cancelled; nothing was written.">
        {result && (
          <Text size="xs" c="green" data-testid="audit-export-result" data-rows={result.rows}>
            {result.rows} row{result.rows === 1 ? '' : 's'} written to {result.files.join(', ')} (image, given, suggested, score, reason)
          </Text>
        )}
      </JobStatus>
    </Stack>
  );
}

export function AuditScreen({ counts, projectDir, onOpenGallery }: { counts: ProjectCounts; projectDir: string; onOpenGallery: () => void }) {
  bindLabelHistory(projectDir);
  bindImageSelection(projectDir);
  const [tab, setTab] = useState<Tab>(lastTab);
  const [sourceValue, setSourceValue] = useState(DEFAULT_SOURCE);
  const [folds, setFolds] = useState(DEFAULT_AUDIT_FOLDS);
  const [undoError, setUndoError] = useState<StudioError>();
  const [undoNotice, setUndoNotice] = useState('');
  const history = useLabelHistory();
  useUndoRedoKeys((e) => {
    setUndoError(e);
    setUndoNotice(e ? '' : 'Done');
  });

  const audit = useJob('audit');
  const map = useJob('map');
  const next = useJob('label-next');
  useAdoptRunning({ audit, map, 'label-next': next });

  const summary = useQuery('auditSummary', {}, ['audit', 'images', 'classes']);
  const runs = useQuery('listRuns', {}, ['runs']);
  const models = useQuery('listModels', {}, ['models']);
  const source = parseSource(sourceValue);
  const classes = counts.byClass;
  const s = summary.data;
  const auditing = audit.starting || audit.job?.state === 'running' || audit.job?.state === 'queued';

  const startAudit = (): void => {
    void audit.start(() => api.call('startAudit', { ...source, folds }));
  };
  const undoRedo = (redo: boolean): void => {
    (redo ? redoLabels() : undoLabels()).then(
      (ok) => {
        setUndoError(undefined);
        setUndoNotice(ok ? (redo ? 'Redone' : 'Undone') : redo ? 'Nothing to redo' : 'Nothing to undo');
      },
      (err: unknown) => setUndoError(StudioError.from(err)),
    );
  };

  return (
    <Stack gap="sm" data-testid="audit-screen">
      <Group gap="sm" align="flex-end" justify="space-between">
        <Group gap="sm" align="flex-end">
          <Select
            size="xs"
            w={230}
            label="Features from"
            value={sourceValue}
            onChange={(v) => setSourceValue(v ?? DEFAULT_SOURCE)}
            data={sourceOptions(runs.data ?? [], models.data ?? [])}
            allowDeselect={false}
            data-testid="audit-source"
          />
          <NumberInput size="xs" w={90} label="Folds" min={2} max={20} value={folds} onChange={(v) => setFolds(typeof v === 'number' ? v : DEFAULT_AUDIT_FOLDS)} data-testid="audit-folds" />
          <Button size="xs" onClick={startAudit} loading={audit.starting} disabled={auditing} data-testid="audit-start">
            {s ? 'Audit again' : 'Run the audit'}
          </Button>
        </Group>
        <Group gap="xs">
          {undoNotice && (
            <Text size="xs" c="dimmed" data-testid="audit-undo-notice">
              {undoNotice}
            </Text>
          )}
          <Tooltip label="Undo (Ctrl+Z): labels, confirmations, split moves, kept duplicates">
            <ActionIcon variant="default" aria-label="Undo" disabled={history.undo.length === 0} onClick={() => undoRedo(false)} data-testid="audit-undo">
              ↶
            </ActionIcon>
          </Tooltip>
          <Tooltip label="Redo (Ctrl+Shift+Z)">
            <ActionIcon variant="default" aria-label="Redo" disabled={history.redo.length === 0} onClick={() => undoRedo(true)} data-testid="audit-redo">
              ↷
            </ActionIcon>
          </Tooltip>
        </Group>
      </Group>
      <JobStatus handle={audit} label="Audit" testId="audit-job" cancelledText="Audit cancelled; the previous audit, if any, is kept." />
      <ErrorText error={undoError ?? summary.error} />
      {s ? (
        <Summary s={s} />
      ) : (
        summary.data === null &&
        !auditing && (
          <Alert color="gray" variant="light" data-testid="audit-none">
            No audit yet. The audit trains the head K times on the cached features, each time scoring the images it did not see, and ranks the labels that look wrong (confident learning); it also finds near-duplicate images and the ones that cross train, validation and test.
          </Alert>
        )
      )}
      <Tabs
        value={tab}
        onChange={(v) => {
          const t = (v ?? 'errors') as Tab;
          lastTab = t;
          setTab(t);
        }}
        keepMounted={false}
      >
        <Tabs.List>
          <Tabs.Tab value="errors" data-testid="tab-errors">
            Likely label errors{s ? ` (${s.openIssues})` : ''}
          </Tabs.Tab>
          <Tabs.Tab value="duplicates" data-testid="tab-duplicates" c={s && s.leaks > 0 ? 'red' : undefined}>
            Near-duplicates and leaks{s ? ` (${s.clusters})` : ''}
          </Tabs.Tab>
          <Tabs.Tab value="map" data-testid="tab-map">
            Embedding map
          </Tabs.Tab>
          <Tabs.Tab value="next" data-testid="tab-next">
            Label next
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="errors" pt="sm">
          {s ? <LabelIssues summary={s} classes={classes} /> : <Text c="dimmed" size="sm">Run the audit to see likely label errors.</Text>}
        </Tabs.Panel>
        <Tabs.Panel value="duplicates" pt="sm">
          {s ? <Duplicates classes={classes} leaks={s.leaks} conflicts={s.conflicts} clusters={s.clusters} /> : <Text c="dimmed" size="sm">Run the audit to find near-duplicates and leaks.</Text>}
        </Tabs.Panel>
        <Tabs.Panel value="map" pt="sm" h="calc(100dvh - 330px)">
          <MapPanel classes={classes} handle={map} source={source} onOpenGallery={onOpenGallery} />
        </Tabs.Panel>
        <Tabs.Panel value="next" pt="sm">
          <LabelNext classes={classes} handle={next} source={source} />
        </Tabs.Panel>
      </Tabs>
      {s && <AuditExport projectDir={projectDir} />}
    </Stack>
  );
}
