/** How the CLI tells an ensemble's comparison with its best member (predict --runs), and picks a sweep's ensemble (predict --sweep). */
import type { EnsembleSummary } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { bestOfSweep, foldEnsembleText, foldsOfSweep, type SweepEnsemble } from '../../shared/sweep-ensembles';
import type { Studio } from '../host/studio';
import { runOption, type OptionValue } from './options';
import { viewsText } from '../../shared/tta';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** Lines: each member's and the ensemble's validation accuracy and loss, and the gain over the best member. */
export function ensembleLines(s: EnsembleSummary): string[] {
  const folds = foldEnsembleText(s);
  if (folds) return [folds];
  if (!s.best || !s.ensemble || !s.gain)
    return [`Ensemble of runs ${s.runs.join(', ')}: no validation image has a prediction from every member, so its gain cannot be measured.`];
  const lines = [`Ensemble of runs ${s.runs.join(', ')} on ${s.images} validation image(s), predictions ${viewsText(s.views)}:`];
  for (const m of s.members) lines.push(`  run ${String(m.runId).padEnd(6)} accuracy ${pct(m.accuracy).padStart(6)}  loss ${m.loss.toFixed(4)}${m.runId === s.best.runId ? '  (best member)' : ''}`);
  lines.push(`  ensemble   accuracy ${pct(s.ensemble.accuracy).padStart(6)}  loss ${s.ensemble.loss.toFixed(4)}`);
  lines.push(`Gain over the best member (run ${s.best.runId}): accuracy ${signed(s.gain.accuracy * 100, 1)} points, loss ${signed(-s.gain.loss, 4)}`);
  return lines;
}

/** `--sweep ID --best N | --folds C`: the sweep's runs they name (undefined without --sweep); refused beside --run/--runs. */
export async function sweepEnsembleOption(studio: Studio, values: Record<string, OptionValue>): Promise<SweepEnsemble | undefined> {
  const sweep = runOption(values.sweep, '--sweep');
  if (sweep === undefined) {
    const stray = (['best', 'folds'] as const).find((k) => values[k] !== undefined);
    if (stray) throw new StudioError('bad_request', `--${stray} picks runs of a sweep: it goes with --sweep ID.`, stray);
    return undefined;
  }
  const other = (['run', 'runs'] as const).find((k) => values[k] !== undefined);
  if (other) throw new StudioError('bad_request', `--sweep picks the ensemble's runs itself; not with --${other}.`, other);
  if ((values.best === undefined) === (values.folds === undefined)) throw new StudioError('bad_request', '--sweep ID takes --best N (its N best runs) or --folds C (the fold models of its configuration C).', 'sweep');
  const board = await studio.call('sweepLeaderboard', { id: sweep });
  if (values.best !== undefined) return bestOfSweep(board, runOption(values.best, '--best')!);
  return foldsOfSweep(board, runOption(values.folds, '--folds')!);
}
