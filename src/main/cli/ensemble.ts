/** How the CLI tells an ensemble's comparison with its best member (predict --runs). */
import type { EnsembleSummary } from '../../shared/domain';
import { viewsText } from '../../shared/tta';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** Lines: each member's and the ensemble's validation accuracy and loss, and the gain over the best member. */
export function ensembleLines(s: EnsembleSummary): string[] {
  if (!s.best || !s.ensemble || !s.gain)
    return [`Ensemble of runs ${s.runs.join(', ')}: no validation image has a prediction from every member, so its gain cannot be measured.`];
  const lines = [`Ensemble of runs ${s.runs.join(', ')} on ${s.images} validation image(s), predictions ${viewsText(s.views)}:`];
  for (const m of s.members) lines.push(`  run ${String(m.runId).padEnd(6)} accuracy ${pct(m.accuracy).padStart(6)}  loss ${m.loss.toFixed(4)}${m.runId === s.best.runId ? '  (best member)' : ''}`);
  lines.push(`  ensemble   accuracy ${pct(s.ensemble.accuracy).padStart(6)}  loss ${s.ensemble.loss.toFixed(4)}`);
  lines.push(`Gain over the best member (run ${s.best.runId}): accuracy ${signed(s.gain.accuracy * 100, 1)} points, loss ${signed(-s.gain.loss, 4)}`);
  return lines;
}
