/**
 * The Sweep form: comma lists per grid field, folds, and where it runs (this machine, or Slurm with
 * its fields). "Plan" shows the runs with their rough time; "Start sweep" starts them.
 */
import { useState } from 'react';
import { Button, Group, SegmentedControl, SimpleGrid, Stack, TextInput } from '@mantine/core';
import type { SweepField, SweepPlan, SweepRequestInput } from '../../../../shared/domain';
import { StudioError } from '../../../../shared/errors';
import { api } from '../../../api/client';
import { useQuery } from '../../../api/hooks';
import { ErrorText } from '../../../components/ErrorText';
import { EMPTY_FORM, sweepRequestOf, type SweepFormValues } from './sweep-form';
import { SweepPlanList } from './SweepPlanList';

const FIELDS: { field: SweepField; label: string; placeholder: string }[] = [
  { field: 'scenario', label: 'Scenarios', placeholder: '1, 2' },
  { field: 'model', label: 'Models', placeholder: 'the default model' },
  { field: 'cutLayer', label: 'Cut layers', placeholder: "the model's feature layer" },
  { field: 'freezeTo', label: 'Freeze to (scenario 2)', placeholder: "the advisor's boundary" },
  { field: 'lr', label: 'Learning rates', placeholder: '0.001, 0.0003' },
  { field: 'headSize', label: 'Head sizes (0: linear)', placeholder: '128' },
  { field: 'augment', label: 'Augmentation', placeholder: 'on, off' },
  { field: 'seed', label: 'Seeds', placeholder: '1, 2, 3' },
  { field: 'epochs', label: 'Epochs', placeholder: "the scenario's" },
  { field: 'batchSize', label: 'Batch', placeholder: '32' },
];

export function SweepForm({ onStarted }: { onStarted: (sweepId: number) => void }) {
  const [form, setForm] = useState<SweepFormValues>(EMPTY_FORM);
  const [plan, setPlan] = useState<SweepPlan | null>(null);
  const [error, setError] = useState<StudioError | undefined>();
  const [busy, setBusy] = useState(false);
  const models = useQuery('listModels', {}, ['models']).data ?? [];
  const defaultModel = models.find((m) => !m.hidden)?.id;
  const edit = (f: (v: SweepFormValues) => SweepFormValues): void => {
    setForm(f);
    setPlan(null);
  };
  const act = async (what: (req: SweepRequestInput) => Promise<void>): Promise<void> => {
    setError(undefined);
    setBusy(true);
    try {
      await what(sweepRequestOf(form, defaultModel));
    } catch (err) {
      setError(StudioError.from(err));
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (name: string): string | undefined => (error?.field === name ? error.message : undefined);
  return (
    <Stack gap="sm" data-testid="sweep-form">
      <SimpleGrid cols={{ base: 2, md: 5 }} spacing="xs">
        {FIELDS.map(({ field, label, placeholder }) => (
          <TextInput
            key={field}
            size="xs"
            label={label}
            placeholder={placeholder}
            value={form.grid[field] ?? ''}
            error={fieldError(field)}
            onChange={(e) => {
              const value = e.currentTarget.value;
              edit((v) => ({ ...v, grid: { ...v.grid, [field]: value } }));
            }}
            data-testid={`sweep-${field}`}
          />
        ))}
      </SimpleGrid>
      <Group align="flex-end" gap="sm">
        <TextInput size="xs" w={120} label="Folds (k-fold)" placeholder="none" value={form.folds} error={fieldError('folds')} onChange={(e) => {
          const folds = e.currentTarget.value;
          edit((v) => ({ ...v, folds }));
        }} data-testid="sweep-folds" />
        <SegmentedControl
          size="xs"
          value={form.on}
          onChange={(on) => edit((v) => ({ ...v, on: on as SweepFormValues['on'] }))}
          data={[
            { value: 'local', label: 'This machine' },
            { value: 'slurm', label: 'Slurm cluster' },
          ]}
          data-testid="sweep-on"
        />
        {form.on === 'slurm' &&
          (['partition', 'gres', 'time', 'workdir', 'login'] as const).map((k) => (
            <TextInput key={k} size="xs" w={k === 'workdir' || k === 'login' ? 220 : 110} label={k === 'gres' ? 'GRES' : k === 'login' ? 'Login node (if no Slurm here)' : k[0]!.toUpperCase() + k.slice(1)} placeholder={k === 'gres' ? 'gpu:1' : k === 'time' ? '02:00:00' : k === 'login' ? 'ssh://user@login/path/to/transfer-studio' : ''} value={form.slurm[k] ?? ''} error={fieldError(`slurm.${k}`)} onChange={(e) => {
              const value = e.currentTarget.value;
              edit((v) => ({ ...v, slurm: { ...v.slurm, [k]: value } }));
            }} data-testid={`sweep-slurm-${k}`} />
          ))}
      </Group>
      <Group gap="xs">
        <Button size="xs" variant="default" loading={busy} onClick={() => void act(async (req) => setPlan(await api.call('planSweep', req)))} data-testid="sweep-plan">
          Plan
        </Button>
        <Button
          size="xs"
          disabled={!plan}
          loading={busy}
          onClick={() =>
            void act(async (req) => {
              const started = await api.call('startSweep', req);
              setPlan(null);
              onStarted(started.sweepId);
            })
          }
          data-testid="sweep-start"
        >
          Start sweep
        </Button>
      </Group>
      {error && !FIELDS.some((f) => f.field === error.field) && error.field !== 'folds' && !error.field?.startsWith('slurm.') && <ErrorText error={error} />}
      {plan && <SweepPlanList plan={plan} />}
    </Stack>
  );
}
