/**
 * The scenario wizard: 1 data, 2 similarity, 3 recommendation (the size x similarity chart),
 * 4 model, layers and settings, 5 review and start. Every field is validated with the contract's
 * trainConfigSchema; errors show on their fields and on the review step.
 */
import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  List,
  NumberInput,
  Radio,
  ScrollArea,
  Select,
  SimpleGrid,
  Slider,
  Stack,
  Stepper,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import type { ProjectCounts, Scenario } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { ErrorText } from '../../components/ErrorText';
import { advise, inspectModel, listModels, similarityValue, type Advice, type ModelEntry, type ModelInspection } from './optional-api';
import {
  LARGE_PER_CLASS,
  SCENARIOS,
  SIMILARITY_VALUE,
  buildConfig,
  dataFacts,
  defaultsFor,
  formatCount,
  paramSplit,
  placement,
  recommend,
  type DataFacts,
  type FormState,
  type SimilarityAnswer,
} from './wizard-logic';

const DEFAULT_MODEL = 'mobilenet_v1_0.25_224';

function ClassBalance({ facts }: { facts: DataFacts }) {
  const max = Math.max(1, ...facts.classes.map((c) => c.total));
  return (
    <Stack gap={4} data-testid="class-balance" aria-label="Class balance">
      {facts.classes.map((c) => (
        <Group key={c.id} gap="xs" wrap="nowrap" data-testid="balance-row" data-class-name={c.name}>
          <Text size="sm" w={140} truncate title={c.name}>
            {c.name}
          </Text>
          <div style={{ flex: 1, display: 'flex', height: 14, background: 'var(--mantine-color-default-hover)', borderRadius: 3, overflow: 'hidden' }}>
            <div title={`${c.train} train`} style={{ width: `${(100 * c.train) / max}%`, background: c.color }} />
            <div title={`${c.val} validation`} style={{ width: `${(100 * c.val) / max}%`, background: c.color, opacity: 0.45 }} />
          </div>
          <Text size="xs" w={150} c="dimmed" ta="right" style={{ fontVariantNumeric: 'tabular-nums' }}>
            {c.train} train · {c.val} val
          </Text>
        </Group>
      ))}
      <Text size="xs" c="dimmed">
        Solid: training images; faded: validation images.
      </Text>
    </Stack>
  );
}

