/**
 * `transfer-studio sweep`: a grid of training runs (comma lists per flag), optionally k-fold, planned
 * and shown before it starts (--plan: only that), executed here or on Slurm, followed to its end
 * with a line per finished run, and reported as a leaderboard (--json: every run with its id,
 * configuration, fold, state and metrics). --resume SWEEP runs again what did not succeed.
 */
import { isJobOf, type JobInfo } from '../../shared/api';
import { sortLeaderboard, sweepRequestSchema, type Leaderboard, type LeaderboardSort, type MeanSd, type SweepPlan, type SweepRequestInput } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { ENGINE_OPTION, type Command, type Values } from './command';
import { logAboveProgress, watchJob } from './jobs';
import { numberOption, runOption, stringOption } from './options';
import { chooseModel } from './training';
import { commaList, gridFromText } from '../../shared/sweep-text';
import type { Studio } from '../host/studio';

/** Grid field -> its flag, so a refused value names what the user typed. */
const FLAG_OF: Record<string, string> = {
  scenario: 'scenarios',
  model: 'models',
  cutLayer: 'cut',
  freezeTo: 'freeze-to',
  lr: 'lr',
  headSize: 'head',
  augment: 'augment',
  seed: 'seeds',
  epochs: 'epochs',
  patience: 'patience',
  batchSize: 'batch',
  folds: 'folds',
  foldSeed: 'fold-seed',
  on: 'on',
  partition: 'partition',
  gres: 'gres',
  time: 'time',
  workdir: 'workdir',
  login: 'login',
};

/** The grid's field each flag sets. */
const FIELD_OF = Object.fromEntries(Object.entries(FLAG_OF).map(([field, flag]) => [flag, field]));

/** A bad value's error, naming the flag instead of the grid field. */
function asFlag(err: unknown): StudioError {
  const e = StudioError.from(err);
  const flag = e.field ? (FLAG_OF[e.field] ?? e.field) : undefined;
  return flag ? new StudioError(e.code, `--${flag}: ${e.message.replace(/^\w+: /, '')}`, flag) : e;
}

/** The request from the flags, checked by the contract's schema (a bad value names its flag). */
function sweepRequest(values: Values, models: string[]): SweepRequestInput {
  const texts = Object.fromEntries(
    ['scenarios', 'cut', 'freeze-to', 'lr', 'head', 'augment', 'seeds', 'epochs', 'patience', 'batch'].flatMap((flag) => {
      const v = stringOption(values[flag]);
      return v === undefined ? [] : [[FIELD_OF[flag]!, v]];
    }),
  );
  let grid: Record<string, unknown>;
  try {
    grid = { scenario: [1], ...gridFromText(texts), model: models };
  } catch (err) {
    throw asFlag(err);
  }
  const on = stringOption(values.on) ?? 'local';
  const slurm = Object.fromEntries((['partition', 'gres', 'time', 'workdir', 'login'] as const).flatMap((k) => (values[k] === undefined ? [] : [[k, stringOption(values[k])]])));
  if (on !== 'slurm' && Object.keys(slurm).length) throw new StudioError('bad_request', `--${Object.keys(slurm)[0]} is a Slurm option: it goes with --on slurm.`, Object.keys(slurm)[0]);
  // --engine ssh://login... with --on slurm: the cluster is reached through that host (its login node).
  const engine = stringOption(values.engine);
  if (on === 'slurm' && slurm['login'] === undefined && engine?.startsWith('ssh://')) slurm['login'] = engine;
  const req = {
    grid,
    ...(values.folds !== undefined ? { folds: numberOption(values.folds, 'folds', 0) } : {}),
    ...(values['fold-seed'] !== undefined ? { foldSeed: numberOption(values['fold-seed'], 'fold-seed', 42) } : {}),
    on,
    ...(on === 'slurm' && Object.keys(slurm).length ? { slurm } : {}),
  };
  const parsed = sweepRequestSchema.safeParse(req);
  if (parsed.success) return req as SweepRequestInput;
  const issue = parsed.error.issues[0]!;
  // ['grid', 'lr', 1] -> --lr; ['slurm', 'time'] -> --time; ['folds'] -> --folds.
  const field = String(issue.path[0] === 'grid' || issue.path[0] === 'slurm' ? issue.path[1] : issue.path[0]);
  const flag = FLAG_OF[field] ?? field;
  throw new StudioError('bad_request', `--${flag}: ${issue.message}`, flag);
}

