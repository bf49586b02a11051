/**
 * "Predict test set": the run's model (or each member of an ensemble) on every test image, with
 * test-time augmentation if asked, as a job with progress and Cancel.
 */
import { useEffect, useState } from 'react';
import { Button, Checkbox, Group, Stack, Text } from '@mantine/core';
import { isJobOf } from '../../../shared/api';
import type { PredictionSource, RunSummary } from '../../../shared/domain';
import { TTA_VIEWS, viewsText } from '../../../shared/tta';
import { api } from '../../api/client';
import { JobStatus } from '../../components/JobStatus';
import { useJob } from '../../components/useJob';

export function PredictPanel({ run, source, testTotal }: { run: RunSummary | undefined; source: PredictionSource | undefined; testTotal: number }) {
  const handle = useJob('predict');
  const [tta, setTta] = useState(false);
  const ensemble = source && 'runs' in source ? source.runs : null;
  const { adopt } = handle;
  // A prediction already running (started before the screen opened) shows here too.
  useEffect(() => {
    api.call('listJobs', {}).then(
      (jobs) => {
        const running = jobs.filter((j) => j.state === 'running' || j.state === 'queued').find((j) => isJobOf(j, 'predict'));
        if (running) adopt(running);
      },
      () => undefined,
    );
  }, [adopt]);
  const busy = handle.starting || handle.job?.state === 'running' || handle.job?.state === 'queued';
  const result = handle.job?.result;
  const canPredict = (ensemble !== null || run?.state === 'succeeded') && testTotal > 0;
  return (
    <Stack gap="xs">
      <Group gap="sm">
        <Button
          size="xs"
          disabled={!canPredict || busy}
          loading={handle.starting}
          onClick={() => source && void handle.start(() => api.call('predictImages', { ...source, splits: ['test'], tta }))}
          data-testid="predict-test"
        >
          Predict test set
        </Button>
        <Checkbox
          size="xs"
          label={`Test-time augmentation (${TTA_VIEWS.length} views: ${TTA_VIEWS.join(', ')})`}
          checked={tta}
          onChange={(e) => setTta(e.currentTarget.checked)}
          data-testid="predict-tta"
        />
        <Text size="xs" c="dimmed">
          {testTotal === 0
            ? 'Import the test set first (Gallery → Import… → Test set).'
            : ensemble
              ? `Each of runs ${ensemble.join(', ')} predicts the ${testTotal} test image${testTotal === 1 ? '' : 's'} and the validation images (for the comparison above); the ensemble averages them.`
              : `Predicts the ${testTotal} test image${testTotal === 1 ? '' : 's'} with run ${run?.id ?? '…'}'s model (a run predicts them once when it finishes; predict again after importing more).`}
        </Text>
      </Group>
      <JobStatus handle={handle} label="Prediction" testId="predict-job" cancelledText="Prediction cancelled: images it had finished keep their new predictions, the others their earlier ones.">
        {result && (
          <Text size="sm" c="green" data-testid="predict-result">
            {result.predicted} test image{result.predicted === 1 ? '' : 's'} predicted{result.runs ? ` by each of runs ${result.runs.join(', ')}` : ''}{result.views.length > 1 ? `, ${viewsText(result.views)}` : ''}
            {result.failed.length > 0 ? `; ${result.failed.length} could not be read (first: ${result.failed[0]})` : ''}.
          </Text>
        )}
      </JobStatus>
    </Stack>
  );
}