function DataStep({ facts }: { facts: DataFacts }) {
  return (
    <Stack gap="sm" data-testid="step-data">
      <Group gap="xl">
        <Stat label="Labelled" value={facts.labelled} />
        <Stat label="Training" value={facts.train} />
        <Stat label="Validation" value={facts.val} />
        <Stat label="Unlabelled" value={facts.unlabelled} />
        <Stat label="Classes" value={facts.classes.length} />
        <Stat label="Majority baseline" value={facts.baseline === null ? '—' : `${(100 * facts.baseline).toFixed(1)}%`} testId="wizard-baseline" />
      </Group>
      <Text size="xs" c="dimmed">
        The majority baseline is the accuracy of always answering the largest class: a model has to beat it to be worth anything.
      </Text>
      <ClassBalance facts={facts} />
      {facts.warnings.length > 0 && (
        <Alert color={facts.blocking ? 'red' : 'yellow'} variant="light" title={facts.blocking ? 'Training cannot start yet' : 'Worth a look'} data-testid="data-warnings">
          <List size="sm">
            {facts.warnings.map((w) => (
              <List.Item key={w}>{w}</List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}

function Stat({ label, value, testId }: { label: string; value: number | string; testId?: string }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} size="lg" data-testid={testId}>
        {value}
      </Text>
    </Stack>
  );
}

function SimilarityStep({ answer, onAnswer, advice }: { answer: SimilarityAnswer | null; onAnswer: (a: SimilarityAnswer) => void; advice: Advice | null | undefined }) {
  return (
    <Stack gap="sm" data-testid="step-similarity">
      <Title order={5}>Do your images look like everyday photos?</Title>
      <Text size="sm">
        The pretrained networks learned from ImageNet: 1.2 million photos of animals, objects, vehicles, food and scenes. The more your images look like
        those, the more of the network can be reused as it is.
      </Text>
      <Radio.Group value={answer ?? ''} onChange={(v) => onAnswer(v as SimilarityAnswer)} name="similarity">
        <Stack gap="xs">
          <Radio value="high" label="Yes, similar: ordinary photos (pets, plants, products, cars, food, buildings…)" data-testid="similarity-high" />
          <Radio value="medium" label="Somewhat: photos, but of an unusual subject or viewpoint (close-ups of parts, aerial shots of fields…)" data-testid="similarity-medium" />
          <Radio value="low" label="No, different: X-rays, microscope slides, satellite bands, spectrograms, scanned documents, handwritten digits…" data-testid="similarity-low" />
        </Stack>
      </Radio.Group>
      <Card withBorder padding="sm" data-testid="advice">
        <Text fw={600} size="sm">
          The studio's estimate
        </Text>
        {advice === undefined && <Text size="sm">Looking at a sample of your images with the pretrained network…</Text>}
        {advice === null && <Text size="sm" c="dimmed">The advisor could not answer; your answer above decides.</Text>}
        {advice && (
          <Stack gap={4}>
            <Text size="sm" data-testid="advice-estimate">
              {advice.estimate
                ? `Similarity ${advice.estimate.level} (score ${advice.estimate.score.toFixed(2)}, from ${advice.estimate.sampled} images)`
                : `No estimate${advice.estimateNote ? `: ${advice.estimateNote}` : ''}`}{' '}
              · recommends scenario {advice.scenario}
              {advice.scenario === 2 && advice.freezeTo ? `, frozen up to ${advice.freezeTo} (k = ${advice.k} of ${advice.blocks} blocks)` : ''}
              {answer ? ' · your answer above takes precedence' : ''}
            </Text>
            <List size="sm" data-testid="advice-evidence">
              {(advice.estimate?.evidence ?? []).map((r) => (
                <List.Item key={r}>{r}</List.Item>
              ))}
            </List>
            <Text size="xs" c="dimmed">
              {advice.reason}
            </Text>
          </Stack>
        )}
      </Card>
    </Stack>
  );
}

function ScenarioChart({ place, recommended, chosen, onChoose }: { place: { x: number; y: number }; recommended: Scenario; chosen: Scenario; onChoose: (s: Scenario) => void }) {
  const W = 470;
  const H = 280;
  const m = 30;
  const quads: { s: Scenario; x: number; y: number }[] = [
    { s: 1, x: 0, y: 0 },
    { s: 4, x: 1, y: 0 },
    { s: 2, x: 0, y: 1 },
    { s: 3, x: 1, y: 1 },
  ];
  const qw = (W - m) / 2;
  const qh = (H - m) / 2;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width={W} role="img" aria-label={`Dataset size against similarity; the project is in scenario ${recommended}`} data-testid="scenario-chart">
      {quads.map((q) => (
        <g key={q.s} onClick={() => onChoose(q.s)} style={{ cursor: 'pointer' }} data-testid={`quadrant-${q.s}`}>
          <rect
            x={m + q.x * qw}
            y={q.y * qh}
            width={qw - 2}
            height={qh - 2}
            rx={4}
            fill={q.s === recommended ? 'rgba(34,139,230,0.25)' : 'rgba(128,128,128,0.08)'}
            stroke={q.s === chosen ? '#228be6' : 'rgba(128,128,128,0.4)'}
            strokeWidth={q.s === chosen ? 2.5 : 1}
          />
          <text x={m + q.x * qw + 8} y={q.y * qh + 18} fontSize={11} fontWeight={600} fill="currentColor">
            {SCENARIOS[q.s].title}
          </text>
          <text x={m + q.x * qw + 8} y={q.y * qh + 34} fontSize={10} fill="currentColor" fillOpacity={0.7}>
            {SCENARIOS[q.s].short}
          </text>
        </g>
      ))}
      <circle cx={m + place.x * (W - m)} cy={(1 - place.y) * (H - m)} r={7} fill="#fa5252" stroke="white" strokeWidth={2} data-testid="project-dot">
        <title>This project</title>
      </circle>
      <text x={m + (W - m) / 2} y={H - 8} fontSize={10} textAnchor="middle" fill="currentColor" fillOpacity={0.7}>
        images in the smallest class → (large from {LARGE_PER_CLASS})
      </text>
      <text x={10} y={(H - m) / 2} fontSize={10} textAnchor="middle" fill="currentColor" fillOpacity={0.7} transform={`rotate(-90 10 ${(H - m) / 2})`}>
        similarity →
      </text>
    </svg>
  );
}

function RecommendationStep(props: { place: { x: number; y: number }; recommended: Scenario; chosen: Scenario; onChoose: (s: Scenario) => void }) {
  return (
    <Group align="flex-start" gap="lg" data-testid="step-recommendation" wrap="wrap">
      <ScenarioChart {...props} />
      <Radio.Group value={String(props.chosen)} onChange={(v) => props.onChoose(Number(v) as Scenario)} name="scenario" style={{ flex: 1, minWidth: 320 }}>
        <Stack gap="xs">
          {([1, 2, 3, 4] as Scenario[]).map((s) => (
            <Card key={s} withBorder padding="xs" data-testid={`scenario-card-${s}`} data-recommended={s === props.recommended} style={{ borderColor: s === props.recommended ? 'var(--mantine-color-blue-filled)' : undefined }}>
              <Radio
                value={String(s)}
                data-testid={`scenario-${s}`}
                label={
                  <Group gap="xs">
                    <Text fw={600} size="sm">
                      {SCENARIOS[s].title}
                    </Text>
                    {s === props.recommended && (
                      <Badge size="xs" data-testid="recommended">
                        recommended
                      </Badge>
                    )}
                  </Group>
                }
                description={SCENARIOS[s].what}
              />
            </Card>
          ))}
        </Stack>
      </Radio.Group>
    </Group>
  );
}

function LayerList({ inspection, scenario, form, set }: { inspection: ModelInspection; scenario: Scenario; form: FormState; set: (p: Partial<FormState>) => void }) {
  const layers = inspection.layers;
  const featureLayer = inspection.defaultCutLayer || null;
  // Scenario 2 freezes up to a block boundary before the feature layer (the engine's plan refuses others).
  const featureIndex = featureLayer ? layers.findIndex((l) => l.name === featureLayer) : layers.length;
  const cuts = layers.filter((l, i) => l.cutPoint && (scenario !== 2 || (i < featureIndex && !/GlobalAveragePooling|GlobalMaxPooling/.test(l.className))));
  const boundary = scenario === 2 ? form.freezeTo || null : scenario === 1 ? form.cutLayer || featureLayer : null;
  // The network's parameters up to the feature layer: what follows it (ImageNet's classifier) is replaced by the new head.
  const split =
    scenario === 1 ? paramSplit(layers, boundary, boundary) : scenario === 2 ? paramSplit(layers, boundary, featureLayer) : { frozen: 0, trainable: paramSplit(layers, null, featureLayer).trainable };
  const bIndex = boundary ? layers.findIndex((l) => l.name === boundary) : -1;
  const cutIndex = cuts.findIndex((l) => l.name === boundary);
  const pick = (name: string): void => (scenario === 2 ? set({ freezeTo: name }) : scenario === 1 ? set({ cutLayer: name }) : undefined);
  return (
    <Stack gap="xs" data-testid="layer-list">
      <Group gap="lg">
        <Text size="sm" data-testid="frozen-params">
          Frozen: <b>{formatCount(split.frozen)}</b> parameters
          {scenario === 2 && cutIndex >= 0 ? ` (k = ${cutIndex + 1} of ${cuts.length} blocks)` : ''}
        </Text>
        <Text size="sm" data-testid="trainable-params">
          Trainable: <b>{formatCount(split.trainable)}</b> parameters of the network{scenario === 1 ? ' (it stays frozen: only the new head trains)' : ''}, plus the new head
        </Text>
      </Group>
      {(scenario === 1 || scenario === 2) && cuts.length > 1 && (
        <Stack gap={2}>
          <Text size="xs" c="dimmed">
            {scenario === 2 ? 'Drag the freeze boundary: everything up to it stays frozen.' : 'Where the features are taken from (the head is fed from this layer).'}
          </Text>
          <Slider
            min={0}
            max={cuts.length - 1}
            step={1}
            value={Math.max(0, cutIndex)}
            onChange={(i) => pick(cuts[i]!.name)}
            label={(i) => cuts[i]?.name}
            marks={cuts.map((_, i) => ({ value: i }))}
            aria-label={scenario === 2 ? 'Freeze boundary' : 'Feature layer'}
            data-testid="boundary-slider"
          />
        </Stack>
      )}
      <ScrollArea h={260} type="auto">
        <Table striped={false} highlightOnHover withRowBorders={false} fz="xs" stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>#</Table.Th>
              <Table.Th>Layer</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Output</Table.Th>
              <Table.Th ta="right">Params</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {layers.map((l, i) => {
              const frozen = scenario === 1 ? i <= bIndex : scenario === 2 ? i <= bIndex : false;
              const unused = scenario === 1 && bIndex >= 0 && i > bIndex;
              return (
                <Table.Tr
                  key={l.name}
                  data-testid="layer-row"
                  data-layer={l.name}
                  data-frozen={frozen}
                  style={{ opacity: unused ? 0.4 : 1, background: frozen ? 'rgba(34,139,230,0.10)' : undefined, borderBottom: l.name === boundary ? '2px solid #228be6' : undefined }}
                >
                  <Table.Td>{i}</Table.Td>
                  <Table.Td>{l.name}</Table.Td>
                  <Table.Td>{l.className}</Table.Td>
                  <Table.Td>{l.outputShape.join('×')}</Table.Td>
                  <Table.Td ta="right">{formatCount(l.params)}</Table.Td>
                  <Table.Td>
                    {(scenario === 1 || scenario === 2) && cuts.includes(l) && (
                      <Button size="compact-xs" variant={l.name === boundary ? 'filled' : 'subtle'} onClick={() => pick(l.name)} data-testid="set-boundary">
                        {scenario === 2 ? 'freeze to here' : 'features here'}
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </Stack>
  );
}

function SettingsStep({
  scenario,
  form,
  set,
  errors,
  models,
  inspection,
}: {
  scenario: Scenario;
  form: FormState;
  set: (p: Partial<FormState>) => void;
  errors: Record<string, string>;
  models: ModelEntry[] | null | undefined;
  inspection: ModelInspection | null | undefined;
}) {
  const e = (k: string): string | undefined => errors[k];
  return (
    <Stack gap="sm" data-testid="step-settings">
      <Group align="flex-end" gap="sm">
        {models && models.length > 0 ? (
          <Select
            label="Model"
            w={300}
            data={models.map((m) => ({ value: m.id, label: m.name + (m.installed ? '' : ' (not installed)') }))}
            value={form.model}
            onChange={(v) => v && set({ model: v, cutLayer: '', freezeTo: '' })}
            error={e('model')}
            allowDeselect={false}
            data-testid="model-select"
          />
        ) : (
          <TextInput label="Model id" w={300} value={form.model} onChange={(ev) => set({ model: ev.currentTarget.value, cutLayer: '', freezeTo: '' })} error={e('model')} data-testid="model-input" />
        )}
        {inspection === undefined && <Text size="xs">Reading the model's layers…</Text>}
      </Group>
      {inspection ? (
        <LayerList inspection={inspection} scenario={scenario} form={form} set={set} />
      ) : (
        inspection === null &&
        (scenario === 1 || scenario === 2) && (
          <TextInput
            label={scenario === 2 ? 'Last frozen layer' : 'Feature layer (empty = the model’s default)'}
            description="The layer list is not available for this model here; type the layer name."
            w={300}
            value={scenario === 2 ? form.freezeTo : form.cutLayer}
            onChange={(ev) => set(scenario === 2 ? { freezeTo: ev.currentTarget.value } : { cutLayer: ev.currentTarget.value })}
            error={e(scenario === 2 ? 'freezeTo' : 'cutLayer')}
            data-testid="boundary-input"
          />
        )
      )}
      {inspection && e('freezeTo') && (
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

function ReviewStep({ scenario, form, errors, facts }: { scenario: Scenario; form: FormState; errors: Record<string, string>; facts: DataFacts }) {
  const rows: [string, string][] = [
    ['Scenario', SCENARIOS[scenario].title],
    ['Model', form.model],
    ...(scenario === 1 ? ([['Feature layer', form.cutLayer || 'model default']] as [string, string][]) : []),
    ...(scenario === 2 ? ([['Frozen up to', form.freezeTo || '—']] as [string, string][]) : []),
    ['Head', `${form.hidden.trim() || 'no hidden layer'} · ${form.activation} · dropout ${form.dropout}`],
    ['Optimiser', `${form.optimizer}, learning rate ${form.lr}${scenario === 2 || scenario === 4 ? `, pretrained ${form.lrPretrained || 'lr / 10'}` : ''}`],
    ['Batches', `${form.batchSize} images, ${form.epochs} epochs, patience ${form.patience}`],
    ['Augmentation', form.augmentOn ? Object.entries(form.augment).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none selected' : 'off'],
    ['Class weights', form.classWeights ? 'on' : 'off'],
    ['Seed', String(form.seed)],
    ['Data', `${facts.train} training and ${facts.val} validation images in ${facts.classes.filter((c) => c.train > 0).length} classes`],
  ];
  const errs = Object.entries(errors);
  return (
    <Stack gap="sm" data-testid="step-review">
      <Table fz="sm" withRowBorders={false} data-testid="review-table">
        <Table.Tbody>
          {rows.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td w={160} c="dimmed">
                {k}
              </Table.Td>
              <Table.Td>{v}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {errs.length > 0 && (
        <Alert color="red" variant="light" title="Fix these settings first" data-testid="config-errors">
          <List size="sm">
            {errs.map(([k, v]) => (
              <List.Item key={k}>
                {k}: {v}
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}

export function Wizard({ counts, onStarted }: { counts: ProjectCounts; onStarted: (runId: number, jobId: string) => void }) {
  const facts = useMemo(() => dataFacts(counts), [counts]);
  const [step, setStep] = useState(0);
  const [answer, setAnswer] = useState<SimilarityAnswer | null>(null);
  const [chosen, setChosen] = useState<Scenario | null>(null);
  const [form, setForm] = useState<FormState>(() => defaultsFor(1, { model: DEFAULT_MODEL }));
  const [formFor, setFormFor] = useState<Scenario>(1);
  const [touched, setTouched] = useState(false);
  const [models, setModels] = useState<ModelEntry[] | null>();
  const [inspection, setInspection] = useState<ModelInspection | null>();
  const [advice, setAdvice] = useState<Advice | null>();
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<StudioError>();

  useEffect(() => {
    void listModels().then((m) => {
      setModels(m);
      if (m && m.length > 0 && !m.some((x) => x.id === DEFAULT_MODEL)) setForm((f) => ({ ...f, model: m[0]!.id }));
    });
  }, []);
  useEffect(() => {
    let live = true;
    setAdvice(undefined);
    void advise(form.model).then((a) => live && setAdvice(a));
    return () => {
      live = false;
    };
  }, [form.model]);
  useEffect(() => {
    let live = true;
    setInspection(undefined);
    const id = form.model.trim();
    if (!id) {
      setInspection(null);
      return;
    }
    void inspectModel(id).then((i) => live && setInspection(i));
    return () => {
      live = false;
    };
  }, [form.model]);

  const similarity = answer ? SIMILARITY_VALUE[answer] : (similarityValue(advice ?? null) ?? 0.5);
  const recommended: Scenario = advice && !answer ? advice.scenario : recommend(facts.smallest, similarity);
  const scenario: Scenario = chosen ?? recommended;
  const place = placement(facts.smallest, similarity);

  // Sensible defaults per scenario, until the user edits a field.
  useEffect(() => {
    if (scenario === formFor) return;
    setFormFor(scenario);
    if (!touched) setForm((f) => defaultsFor(scenario, { model: f.model, cutLayer: f.cutLayer, freezeTo: f.freezeTo }));
  }, [scenario, formFor, touched]);

  // A freeze boundary by default: the advisor's, or the middle block boundary of the network.
  useEffect(() => {
    if (scenario !== 2 || form.freezeTo || !inspection) return;
    const feature = inspection.layers.findIndex((l) => l.name === inspection.defaultCutLayer);
    const cuts = inspection.layers.filter((l, i) => l.cutPoint && i < feature);
    const k = advice?.freezeTo ?? cuts[Math.floor((cuts.length * 2) / 3)]?.name;
    if (k) setForm((f) => ({ ...f, freezeTo: k }));
  }, [scenario, inspection, advice, form.freezeTo]);

  const set = (p: Partial<FormState>): void => {
    setTouched(true);
    setForm((f) => ({ ...f, ...p }));
  };
  const built = buildConfig(scenario, form);
  const errors = built.errors ?? {};

  const start = (): void => {
    if (!built.config) return;
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

  const canNext = step === 0 ? !facts.blocking : step === 3 ? built.config !== null : true;
  return (
    <Stack gap="md" data-testid="wizard">
      <Stepper active={step} onStepClick={(s) => s <= step && setStep(s)} size="sm" allowNextStepsSelect={false}>
        <Stepper.Step label="Data" description="classes and splits">
          <DataStep facts={facts} />
        </Stepper.Step>
        <Stepper.Step label="Similarity" description="to ImageNet photos">
          <SimilarityStep answer={answer} onAnswer={setAnswer} advice={advice} />
        </Stepper.Step>
        <Stepper.Step label="Scenario" description="how much to reuse">
          <RecommendationStep place={place} recommended={recommended} chosen={scenario} onChoose={setChosen} />
        </Stepper.Step>
        <Stepper.Step label="Model and layers" description="settings">
          <SettingsStep scenario={scenario} form={form} set={set} errors={errors} models={models} inspection={inspection} />
        </Stepper.Step>
        <Stepper.Step label="Review" description="and start">
          <ReviewStep scenario={scenario} form={form} errors={errors} facts={facts} />
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
          <Button onClick={start} loading={starting} disabled={!built.config || facts.blocking} data-testid="start-training">
            Start training
          </Button>
        )}
      </Group>
    </Stack>
  );
}
