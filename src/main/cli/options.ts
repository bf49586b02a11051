/** Option values of CLI commands, parsed the same way by every command module (bad values: exit 2 naming the flag). */
import { StudioError } from '../../shared/errors';

export type OptionValue = string | boolean | undefined;

/** A number option, or `fallback` when absent. */
export function numberOption(v: OptionValue, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new StudioError('bad_request', `--${name} must be a number, not ${String(v)}`, name);
  return n;
}

/** `--run ID`: a run number, or undefined (the latest succeeded run) when absent. */
export function runOption(v: OptionValue, flag = '--run'): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new StudioError('bad_request', `${flag} must be a run number, not ${String(v)}`, flag.replace(/^--/, ''));
  return n;
}

/** A string option, or undefined when absent. */
export const stringOption = (v: OptionValue): string | undefined => (typeof v === 'string' ? v : undefined);

/** `--runs A,B,C`: an ensemble's runs (two or more, each once), or undefined when absent. */
export function runsOption(v: OptionValue): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new StudioError('bad_request', '--runs takes run numbers separated by commas, e.g. --runs 3,4,5', 'runs');
  const runs = v.split(',').map((part) => runOption(part.trim(), '--runs'));
  if (runs.length < 2) throw new StudioError('bad_request', `--runs takes two runs or more (an ensemble); for one run use --run ${v.trim()}`, 'runs');
  const twice = runs.find((r, i) => runs.indexOf(r) !== i);
  if (twice !== undefined) throw new StudioError('bad_request', `--runs lists run ${twice} twice`, 'runs');
  return runs as number[];
}

/** `--run ID` and `--runs A,B,C` together: refused (one run, or an ensemble). */
export function runOrRuns(values: Record<string, OptionValue>): { runId?: number; runs?: number[] } {
  const runId = runOption(values.run);
  const runs = runsOption(values.runs);
  if (runId !== undefined && runs !== undefined) throw new StudioError('bad_request', '--run and --runs cannot be combined: one run, or an ensemble of several.', 'runs');
  return { ...(runId !== undefined ? { runId } : {}), ...(runs !== undefined ? { runs } : {}) };
}
