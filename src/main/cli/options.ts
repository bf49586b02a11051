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
