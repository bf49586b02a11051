/**
 * A sweep's grid as training configurations: every combination of the values given per field, in
 * a fixed order (seeds last, so a configuration's seeds sit together), each parsed by the contract's
 * TrainConfig schema so that a sweep's run trains exactly as a single run with those flags would.
 */
import { SCENARIO_DEFAULTS, headSchema, trainConfigSchema, type SweepField, type SweepGrid, type TrainConfig, type TrainConfigInput } from '../../shared/domain';
import { StudioError } from '../../shared/errors';

export interface GridConfig {
  config: TrainConfig;
  /** The fields that vary across the grid, in words. */
  label: string;
}

/** The grid's fields in combination order, with how each appears in a label. */
const ORDER: { field: SweepField; label: (v: unknown) => string }[] = [
  { field: 'scenario', label: (v) => `scenario ${String(v)}` },
  { field: 'model', label: (v) => String(v) },
  { field: 'cutLayer', label: (v) => `cut ${String(v)}` },
  { field: 'freezeTo', label: (v) => `freeze to ${String(v)}` },
  { field: 'lr', label: (v) => `lr ${String(v)}` },
  { field: 'headSize', label: (v) => (v === 0 ? 'linear head' : `head ${String(v)}`) },
  { field: 'augment', label: (v) => (v ? 'augment' : 'no augment') },
  { field: 'epochs', label: (v) => `${String(v)} epochs` },
  { field: 'patience', label: (v) => `patience ${String(v)}` },
  { field: 'batchSize', label: (v) => `batch ${String(v)}` },
  { field: 'seed', label: (v) => `seed ${String(v)}` },
];

type Combination = Partial<Record<SweepField, unknown>>;

function toConfig(c: Combination): TrainConfig {
  const scenario = c.scenario as TrainConfig['scenario'];
  const input: TrainConfigInput = { scenario, model: c.model as string };
  if (c.cutLayer !== undefined) input.cutLayer = c.cutLayer as string;
  if (c.freezeTo !== undefined) input.freezeTo = c.freezeTo as string;
  if (c.lr !== undefined) input.lr = c.lr as number;
  if (c.headSize !== undefined) input.head = headSchema.parse({ hidden: c.headSize === 0 ? [] : [c.headSize], dropout: SCENARIO_DEFAULTS[scenario].head.dropout });
  if (c.augment !== undefined) input.augment = c.augment ? {} : null;
  if (c.epochs !== undefined) input.epochs = c.epochs as number;
  if (c.patience !== undefined) input.patience = c.patience as number;
  if (c.batchSize !== undefined) input.batchSize = c.batchSize as number;
  if (c.seed !== undefined) input.seed = c.seed as number;
  const parsed = trainConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudioError('bad_input', `${String(issue.path[0] ?? 'config')}: ${issue.message}`, String(issue.path[0] ?? 'grid'));
  }
  return parsed.data;
}

/**
 * Every configuration of the grid, duplicates dropped. A freeze boundary only means something in
 * scenario 2, so the other scenarios' combinations are made without one (once each).
 */
export function gridConfigs(grid: SweepGrid): GridConfig[] {
  const varying = new Set(ORDER.filter(({ field }) => (grid[field]?.length ?? 0) > 1).map((o) => o.field));
  let combos: Combination[] = [{}];
  for (const { field } of ORDER) {
    const values = grid[field] as unknown[] | undefined;
    if (!values) continue;
    combos = combos.flatMap((c) => (field === 'freezeTo' && c.scenario !== 2 ? [c] : values.map((v) => ({ ...c, [field]: v }))));
  }
  const seen = new Set<string>();
  const out: GridConfig[] = [];
  for (const c of combos) {
    const config = toConfig(c);
    const key = JSON.stringify(config);
    if (seen.has(key)) continue;
    seen.add(key);
    const words = ORDER.filter(({ field }) => varying.has(field) && c[field] !== undefined).map(({ field, label }) => label(c[field]));
    out.push({ config, label: words.length ? words.join(', ') : `scenario ${config.scenario}, ${config.model}` });
  }
  return out;
}
