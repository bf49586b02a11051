/**
 * The leaderboard of a sweep: one row per configuration (its run, or its K fold runs with mean ±
 * standard deviation), from the runs in the store, so it reads the same while the sweep runs and after.
 */
import type { LeaderboardRow, MeanSd, RunState, RunSummary, SweepGrid } from '../../shared/domain';
import { gridConfigs } from './sweep-grid';

export function meanSd(values: readonly number[]): MeanSd | null {
  if (values.length === 0) return null;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd, n: values.length };
}

const seconds = (r: RunSummary): number | null => (r.finishedAt ? (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000 : null);

/** Runs' states as one: running while any runs, else failed if any failed, cancelled if any was, else succeeded. */
function overall(states: readonly RunState[]): RunState {
  for (const s of ['running', 'failed', 'cancelled'] as const) if (states.includes(s)) return s;
  return 'succeeded';
}

/** Rows in the order the sweep made its configurations. */
export function leaderboardRows(grid: SweepGrid, runs: readonly RunSummary[]): LeaderboardRow[] {
  const labels = new Map(gridConfigs(grid).map((c) => [JSON.stringify(c.config), c.label]));
  const byConfig = new Map<string, { train: RunSummary[]; cv: RunSummary | null }>();
  for (const r of runs) {
    const key = JSON.stringify(r.config);
    const entry = byConfig.get(key) ?? { train: [], cv: null };
    if (r.kind === 'cv') entry.cv = r;
    else entry.train.push(r);
    byConfig.set(key, entry);
  }
  return [...byConfig].flatMap(([key, { train, cv }], configIndex) => {
    if (train.length === 0) return [];
    const ok = train.filter((r) => r.state === 'succeeded');
    const times = train.map(seconds).filter((s): s is number => s !== null);
    return [
      {
        configIndex,
        label: labels.get(key) ?? `scenario ${train[0]!.scenario}, ${train[0]!.model}`,
        config: train[0]!.config,
        runs: train.map((r) => ({ id: r.id, fold: r.fold, state: r.state, valAcc: r.bestValAcc, valLoss: r.bestValLoss, seconds: seconds(r), error: r.error })),
        valAcc: meanSd(ok.flatMap((r) => (r.bestValAcc === null ? [] : [r.bestValAcc]))),
        valLoss: meanSd(ok.flatMap((r) => (r.bestValLoss === null ? [] : [r.bestValLoss]))),
        seconds: times.length ? times.reduce((s, v) => s + v, 0) : null,
        state: overall(train.map((r) => r.state)),
        cvRunId: cv?.id ?? null,
        oofAcc: cv?.bestValAcc ?? null,
      },
    ];
  });
}