const pct = (x: number | null | undefined): string => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '-');
const pm = (m: MeanSd | null, f: (x: number) => string): string => (m === null ? '-' : m.n > 1 ? `${f(m.mean)} ± ${f(m.sd)}` : f(m.mean));
const duration = (s: number): string => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function planText(plan: SweepPlan): string {
  const lines = [
    `${plan.runs.length} run(s): ${plan.configurations} configuration(s)${plan.folds ? ` x ${plan.folds} folds` : ''} on ${plan.images} labelled image(s)`,
    ...plan.runs.map((r) => `  ${String(r.index + 1).padStart(3)}. ${r.label}${r.fold !== null ? `, fold ${r.fold + 1}/${plan.folds}` : ''}  ~${duration(r.estimateSeconds)}`),
    `Estimated time: ~${duration(plan.estimate.seconds)} (${plan.estimate.source})`,
    ...(plan.grouping ? [`${plan.grouping.audited ? '' : 'Warning: '}${plan.grouping.text}`] : []),
  ];
  return lines.join('\n');
}

type SortKey = LeaderboardSort;

function leaderboardText(board: Leaderboard, by: SortKey): string {
  const s = board.sweep;
  const lines = [`Sweep ${s.id} ${s.state}: ${s.counts.succeeded} succeeded, ${s.counts.failed} failed, ${s.counts.cancelled} cancelled${s.folds ? ` (${s.folds}-fold)` : ''}`];
  lines.push(`  ${'configuration'.padEnd(40)} ${'val acc'.padStart(15)} ${'val loss'.padStart(17)} ${'time'.padStart(8)}  runs`);
  for (const r of sortLeaderboard(board.rows, by))
    lines.push(
      `  ${`#${r.configIndex + 1} ${r.label}`.slice(0, 40).padEnd(40)} ${pm(r.valAcc, (x) => pct(x)).padStart(15)} ${pm(r.valLoss, (x) => x.toFixed(4)).padStart(17)} ${(r.seconds === null ? '-' : duration(r.seconds)).padStart(8)}  ${r.runs.map((x) => `${x.id}${x.state === 'succeeded' ? '' : ` (${x.state})`}`).join(', ')}${r.cvRunId ? `; out-of-fold run ${r.cvRunId}: ${pct(r.oofAcc)}` : ''}`,
    );
  lines.push(`Majority baseline: ${pct(board.baseline)}`);
  return lines.join('\n');
}

/** --json: the sweep, the baseline, every run (id, configuration, fold, state, metrics) and the leaderboard rows. */
function boardJson(board: Leaderboard): Record<string, unknown> {
  return {
    sweep: board.sweep,
    baseline: board.baseline,
    runs: board.rows.flatMap((row) =>
      row.runs.map((r) => ({ id: r.id, configIndex: row.configIndex, configuration: row.label, config: row.config, fold: r.fold, state: r.state, valAccuracy: r.valAcc, valLoss: r.valLoss, seconds: r.seconds, error: r.error })),
    ),
    leaderboard: board.rows,
  };
}

