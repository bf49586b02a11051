/**
 * Which features the audit, the map and label next read: a run's model and cut layer (default:
 * the latest succeeded run, which the host picks when neither is given) or an installed model at
 * its default cut layer (before any run).
 */
import type { FeatureSourceChoice } from '../../../shared/api';
import type { InstalledModelInfo, RunSummary } from '../../../shared/domain';

export const DEFAULT_SOURCE = '';

export function sourceOptions(runs: readonly RunSummary[], models: readonly InstalledModelInfo[]): { value: string; label: string }[] {
  const succeeded = runs.filter((r) => r.state === 'succeeded').sort((a, b) => b.id - a.id);
  const opts = [{ value: DEFAULT_SOURCE, label: succeeded.length > 0 ? 'Latest run' : 'Default model' }];
  for (const r of succeeded) opts.push({ value: `run:${r.id}`, label: `Run ${r.id} (${r.model})` });
  for (const m of models.filter((x) => !x.hidden)) opts.push({ value: `model:${m.id}`, label: `${m.id} (no run)` });
  return opts;
}

export function parseSource(value: string): FeatureSourceChoice {
  if (value.startsWith('run:')) return { runId: Number(value.slice(4)) };
  if (value.startsWith('model:')) return { model: value.slice(6) };
  return {};
}
