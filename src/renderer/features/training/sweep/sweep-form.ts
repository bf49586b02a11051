/** The Sweep form's fields as the sweep request (the grid read by src/shared/sweep-text.ts, as the CLI reads its flags). */
import { sweepRequestSchema, type SweepField, type SweepRequestInput } from '../../../../shared/domain';
import { StudioError } from '../../../../shared/errors';
import { gridFromText } from '../../../../shared/sweep-text';

export interface SweepFormValues {
  grid: Partial<Record<SweepField, string>>;
  /** Blank: no cross-validation. */
  folds: string;
  on: 'local' | 'slurm';
  /** login: the cluster's login node (ssh://...) when this machine has no Slurm commands. */
  slurm: { partition: string; gres: string; time: string; workdir: string; login?: string };
}

export const EMPTY_FORM: SweepFormValues = {
  grid: { scenario: '1', lr: '0.001, 0.0003', seed: '1' },
  folds: '',
  on: 'local',
  slurm: { partition: '', gres: '', time: '', workdir: '' },
};

/** The request, or a bad_request naming the form field at fault ('lr', 'folds', 'slurm.time'...). */
export function sweepRequestOf(form: SweepFormValues, defaultModel: string | undefined): SweepRequestInput {
  const grid = { ...gridFromText(form.grid) };
  if (!grid.model) {
    if (!defaultModel) throw new StudioError('bad_request', 'model: install a model first (Models screen).', 'model');
    grid.model = [defaultModel];
  }
  grid.scenario ??= [1];
  const folds = form.folds.trim() === '' ? undefined : Number(form.folds);
  const slurm = Object.fromEntries(Object.entries(form.slurm).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
  const req = { grid, ...(folds === undefined ? {} : { folds }), on: form.on, ...(form.on === 'slurm' && Object.keys(slurm).length ? { slurm } : {}) };
  const parsed = sweepRequestSchema.safeParse(req);
  if (parsed.success) return req as SweepRequestInput;
  const issue = parsed.error.issues[0]!;
  const field = issue.path[0] === 'grid' ? String(issue.path[1]) : issue.path.slice(0, 2).join('.');
  throw new StudioError('bad_request', `${field}: ${issue.message}`, field);
}

/** Seconds as the plan shows them. */
export function roughDuration(s: number): string {
  return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
