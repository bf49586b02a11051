/** Step 4: the model, its layers with the scenario's boundary, the head and the training settings. */
import { Alert, Checkbox, Group, NumberInput, Select, SimpleGrid, Stack, Switch, Text, TextInput } from '@mantine/core';
import type { InstalledModelInfo, ModelInspection, ModelPlans, Scenario } from '../../../../shared/domain';
import type { Query } from '../../../api/hooks';
import { ErrorText } from '../../../components/ErrorText';
import type { FormState } from './form';
import { LayerList } from './LayerList';

export function SettingsStep({
  scenario,
  form,
  set,
  errors,
  models,
  model,
  inspection,
  plans,
  boundary,
}: {
  scenario: Scenario;
  form: FormState;
  set: (p: Partial<FormState>) => void;
  errors: Record<string, string>;
  models: Query<InstalledModelInfo[]>;
  /** The model the run will use (the user's choice, else the first installed). */
  model: string;
  inspection: Query<ModelInspection>;
  plans: ModelPlans | null | undefined;
  boundary: string;
}) {
  const e = (k: string): string | undefined => errors[k];
  const layers = inspection.stale || inspection.error ? undefined : inspection.data?.layers;
  return (
    <Stack gap="sm" data-testid="step-settings">
      <Group align="flex-end" gap="sm">
        {models.data && models.data.length > 0 && (
          <Select
            label="Model"
            w={300}
            data={models.data.map((m) => ({ value: m.id, label: `${m.name === m.id ? m.id : `${m.name} (${m.id})`}${m.source === 'built-in' ? ', built-in' : ''}` }))}
            value={model}
            onChange={(v) => v && set({ model: v, cutLayer: '', freezeTo: '' })}
            error={e('model')}
            allowDeselect={false}
            data-testid="model-select"
          />
        )}
        {model && !layers && !inspection.error && <Text size="xs">Reading the model's layers…</Text>}
      </Group>
      {models.data?.length === 0 && (
        <Alert color="yellow" variant="light" title="No model is installed" data-testid="no-models">
          Import a pretrained model folder (transfer-studio models import FOLDER) or download one (transfer-studio models download NAME), then come back.
        </Alert>
      )}
      <ErrorText error={models.error} />
      <ErrorText error={inspection.stale ? undefined : inspection.error} />
      {layers && <LayerList layers={layers} plans={plans} scenario={scenario} boundary={boundary} onPick={(layer) => set(scenario === 2 ? { freezeTo: layer } : { cutLayer: layer })} />}
      {scenario === 2 && plans !== undefined && e('freezeTo') && (
        <Text c="red" size="sm" data-testid="freeze-error">
          {e('freezeTo')}
        </Text>
      )}
      <SimpleGrid cols={{ base: 2, lg: 4 }} spacing="sm">
        <TextInput label="Head: hidden layer sizes" description="comma-separated; empty = none" value={form.hidden} onChange={(ev) => set({ hidden: ev.currentTarget.value })} error={e('head.hidden')} data-testid="field-hidden" />
        <NumberInput label="Dropout" min={0} max={0.9} step={0.05} decimalScale={2} value={form.dropout} onChange={(v) => set({ dropout: v })} error={e('head.dropout')} data-testid="field-dropout" />
        <Select label="Activation" data={['relu', 'elu', 'tanh', 'sigmoid']} value={form.activation} onChange={(v) => v && set({ activation: v as FormState['activation'] })} allowDeselect={false} />
        <Select label="Optimiser" data={[{ value: 'adam', label: 'Adam' }, { value: 'sgd', label: 'SGD (momentum)' }]} value={form.optimizer} onChange={(v) => v && set({ optimizer: v as FormState['optimizer'] })} allowDeselect={false} />
        <NumberInput label="Learning rate" min={0} step={0.0001} decimalScale={6} value={form.lr} onChange={(v) => set({ lr: v })} error={e('lr')} data-testid="field-lr" />
        {(scenario === 2 || scenario === 4) && (
          <NumberInput label="Learning rate, pretrained layers" min={0} step={0.00001} decimalScale={7} value={form.lrPretrained} onChange={(v) => set({ lrPretrained: v })} error={e('lrPretrained')} data-testid="field-lr-pretrained" />
        )}
        <NumberInput label="Batch size" min={1} max={1024} value={form.batchSize} onChange={(v) => set({ batchSize: v })} error={e('batchSize')} data-testid="field-batch" />
        <NumberInput label="Epochs" min={1} max={1000} value={form.epochs} onChange={(v) => set({ epochs: v })} error={e('epochs')} data-testid="field-epochs" />
        <NumberInput label="Early stopping patience" description="epochs; 0 = off" min={0} max={1000} value={form.patience} onChange={(v) => set({ patience: v })} error={e('patience')} data-testid="field-patience" />
        <NumberInput label="Seed" min={0} value={form.seed} onChange={(v) => set({ seed: v })} error={e('seed')} data-testid="field-seed" />
      </SimpleGrid>
      <Group gap="lg" align="flex-start">
        <Stack gap={6}>
          <Switch label="Augmentation" checked={form.augmentOn} onChange={(ev) => set({ augmentOn: ev.currentTarget.checked })} data-testid="field-augment" />
          <Group gap="sm">
            {(['flip', 'crop', 'rotate', 'brightness', 'contrast'] as const).map((k) => (
              <Checkbox key={k} size="xs" label={k} disabled={!form.augmentOn} checked={form.augment[k]} onChange={(ev) => set({ augment: { ...form.augment, [k]: ev.currentTarget.checked } })} />
            ))}
          </Group>
          {(scenario === 1 || scenario === 2) && form.augmentOn && (
            <Text size="xs" c="dimmed">
              With augmentation the frozen part's output cannot be cached: each epoch runs the whole network (slower).
            </Text>
          )}
        </Stack>
        <Switch label="Class weights (balance unequal classes)" checked={form.classWeights} onChange={(ev) => set({ classWeights: ev.currentTarget.checked })} data-testid="field-class-weights" />
        {(scenario === 2 || scenario === 4) && (
          <Switch
            label="Train BatchNorm statistics"
            description="Off (recommended for small data): trainable BatchNorm layers keep the pretrained statistics (inference mode)."
            checked={form.trainBatchNorm}
            onChange={(ev) => set({ trainBatchNorm: ev.currentTarget.checked })}
            data-testid="field-train-bn"
          />
        )}
      </Group>
    </Stack>
  );
}
