/**
 * The scenario wizard: 1 data, 2 similarity, 3 scenario, 4 model, layers and settings, 5 review
 * and start. The host's advisor (the `advise` request, exactly as `transfer-studio advise` asks
 * it) recommends the scenario and scenario 2's freeze boundary from the user's answers and counts
 * what each choice freezes; the wizard shows that and lets the user choose otherwise. Every field
 * is validated with the contract's trainConfigSchema; errors show on their fields and on the
 * review step.
 */
import { useEffect, useMemo, useState } from 'react';
import { Button, Group, Stack, Stepper } from '@mantine/core';
import type { ProjectCounts, Scenario } from '../../../../shared/domain';
import { StudioError } from '../../../../shared/errors';
import { api } from '../../../api/client';
import { useQuery } from '../../../api/hooks';
import { ErrorText } from '../../../components/ErrorText';
import { adviceState } from './advice';
import { dataFacts } from './data-facts';
import { DataStep } from './DataStep';
import { buildConfig, defaultsFor, type FormState } from './form';
import { ReviewStep } from './ReviewStep';
import { ScenarioStep } from './ScenarioStep';
import { SettingsStep } from './SettingsStep';
import { SimilarityStep, type Answer } from './SimilarityStep';

export function Wizard({ counts, onStarted }: { counts: ProjectCounts; onStarted: (runId: number, jobId: string) => void }) {
  const facts = useMemo(() => dataFacts(counts), [counts]);
  const [step, setStep] = useState(0);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [chosen, setChosen] = useState<Scenario | null>(null);
  const [form, setForm] = useState<FormState>(() => defaultsFor(1));
  const [formFor, setFormFor] = useState<Scenario>(1);
  const [touched, setTouched] = useState(false);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<StudioError>();

  const listed = useQuery('listModels', {}, ['models']);
  // Hidden models are not offered (the user hid them on the Models screen).
  const models = { ...listed, data: listed.data?.filter((m) => !m.hidden) };
  // The user's model, else the first not hidden (the built-in one first): the one the advisor picks when asked without one.
  const model = form.model || models.data?.[0]?.id || '';
  const modelsKnown = models.data !== undefined || models.error !== undefined;
  const advice = adviceState(useQuery('advise', { ...(model ? { model } : {}), similarity: answer ?? 'unknown' }, ['images', 'classes', 'models'], modelsKnown));
  const inspection = useQuery('inspectModel', { id: model }, ['models'], model !== '');
  const plans = advice.advice ? advice.advice.plans : undefined;
  const scenario: Scenario | null = chosen ?? advice.advice?.scenario ?? null;

  // Sensible defaults per scenario, until the user edits a field.
  useEffect(() => {
    if (scenario === null || scenario === formFor) return;
    setFormFor(scenario);
    if (!touched) setForm((f) => defaultsFor(scenario, { model: f.model, cutLayer: f.cutLayer, freezeTo: f.freezeTo }));
  }, [scenario, formFor, touched]);

  const set = (p: Partial<FormState>): void => {
    setTouched(true);
    setForm((f) => ({ ...f, ...p }));
  };
  // What will be asked for: the user's choices, else the advisor's (model default, freeze boundary).
  const effective: FormState = { ...form, model, freezeTo: form.freezeTo || (advice.advice?.freezeTo ?? '') };
  const boundary = scenario === 2 ? effective.freezeTo : scenario === 1 ? form.cutLayer || (plans?.cutLayer ?? '') : '';
  const built = scenario === null ? null : buildConfig(scenario, effective);
  const errors = built?.errors ?? {};

  const start = (): void => {
    if (!built?.config) return;
    setStarting(true);
    api.call('startTraining', { config: built.config }).then(
      (r) => {
        setStarting(false);
        setError(undefined);
        onStarted(r.runId, r.job.id);
      },
      (err: unknown) => {
        setStarting(false);
        setError(StudioError.from(err));
      },
    );
  };

  const canNext = step === 0 ? !facts.blocking : step === 2 ? scenario !== null : step === 3 ? Boolean(built?.config) : true;
  return (
    <Stack gap="md" data-testid="wizard">
      <Stepper active={step} onStepClick={(s) => s <= step && setStep(s)} size="sm" allowNextStepsSelect={false}>
        <Stepper.Step label="Data" description="classes and splits">
          <DataStep facts={facts} />
        </Stepper.Step>
        <Stepper.Step label="Similarity" description="to ImageNet photos">
          <SimilarityStep answer={answer} onAnswer={setAnswer} state={advice} />
        </Stepper.Step>
        <Stepper.Step label="Scenario" description="how much to reuse">
          <ScenarioStep state={advice} chosen={scenario} onChoose={setChosen} />
        </Stepper.Step>
        <Stepper.Step label="Model and layers" description="settings">
          {scenario !== null && (
            <SettingsStep scenario={scenario} form={form} set={set} errors={errors} models={models} model={model} inspection={inspection} plans={plans} boundary={boundary} />
          )}
        </Stepper.Step>
        <Stepper.Step label="Review" description="and start">
          {scenario !== null && <ReviewStep scenario={scenario} form={effective} errors={errors} facts={facts} />}
        </Stepper.Step>
      </Stepper>
      <ErrorText error={error} />
      <Group justify="space-between">
        <Button variant="default" disabled={step === 0} onClick={() => setStep((s) => s - 1)} data-testid="wizard-back">
          Back
        </Button>
        {step < 4 ? (
          <Button onClick={() => setStep((s) => s + 1)} disabled={!canNext} data-testid="wizard-next">
            Next
          </Button>
        ) : (
          <Button onClick={start} loading={starting} disabled={!built?.config || facts.blocking} data-testid="start-training">
            Start training
          </Button>
        )}
      </Group>
    </Stack>
  );
}
