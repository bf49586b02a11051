/**
 * The wizard's reasoning, kept out of the components: dataset facts and warnings, the size x
 * similarity placement and the scenario it implies, defaults per scenario, parameter counts on
 * either side of a freeze boundary, and form state -> TrainConfig with field errors.
 */
import { trainConfigSchema, type ProjectCounts, type Scenario, type TrainConfig, type TrainConfigInput } from '../../../shared/domain';

export const SCENARIOS: Record<Scenario, { title: string; short: string; what: string }> = {
  1: {
    title: '1 · Feature extraction',
    short: 'small data, similar images',
    what: 'The pretrained network stays frozen and only a new classification head is trained on its features: fast, and hard to overfit.',
  },
  2: {
    title: '2 · Freeze the first k layers',
    short: 'small data, different images',
    what: 'The first k layers (generic edges and textures) stay frozen; the later, more specific layers and a new head are retrained for your images.',
  },
  3: {
    title: '3 · Train from scratch',
    short: 'large data, different images',
    what: 'The same architecture is trained from random weights: with enough images, pretrained features that do not fit your domain only get in the way.',
  },
  4: {
    title: '4 · Fine-tune everything',
    short: 'large data, similar images',
    what: 'Every layer starts from the pretrained weights and keeps learning with a small learning rate, so the good features are adjusted rather than destroyed.',
  },
};

export type SimilarityAnswer = 'high' | 'medium' | 'low';
export const SIMILARITY_VALUE: Record<SimilarityAnswer, number> = { high: 0.8, medium: 0.5, low: 0.2 };

/** Labelled images in the smallest class from which a dataset counts as large (as the studio's advisor counts). */
export const LARGE_PER_CLASS = 1000;

export interface DataFacts {
  labelled: number;
  train: number;
  val: number;
  unlabelled: number;
  classes: { id: number; name: string; color: string; train: number; val: number; total: number }[];
  /** Labelled images of the smallest class that has any (what makes a dataset small or large). */
  smallest: number;
  /** Share of the largest class among the labelled train+val images (always guessing it). */
  baseline: number | null;
  warnings: string[];
  /** Training cannot start (fewer than two trainable classes, no validation images). */
  blocking: boolean;
}

export function dataFacts(c: ProjectCounts): DataFacts {
  const classes = c.byClass.map((k) => ({ id: k.id, name: k.name, color: k.color, train: k.train, val: k.val, total: k.train + k.val }));
  const train = classes.reduce((a, k) => a + k.train, 0);
  const val = classes.reduce((a, k) => a + k.val, 0);
  const labelled = train + val;
  const baseline = labelled > 0 ? Math.max(...classes.map((k) => k.total)) / labelled : null;
  const warnings: string[] = [];
  let blocking = false;
  const trainable = classes.filter((k) => k.train > 0);
  if (trainable.length < 2) {
    warnings.push(`Training needs at least two classes with labelled training images; there ${trainable.length === 1 ? 'is 1' : `are ${trainable.length}`}.`);
    blocking = true;
  }
  if (val === 0) {
    warnings.push('The validation split is empty: use Auto split in the gallery (or move some labelled images to validation).');
    blocking = true;
  }
  for (const k of classes) if (k.total > 0 && k.total < 10) warnings.push(`Class "${k.name}" has only ${k.total} image${k.total === 1 ? '' : 's'}: aim for at least 10, better 50+.`);
  for (const k of classes) if (k.total === 0) warnings.push(`Class "${k.name}" has no labelled images and will be left out.`);
  for (const k of classes) if (k.train > 0 && k.val === 0 && val > 0) warnings.push(`Class "${k.name}" has no validation images: its accuracy cannot be measured.`);
  if (c.unlabelled > 0) warnings.push(`${c.unlabelled} image${c.unlabelled === 1 ? ' is' : 's are'} unlabelled: they are not trained on, but the run will suggest labels for them.`);
  if (baseline !== null && baseline > 0.6 && classes.length > 1) warnings.push(`The classes are unbalanced (the largest has ${Math.round(100 * baseline)}%): consider class weights.`);
  const sizes = classes.map((k) => k.total).filter((n) => n > 0);
  const smallest = sizes.length > 0 ? Math.min(...sizes) : 0;
  return { labelled, train, val, unlabelled: c.unlabelled, classes, smallest, baseline, warnings, blocking };
}

/** The scenario for the smallest class's image count and a similarity in 0..1. */
export function recommend(smallestClass: number, similarity: number): Scenario {
  const large = smallestClass >= LARGE_PER_CLASS;
  const similar = similarity >= 0.5;
  if (!large) return similar ? 1 : 2;
  return similar ? 4 : 3;
}

/** Where the project sits on the 2x2 chart: x by log10 of the smallest class (10 .. 100,000, the threshold in the middle), y = similarity; both 0..1. */
export function placement(smallestClass: number, similarity: number): { x: number; y: number } {
  const lo = Math.log10(LARGE_PER_CLASS) - 2;
  const hi = Math.log10(LARGE_PER_CLASS) + 2;
  const x = (Math.log10(Math.max(1, smallestClass)) - lo) / (hi - lo);
  return { x: Math.min(0.98, Math.max(0.02, x)), y: Math.min(0.98, Math.max(0.02, similarity)) };
}

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

export function defaultsFor(scenario: Scenario, base: Partial<FormState> = {}): FormState {
  const perScenario: Record<Scenario, Partial<FormState>> = {
    1: { lr: 0.001, lrPretrained: '', epochs: 10, patience: 3, augmentOn: false, hidden: '128', dropout: 0.2 },
    2: { lr: 0.001, lrPretrained: 0.0001, epochs: 15, patience: 4, augmentOn: true, hidden: '128', dropout: 0.3 },
    3: { lr: 0.001, lrPretrained: '', epochs: 30, patience: 6, augmentOn: true, hidden: '256', dropout: 0.3 },
    4: { lr: 0.0005, lrPretrained: 0.00001, epochs: 15, patience: 4, augmentOn: true, hidden: '128', dropout: 0.2 },
  };
  return {
    model: 'mobilenet_v1_0.25_224',
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

export interface LayerLike {
  name: string;
  params: number;
}

/** Parameters frozen (up to and including `boundary`) and trainable (after it, up to `cut` if given). */
export function paramSplit(layers: readonly LayerLike[], boundary: string | null, cut?: string | null): { frozen: number; trainable: number } {
  const b = boundary ? layers.findIndex((l) => l.name === boundary) : -1;
  const c = cut ? layers.findIndex((l) => l.name === cut) : layers.length - 1;
  const end = c < 0 ? layers.length - 1 : c;
  let frozen = 0;
  let trainable = 0;
  layers.forEach((l, i) => {
    if (i > end) return;
    if (i <= b) frozen += l.params;
    else trainable += l.params;
  });
  return { frozen, trainable };
}

export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}
