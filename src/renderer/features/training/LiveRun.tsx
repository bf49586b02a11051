/**
 * One run as it trains: phase and progress (epoch, batch, images/s, ETA), loss and accuracy
 * curves, the validation confusion matrix of the latest epoch, the backend, Cancel, and Resume
 * (a cancelled or failed run of scenarios 2-4 continues from its last checkpoint).
 * Seeded from getRun, then kept live by run events (see live.ts), so coming back shows it all.
 */
import { useEffect, useState } from 'react';
import { Badge, Button, Card, Code, Group, Progress, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ConfusionHeatmap } from '../../components/ConfusionHeatmap';
import { Curves } from '../../components/Curves';
import { ErrorText } from '../../components/ErrorText';
import { seedRun, useLiveRun } from './live';
import { accSeries, formatDuration, formatEta, lossSeries } from '../../components/run-charts';
import { SCENARIOS, STATE_COLOR, backendLabel } from '../../components/runs';

export function LiveRun({ runId, onEvaluate }: { runId: number; onEvaluate?: (runId: number) => void }) {
  const q = useQuery('getRun', { id: runId }, ['runs']);
  const run = q.data;
  const live = useLiveRun(runId);
  const [resumeError, setResumeError] = useState<StudioError | undefined>(undefined);
  useEffect(() => {
    if (run) seedRun(run);
  }, [run]);
  const engine = useQuery('engineInfo', {}, [], !!run && !run.backend && run.state === 'running');
  if (!run) return <ErrorText error={q.error} />;

  const p = live?.progress ?? null;
  const running = run.state === 'running';
  const metrics = live && live.metrics.length >= run.metrics.length ? live.metrics : run.metrics;
  const confusion = (running ? live?.confusion : null) ?? run.confusion ?? live?.confusion ?? null;
  const pct = p && p.total > 0 ? (100 * p.done) / p.total : 0;
  const phaseText = !running
    ? run.state
    : !p
      ? 'starting…'
      : p.phase === 'queued'
        ? 'queued: waits for the runs before it'
        : p.phase === 'upload'
          ? 'sending images and the model to the server'
          : p.phase === 'extract'
          ? 'extracting features'
          : p.phase === 'predict'
            ? 'predicting validation and unlabelled images'
            : 'training';
  const epochs = p?.epochs ?? run.config.epochs;
  // Scenario 1 records what ran the head's steps (ONNX Runtime, or the TensorFlow.js fallback).
  const headKind = typeof run.result?.['headKind'] === 'string' ? run.result['headKind'] : null;
  return (
    <Stack gap="sm" data-testid="live-run" data-run-id={runId} data-state={run.state}>
      <Group justify="space-between">
        <Group gap="xs">
          <Title order={4}>Run {run.id}</Title>
          <Badge color={STATE_COLOR[run.state]} data-testid="run-state">
            {run.state}
          </Badge>
          <Text size="sm" c="dimmed">
            {SCENARIOS[run.scenario].title} · {run.model} · {formatDuration(run.startedAt, run.finishedAt)}
          </Text>
        </Group>
        <Group gap="xs">
          {running && run.jobId && (
            <Button color="red" variant="light" size="xs" onClick={() => void api.call('cancelJob', { id: run.jobId! }).catch(() => undefined)} data-testid="cancel-run">
              Cancel
            </Button>
          )}
          {(run.state === 'cancelled' || run.state === 'failed') && run.scenario !== 1 && (
            <Button
              size="xs"
              variant="light"
              title="Continue from the checkpoint of the last finished epoch"
              onClick={() => {
                setResumeError(undefined);
                void api.call('resumeRun', { id: run.id }).catch((e: unknown) => setResumeError(StudioError.from(e)));
              }}
              data-testid="resume-run"
            >
              Resume
            </Button>
          )}
          {!running && onEvaluate && (
            <Button size="xs" variant="light" onClick={() => onEvaluate(run.id)} data-testid="evaluate-run">
              Evaluate
            </Button>
          )}
        </Group>
      </Group>
      <ErrorText error={resumeError} />
      <Text size="xs" c="dimmed" data-testid="run-backend">
        Backend: {run.backend ?? engine.data ? backendLabel(run.backend ?? engine.data) : running ? 'being chosen by the engine…' : 'unknown'}
        {headKind && ` · head: ${headKind}`}
      </Text>
      {running && (
        <Card withBorder padding="xs" data-testid="run-progress" data-phase={p?.phase ?? ''}>
          <Group justify="space-between" mb={4}>
            <Text size="sm" fw={600}>
              {phaseText}
            </Text>
            <Text size="xs" c="dimmed" style={{ fontVariantNumeric: 'tabular-nums' }} data-testid="progress-text">
              {p?.epoch !== undefined ? `epoch ${p.epoch}/${epochs}` : ''}
              {p?.batch !== undefined && p.batches ? ` · batch ${p.batch}/${p.batches}` : ''}
              {p?.imagesPerSec ? ` · ${p.imagesPerSec.toFixed(1)} images/s` : ''}
              {p?.loss !== undefined ? ` · loss ${p.loss.toFixed(3)}` : ''}
              {` · ETA ${formatEta(p?.etaSeconds)}`}
            </Text>
          </Group>
          <Progress value={pct} animated={p?.phase !== 'queued'} aria-label="Training progress" />
        </Card>
      )}
      {run.error && run.state !== 'succeeded' && (
        <Text size="sm" c={run.state === 'failed' ? 'red' : 'dimmed'} data-testid="run-error">
          {run.error}
        </Text>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="sm">
        <Curves title="Loss" series={lossSeries(metrics, live?.batchLoss ?? [])} xMin={0} xMax={Math.max(epochs, 1)} yMin={0} testId="loss-curves" />
        <Curves title="Accuracy" series={accSeries(metrics)} xMin={0} xMax={Math.max(epochs, 1)} yMin={0} yMax={1} formatY={(v) => `${Math.round(100 * v)}%`} testId="acc-curves" />
      </SimpleGrid>
      <Stack gap={4}>
        <Text size="sm" fw={600}>
          Validation confusion matrix {confusion ? `(epoch ${confusion.epoch})` : ''}
        </Text>
        {confusion && confusion.matrix.length > 0 ? (
          <ConfusionHeatmap classNames={confusion.classNames} matrix={confusion.matrix} testId="live-confusion" />
        ) : (
          <Text size="sm" c="dimmed">
            Appears after the first epoch.
          </Text>
        )}
      </Stack>
      {live && live.logs.length > 0 && (
        <Code block style={{ maxHeight: 120, overflow: 'auto', fontSize: 11 }} data-testid="run-log">
          {live.logs.slice(-20).join('\n')}
        </Code>
      )}
    </Stack>
  );
}
