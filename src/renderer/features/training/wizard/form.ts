/**
 * The wizard's form: its state while typed (numbers may be '' in a NumberInput), the settings each
 * scenario starts from, and state -> TrainConfig validated by the contract's schema, with errors by
 * field. Which scenario and which freeze boundary to recommend is the host's advisor's (the
 * `advise` request), never decided here.
 */
import { trainConfigSchema, type Scenario, type TrainConfig, type TrainConfigInput } from '../../../../shared/domain';

/** The form's state: numbers may be '' while typed (NumberInput), and are validated on build. */
export interface FormState {
  model: string;
  cutLayer: string;
  freezeTo: string;
  hidden: string;
  dropout: number | string;
  activation: 'relu' | 'elu' | 'tanh' | 'sigmoid';
  optimizer: 'adam' | 'sgd';
  lr: number | string;
  lrPretrained: number | string;
  batchSize: number | string;
  epochs: number | string;
  patience: number | string;
  classWeights: boolean;
  augmentOn: boolean;
  augment: { flip: boolean; crop: boolean; rotate: boolean; brightness: boolean; contrast: boolean };
  trainBatchNorm: boolean;
  seed: number | string;
}

/** A scenario's starting settings; model, cutLayer and freezeTo '' mean the default (the first installed model, the advisor's layers). */
export function defaultsFor(scenario: Scenario, base: Partial<FormState> = {}): FormState {
  const perScenario: Record<Scenario, Partial<FormState>> = {
    1: { lr: 0.001, lrPretrained: '', epochs: 10, patience: 3, augmentOn: false, hidden: '128', dropout: 0.2 },
    2: { lr: 0.001, lrPretrained: 0.0001, epochs: 15, patience: 4, augmentOn: true, hidden: '128', dropout: 0.3 },
    3: { lr: 0.001, lrPretrained: '', epochs: 30, patience: 6, augmentOn: true, hidden: '256', dropout: 0.3 },
    4: { lr: 0.0005, lrPretrained: 0.00001, epochs: 15, patience: 4, augmentOn: true, hidden: '128', dropout: 0.2 },
  };
  return {
    model: '',
    cutLayer: '',
    freezeTo: '',
    activation: 'relu',
    optimizer: 'adam',
    batchSize: 32,
    classWeights: false,
    augment: { flip: true, crop: true, rotate: false, brightness: true, contrast: false },
    trainBatchNorm: false,
    seed: 42,
    ...base,
    ...perScenario[scenario],
  } as FormState;
}

const num = (v: number | string): number => (typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v));

/** The config the form describes, or the errors by field ("lr", "head.hidden", ...). */
export function buildConfig(scenario: Scenario, f: FormState): { config: TrainConfig; errors: null } | { config: null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const hiddenParts = f.hidden.trim() === '' ? [] : f.hidden.split(',').map((s) => s.trim());
  const hiddenOk = hiddenParts.every((s) => /^\d+$/.test(s));
  if (!hiddenOk) errors['head.hidden'] = 'Hidden layer sizes are whole numbers separated by commas, e.g. 256, 64 (empty = none).';
  const hidden = hiddenOk ? hiddenParts.map(Number) : [];
  const input: TrainConfigInput = {
    scenario,
    model: f.model.trim(),
    head: { hidden, dropout: num(f.dropout), activation: f.activation },
    optimizer: f.optimizer,
    lr: num(f.lr),
    batchSize: num(f.batchSize),
    epochs: num(f.epochs),
    patience: num(f.patience),
    classWeights: f.classWeights,
    augment: f.augmentOn ? f.augment : null,
    trainBatchNorm: f.trainBatchNorm,
    seed: num(f.seed),
  };
  if (scenario === 1 && f.cutLayer) input.cutLayer = f.cutLayer;
  if (scenario === 2) {
    if (f.freezeTo) input.freezeTo = f.freezeTo;
    else errors.freezeTo = 'Choose the last frozen layer (the freeze boundary).';
  }
  if ((scenario === 2 || scenario === 4) && !(typeof f.lrPretrained === 'string' && f.lrPretrained.trim() === '')) input.lrPretrained = num(f.lrPretrained);
  const r = trainConfigSchema.safeParse(input);
  if (!r.success) {
    for (const issue of r.error.issues) {
      // One message per field: "head.hidden.1" (a size out of range) belongs to head.hidden.
      const key = issue.path[0] === 'head' && issue.path[1] === 'hidden' ? 'head.hidden' : issue.path.join('.');
      errors[key] ??= issue.code === 'invalid_type' ? 'A number is required.' : issue.message;
    }
  }
  if (r.success && r.data.lrPretrained !== undefined && r.data.lrPretrained > r.data.lr)
    errors.lrPretrained = 'The pretrained layers usually learn slower than the head: use a learning rate at most the head\'s.';
  if (Object.keys(errors).length > 0 || !r.success) return { config: null, errors };
  return { config: r.data, errors: null };
}