/** Follows the sweep job to its end, a line per run that ends; the leaderboard, or the sweep's failure. */
async function followSweep(studio: Studio, job: JobInfo<'sweep'>, sweepId: number, by: SortKey): Promise<{ json: Record<string, unknown>; text: string }> {
  const off = studio.on('job.finished', (j) => {
    if (!isJobOf(j, 'train')) return;
    const r = j.result;
    logAboveProgress(r ? `run ${r.runId} succeeded` : `run ${j.state}: ${j.error?.message ?? ''}`);
  });
  const done = await watchJob(studio, job).finally(off);
  const board = await studio.call('sweepLeaderboard', { id: sweepId });
  if (done.state === 'succeeded' && board.sweep.state === 'succeeded') return { json: boardJson(board), text: leaderboardText(board, by) };
  process.stderr.write(leaderboardText(board, by) + '\n');
  // Why each run did not succeed (on Slurm: the task's state and Slurm's reason).
  for (const r of board.rows.flatMap((row) => row.runs)) if (r.state !== 'succeeded' && r.error) process.stderr.write(`  run ${r.id} ${r.state}: ${r.error}\n`);
  const c = board.sweep.counts;
  const message = `Sweep ${sweepId} ${done.state === 'cancelled' ? 'cancelled' : board.sweep.state}: ${c.succeeded} of ${c.succeeded + c.failed + c.cancelled + c.running} runs succeeded; run the rest again with --resume ${sweepId}.`;
  throw new StudioError(done.state === 'cancelled' ? 'cancelled' : 'engine_failed', message);
}

export const sweepCommands: Command[] = [
  {
    name: 'sweep',
    args: 'DIR [--scenarios 1,2] [--models A,B] [--cut L1,L2] [--freeze-to L1,L2] [--lr X,Y] [--head 128,0] [--augment on,off] [--seeds 1,2,3] [--epochs N] [--patience N] [--batch N] [--folds K] [--fold-seed N] [--on local|slurm [--partition P] [--gres gpu:1] [--time T] [--workdir PATH] [--login ssh://[user@]host[:port][/path]]] [--plan] [--sort acc|loss|time] | DIR --resume SWEEP',
    summary: 'Train a grid of runs (every combination of the comma lists; --folds K: k-fold cross-validation), shown as a plan first; prints the leaderboard vs the majority baseline.',
    options: {
      scenarios: { type: 'string' },
      models: { type: 'string' },
      cut: { type: 'string' },
      'freeze-to': { type: 'string' },
      lr: { type: 'string' },
      head: { type: 'string' },
      augment: { type: 'string' },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      batch: { type: 'string' },
      folds: { type: 'string' },
      'fold-seed': { type: 'string' },
      on: { type: 'string' },
      partition: { type: 'string' },
      gres: { type: 'string' },
      time: { type: 'string' },
      workdir: { type: 'string' },
      login: { type: 'string' },
      plan: { type: 'boolean' },
      sort: { type: 'string' },
      resume: { type: 'string' },
      ...ENGINE_OPTION,
    },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const sort = (stringOption(values.sort) ?? 'acc') as SortKey;
      if (!['acc', 'loss', 'time'].includes(sort)) throw new StudioError('bad_request', `--sort must be acc, loss or time, not ${sort}.`, 'sort');
      const resume = runOption(values.resume, '--resume');
      if (resume !== undefined) {
        const other = Object.keys(values).filter((k) => !['resume', 'engine', 'json', 'help', 'sort'].includes(k) && values[k] !== undefined);
        if (other.length) throw new StudioError('bad_request', `--resume runs a sweep again with its own grid; not with --${other[0]}.`, 'resume');
        await studio.call('openProject', { dir: args[0]! });
        const { job, runIds } = await studio.call('resumeSweep', { id: resume });
        logAboveProgress(`Running again ${runIds.length} run(s) of sweep ${resume}: ${runIds.join(', ')}`);
        return followSweep(studio, job, resume, sort);
      }
      await studio.call('openProject', { dir: args[0]! });
      let models: string[] | undefined;
      try {
        models = commaList(stringOption(values.models), 'model');
      } catch (err) {
        throw asFlag(err);
      }
      models ??= [await chooseModel(studio, undefined)];
      const req = sweepRequest(values, models);
      // A value the engine refuses names its grid field: say which flag that is.
      if (values.plan) {
        const plan = await studio.call('planSweep', req).catch((err: unknown) => Promise.reject(asFlag(err)));
        return { json: { plan }, text: planText(plan) };
      }
      const { job, sweepId, plan } = await studio.call('startSweep', req).catch((err: unknown) => Promise.reject(asFlag(err)));
      process.stderr.write(`Sweep ${sweepId}: ${planText(plan)}\n`);
      return followSweep(studio, job, sweepId, sort);
    },
  },
];
