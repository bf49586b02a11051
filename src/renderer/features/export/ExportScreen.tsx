/**
 * The Export screen: choose a run (default: the latest succeeded) or an ensemble of runs, predict
 * the test set with it (with test-time augmentation if asked), review and correct the test
 * predictions, then export the submission, the probabilities, the labelled dataset or the model,
 * each as a job.
 */
import { useState, type ReactNode } from 'react';
import { Card, Stack, Text, Title } from '@mantine/core';
import type { ClassInfo, ProjectCounts } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { useUndoRedoKeys } from '../../components/labels';
import { ExportPanel } from './ExportPanel';
import { EnsemblePanel } from './EnsemblePanel';
import { defaultRun, predictionSource } from './export-logic';
import { PredictPanel } from './PredictPanel';
import { ReviewPanel } from './ReviewPanel';
import { RunPicker } from './RunPicker';
import { useSweepSuggestions } from './sweep-suggestions';

function Section({ title, children, testId }: { title: string; children: ReactNode; testId: string }) {
  return (
    <Card withBorder padding="sm" component="section" aria-label={title} data-testid={testId}>
      <Title order={5} mb="xs">
        {title}
      </Title>
      {children}
    </Card>
  );
}

export function ExportScreen({ counts, projectDir }: { counts: ProjectCounts; projectDir: string }) {
  const runs = useQuery('listRuns', {}, ['runs']);
  const list = runs.data ?? [];
  const [picked, setPicked] = useState<number | null>(null);
  const run = list.find((r) => r.id === picked) ?? defaultRun(list);
  const [ensemble, setEnsemble] = useState<number[]>([]);
  const suggested = useSweepSuggestions();
  const source = predictionSource(run, ensemble);
  const sourceKey = source ? JSON.stringify(source) : '';
  const testTotal = counts.bySplit.test;
  const coverage = useQuery('listPredictions', { ...(source ?? { runId: 1 }), split: 'test', limit: 1 }, ['runs', 'images'], source !== undefined);
  const classes: ClassInfo[] = counts.byClass;
  const [undoError, setUndoError] = useState<StudioError>();
  useUndoRedoKeys(setUndoError);

  if (runs.data && list.length === 0)
    return (
      <Text c="dimmed" data-testid="export-empty">
        No runs yet: train a model on the Train screen, then predict the test set and export here.
      </Text>
    );
  return (
    <Stack gap="md" data-testid="export-screen">
      <ErrorText error={runs.error ?? undoError} />
      <Section title="1. Run" testId="export-section-run">
        <RunPicker runs={list} run={run} onPick={setPicked} testPredicted={run && ensemble.length < 2 ? coverage.data?.total : undefined} testTotal={testTotal} />
        <EnsemblePanel runs={list} picked={ensemble} onPick={setEnsemble} suggested={suggested} />
      </Section>
      <Section title="2. Predict the test set" testId="export-section-predict">
        <PredictPanel key={sourceKey} run={run} source={source} testTotal={testTotal} />
      </Section>
      {run && source && (
        <Section title="3. Review and correct the test predictions" testId="export-section-review">
          <ReviewPanel key={sourceKey} source={source} classNames={run.classNames} classes={classes} testTotal={testTotal} />
        </Section>
      )}
      <Section title="4. Export" testId="export-section-export">
        <ExportPanel run={run} ensemble={ensemble.length >= 2 ? ensemble : undefined} projectDir={projectDir} />
      </Section>
    </Stack>
  );
}
