/**
 * A sweep planned before it starts: the grid's configurations, each checked with the engine's
 * planTraining (a combination it refuses names its field and value, and the sweep is refused), the
 * list of runs (configurations x folds) and a rough estimate of their time.
 */
import { MAX_SWEEP_RUNS, type PlannedSweepRun, type RunSummary, type Scenario, type SweepPlan, type SweepRequest, type TrainConfig } from '../../shared/domain';
import type { TrainPlan } from '../../shared/train-plan';
import { StudioError } from '../../shared/errors';
import type { Engine } from '../engine/protocol';
import { gridConfigs, type GridConfig } from './sweep-grid';

/** Training images per second when the project has no finished run of the scenario yet (CPU, MobileNet-sized). */
const DEFAULT_IMAGES_PER_SEC: Record<Scenario, number> = { 1: 500, 2: 60, 3: 15, 4: 15 };
/** Seconds every run spends outside its epochs (engine start, model load, prediction at the end), roughly. */
const RUN_OVERHEAD_SECONDS = 5;

export interface CheckedConfig extends GridConfig {
  plan: TrainPlan;
  modelDir: string;
}

/** The config field of a plan error ('config.cutLayer') as the grid's field ('cutLayer'). */
const gridField = (field: string | undefined): string => (field ?? 'grid').replace(/^config\./, '');

/** Every configuration with its checked plan; the first the engine refuses is the sweep's error, naming the field and value. */
export async function checkConfigs(
  grid: SweepRequest['grid'],
  engine: Engine,
  modelDir: (id: string) => string,
): Promise<CheckedConfig[]> {
  const configs = gridConfigs(grid);
  const plans = new Map<string, Promise<TrainPlan>>();
  const out: CheckedConfig[] = [];
  for (const c of configs) {
    let dir: string;
    try {
      dir = modelDir(c.config.model);
    } catch (err) {
      const e = StudioError.from(err);
      throw new StudioError(e.code, `model ${c.config.model}: ${e.message}`, 'model');
    }
    const { scenario, cutLayer, freezeTo } = c.config;
    const key = JSON.stringify([c.config.model, scenario, cutLayer, freezeTo]);
    if (!plans.has(key)) plans.set(key, engine.call('planTraining', { modelDir: dir, config: { scenario, cutLayer, freezeTo } }));
    try {
      out.push({ ...c, plan: await plans.get(key)!, modelDir: dir });
    } catch (err) {
      const e = StudioError.from(err);
      const field = gridField(e.field);
      const value = field === 'cutLayer' ? cutLayer : field === 'freezeTo' ? freezeTo : undefined;
      throw new StudioError(e.code, `${field}${value ? ` ${value}` : ''} (${c.label}): ${e.message}`, field);
    }
  }
  return out;
}

/**
 * A finished run's speed in labelled image-epochs per wall second (start to end: extraction,
 * epochs and the prediction at the end), from its feature-cache counts (the images it trained and
 * validated on) and epochs run; else its training speed.
 */
function wallSpeed(r: RunSummary): number | null {
  const res = r.result ?? {};
  const cache = res.cache as { hits?: unknown; misses?: unknown } | undefined;
  const images = typeof cache?.hits === 'number' && typeof cache.misses === 'number' ? cache.hits + cache.misses : null;
  const wall = r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : null;
  if (images && wall && wall > 0 && typeof res.epochsRun === 'number') return (res.epochsRun * images) / wall;
  // Runs without cache counts (scenarios 3 and 4): their training images per second.
  return typeof res.imagesPerSec === 'number' && res.imagesPerSec > 0 ? res.imagesPerSec : null;
}

/** Median speed of the project's finished runs like `config` (same scenario, the same model first). */
function pastSpeed(history: readonly RunSummary[], config: TrainConfig): number | null {
  const done = history.filter((r) => r.state === 'succeeded' && r.kind === 'train' && r.scenario === config.scenario && wallSpeed(r) !== null);
  const same = done.filter((r) => r.model === config.model);
  const pool = (same.length ? same : done).map((r) => wallSpeed(r)!).sort((a, b) => a - b);
  return pool.length ? pool[Math.floor(pool.length / 2)]! : null;
}

/** The runs of the sweep, configuration by configuration (its folds together), with their rough time. */
export function planRuns(configs: readonly GridConfig[], folds: number | null, images: number, history: readonly RunSummary[]): SweepPlan {
  const runs: PlannedSweepRun[] = [];
  let measured = 0;
  // The default speed counts training images: each fold trains on (K-1)/K of the labelled images; without folds, the train split (~80%).
  const trainShare = folds ? (folds - 1) / folds : 0.8;
  configs.forEach((c, configIndex) => {
    const past = pastSpeed(history, c.config);
    if (past) measured++;
    const estimateSeconds = past
      ? (c.config.epochs * images) / past
      : RUN_OVERHEAD_SECONDS + (c.config.epochs * images * trainShare) / DEFAULT_IMAGES_PER_SEC[c.config.scenario];
    for (const fold of folds ? Array.from({ length: folds }, (_, k) => k) : [null])
      runs.push({ index: runs.length, configIndex, config: c.config, fold, label: c.label, estimateSeconds });
  });
  if (runs.length > MAX_SWEEP_RUNS)
    throw new StudioError('bad_input', `This sweep would make ${runs.length} runs (${configs.length} configurations${folds ? ` x ${folds} folds` : ''}); at most ${MAX_SWEEP_RUNS}: give fewer values.`, 'grid');
  const source =
    measured === configs.length
      ? "from the speed of this project's finished runs"
      : measured > 0
        ? `from this project's finished runs for ${measured} of ${configs.length} configurations, a rough default for the rest`
        : `a rough default (${Object.entries(DEFAULT_IMAGES_PER_SEC).map(([s, v]) => `scenario ${s}: ${v}`).join(', ')} training images/s): no run of the project has finished yet`;
  return {
    runs,
    configurations: configs.length,
    folds,
    images,
    estimate: { seconds: runs.reduce((s, r) => s + r.estimateSeconds, 0), source: `at most (early stopping may end runs sooner); ${source}` },
    grouping: null,
  };
}
