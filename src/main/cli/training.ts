/**
 * `transfer-studio advise`, `train` and `predict` (added to the table in cli.ts): the advisor's
 * recommendation; a TrainConfig built from flags and validated by the contract's schema (a bad
 * value names its flag, exit 2), a run started and followed to its end; and prediction of the
 * test split or of a folder imported as test images.
 */
import path from 'node:path';
import type { JobInfo } from '../../shared/api';
import { inferenceLabel, similarityAnswerSchema, trainConfigSchema, type AdviceInfo, type SimilarityAnswer, type RunDetail, type Split, type TrainConfigInput } from '../../shared/domain';
import type { ImportReport } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { ENGINE_OPTION, type Command } from './command';
import { logAboveProgress, waitForJob, watchJob } from './jobs';
import { ensembleLines, sweepEnsembleOption } from './ensemble';
import { runOption, runOrRuns, stringOption, type OptionValue } from './options';
import { viewsText } from '../../shared/tta';
import type { Studio } from '../host/studio';

/** TrainConfig field -> the flag that sets it, so schema errors name what the user typed. */
const FLAG_OF: Record<string, string> = {
  scenario: '--scenario',
  model: '--model',
  cutLayer: '--cut',
  freezeTo: '--freeze-to',
  epochs: '--epochs',
  patience: '--patience',
  batchSize: '--batch',
  lr: '--lr',
  augment: '--augment',
  seed: '--seed',
};

/** A numeric flag as typed; non-numbers become NaN so the schema rejects them with the flag's name. */
const num = (v: OptionValue): number | undefined => (typeof v === 'string' ? (v.trim() === '' ? Number.NaN : Number(v)) : undefined);

/** Follows a training job to its end (an epoch line each on a TTY); the run, or its error. */
async function followRun(studio: Studio, job: JobInfo<'train'>, runId: number, advice?: AdviceInfo): Promise<{ json: Record<string, unknown>; text: string }> {
  const off = studio.on('run.epoch', (e) => {
    const m = e.metrics;
    if (e.runId === runId) logAboveProgress(`epoch ${m.epoch}: loss ${m.trainLoss.toFixed(4)}, acc ${pct(m.trainAcc)}, val loss ${m.valLoss?.toFixed(4) ?? '-'}, val acc ${pct(m.valAcc)}`);
  });
  const done = await watchJob(studio, job).finally(off);
  const run = await studio.call('getRun', { id: runId });
  if (done.state !== 'succeeded') {
    const e = StudioError.from(done.error ?? new Error('Training failed.'));
    throw new StudioError(e.code, `Run ${runId} ${run.state}: ${e.message}`, e.field);
  }
  return { json: { run: runJson(run), ...(advice ? { advice } : {}) }, text: runText(run, advice) };
}

/** The model to train on: --model, or the only one not hidden (the built-in one on a fresh machine). */
export async function chooseModel(studio: Studio, flag: string | undefined): Promise<string> {
  if (flag !== undefined) return flag;
  const listed = await studio.call('listModels', {});
  const installed = listed.filter((m) => !m.hidden);
  if (installed.length === 1) return installed[0]!.id;
  const hidden = listed.length > 0 ? ` (hidden: ${listed.map((m) => m.id).join(', ')}; show one with transfer-studio models hide NAME --show, or name it with --model)` : '';
  throw new StudioError(
    'bad_request',
    installed.length === 0
      ? `no model is installed${hidden}: import one (transfer-studio models import FOLDER) or download one (transfer-studio models download NAME).`
      : `several models are installed; choose one with --model (${installed.map((m) => m.id).join(', ')}).`,
    'model',
  );
}

function buildConfig(values: Record<string, OptionValue>, scenario: number, model: string): TrainConfigInput {
  const cfg: Record<string, unknown> = { scenario, model };
  const cut = stringOption(values.cut);
  const freezeTo = stringOption(values['freeze-to']);
  if (cut !== undefined) cfg.cutLayer = cut;
  if (freezeTo !== undefined) cfg.freezeTo = freezeTo;
  if (values.epochs !== undefined) cfg.epochs = num(values.epochs);
  if (values.patience !== undefined) cfg.patience = num(values.patience);
  if (values.batch !== undefined) cfg.batchSize = num(values.batch);
  if (values.lr !== undefined) cfg.lr = num(values.lr);
  if (values.seed !== undefined) cfg.seed = num(values.seed);
  if (values.augment === true && values['no-augment'] === true) throw new StudioError('bad_request', '--augment and --no-augment contradict each other.', 'augment');
  if (values.augment === true) cfg.augment = {};
  if (values['no-augment'] === true) cfg.augment = null;
  const parsed = trainConfigSchema.safeParse(cfg);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = String(issue.path[0] ?? '');
  const flag = FLAG_OF[field] ?? field;
  const name = flag.replace(/^--/, '');
  const raw = values[name];
  const given = typeof raw === 'string' ? ` (got ${raw})` : '';
  // `field` is the flag's name, as for every other CLI option error.
  throw new StudioError('bad_request', `${flag}: ${issue.message}${given}`, name);
}

const pct = (x: number | null | undefined): string => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '-');
const secs = (ms: unknown): string => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '-');

/** What --json reports for a run: stable keys, the numbers a script needs. */
function runJson(run: RunDetail): Record<string, unknown> {
  const r = run.result ?? {};
  const cache = r.cache as { hits: number; misses: number } | undefined;
  const totalMs = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null;
  return {
    id: run.id,
    state: run.state,
    scenario: run.scenario,
    model: run.model,
    config: run.config,
    backend: run.backend,
    classNames: run.classNames,
    epochsRun: typeof r.epochsRun === 'number' ? r.epochsRun : run.metrics.length,
    metrics: run.metrics,
    bestEpoch: run.bestEpoch,
    valAccuracy: run.bestValAcc,
    valLoss: run.bestValLoss,
    baseline: run.baseline,
    beatsBaseline: run.bestValAcc !== null && run.baseline !== null ? run.bestValAcc > run.baseline : null,
    confusion: run.confusion,
    cache: cache ?? null,
    // Scenarios 2-4: what trained, what was frozen and how, and any automatic batch reduction.
    frozenLayersUpTo: r.freezeTo ?? null,
    frozenParams: r.frozenParams ?? null,
    trainableParams: r.trainableParams ?? null,
    frozenPart: r.frozenPart ?? null,
    frozenKind: r.frozenKind ?? null,
    headKind: r.headKind ?? null,
    // Scenarios 2-4: the runtime and provider of the training steps ('tfjs' with the reason when not ONNX Runtime).
    trainingRuntime: run.backend?.training ?? null,
    imagesPerSec: r.imagesPerSec ?? null,
    stepImagesPerSec: r.stepImagesPerSec ?? null,
    batchSize: r.batchSize ?? run.config.batchSize,
    batchReductions: r.batchReductions ?? [],
    initialValLoss: r.initialValLoss ?? null,
    durations: { extractMs: r.extractMs ?? null, trainMs: r.trainMs ?? null, totalMs },
    predictions: r.predictions ?? null,
    // The run's log lines: the engine's backend and how it was chosen, fallbacks, skipped images.
    log: r.log ?? [],
    error: run.error,
  };
}

function runText(run: RunDetail, advice: AdviceInfo | undefined): string {
  const lines: string[] = [];
  if (advice) lines.push(`Scenario ${advice.scenario} (advisor): ${advice.reason}${advice.scenario === 2 && advice.freezeTo ? ` Frozen up to ${advice.freezeTo}.` : ''}`);
  const b = run.backend;
  lines.push(`Run ${run.id} ${run.state}: scenario ${run.scenario}, model ${run.model}, backend ${b ? `${b.name}${b.simd ? ' SIMD' : ''} ${b.threads} thread(s); frozen forward: ${inferenceLabel(b.inference)}${b.training ? `; training steps: ${inferenceLabel(b.training)}` : ''}${b.server ? `; on ${b.server.hostname} (${b.server.address})` : ''}` : 'unknown'}`);
  lines.push('epoch  train loss  train acc  val loss  val acc');
  for (const m of run.metrics)
    lines.push(`${String(m.epoch).padStart(5)}  ${m.trainLoss.toFixed(4).padStart(10)}  ${pct(m.trainAcc).padStart(9)}  ${(m.valLoss?.toFixed(4) ?? '-').padStart(8)}  ${pct(m.valAcc).padStart(7)}`);
  const beats = run.bestValAcc !== null && run.baseline !== null && run.bestValAcc <= run.baseline ? '  << does NOT beat the baseline' : '';
  lines.push(`Best epoch ${run.bestEpoch ?? '-'}: validation accuracy ${pct(run.bestValAcc)} vs majority baseline ${pct(run.baseline)}${beats}`);
  const cm = run.confusion;
  if (cm && cm.classNames.length <= 12) {
    const w = Math.max(5, ...cm.classNames.map((n) => n.length), ...cm.matrix.flat().map((v) => String(v).length)) + 1;
    lines.push('Validation confusion matrix (rows: true, columns: predicted):');
    lines.push(''.padStart(w) + cm.classNames.map((n) => n.slice(0, w - 1).padStart(w)).join(''));
    cm.matrix.forEach((row, i) => lines.push(cm.classNames[i]!.slice(0, w - 1).padStart(w) + row.map((v) => String(v).padStart(w)).join('')));
  }
  const r = run.result ?? {};
  const cache = r.cache as { hits: number; misses: number } | undefined;
  if (cache) lines.push(`Features: ${cache.misses} extracted, ${cache.hits} from the cache; extraction ${secs(r.extractMs)}, training ${secs(r.trainMs)}${r.headKind ? ` (head on ${r.headKind})` : ''}`);
  return lines.join('\n');
}

/** Per-class counts of a run's (or an ensemble's) predictions on a split (the listPredictions totals). */
async function predictedPerClass(studio: Studio, source: { runId: number } | { runs: number[] }, classNames: string[], split: Split): Promise<{ name: string; count: number }[]> {
  const out: { name: string; count: number }[] = [];
  for (let i = 0; i < classNames.length; i++) {
    const page = await studio.call('listPredictions', { ...source, split, predictedIndex: i, limit: 1 });
    out.push({ name: classNames[i]!, count: page.total });
  }
  return out;
}

/** `--similarity`: the user's judgement of how alike the images are to the pretrained data (else the studio estimates it). */
function similarityOption(v: OptionValue): SimilarityAnswer | undefined {
  const s = stringOption(v);
  if (s === undefined) return undefined;
  const r = similarityAnswerSchema.safeParse(s);
  if (r.success) return r.data;
  throw new StudioError('bad_request', `--similarity must be ${similarityAnswerSchema.options.join(', ')}, not ${s}.`, 'similarity');
}

function adviceText(a: AdviceInfo): string {
  const lines = [`Scenario ${a.scenario}: ${a.reason}`];
  if (a.scenario === 2 && a.freezeTo) lines.push(`Freeze up to ${a.freezeTo} (k = ${a.k ?? '?'} of ${a.blocks ?? '?'} blocks)`);
  lines.push(`Data: ${a.size} (${a.smallestClass} labelled images in the smallest class); similarity ${a.similarity} (${a.similaritySource})`);
  for (const r of a.reasons.slice(1)) lines.push(`  - ${r}`);
  if (a.estimateNote) lines.push(`  (${a.estimateNote})`);
  return lines.join('\n');
}

export const trainingCommands: Command[] = [
  {
    name: 'advise',
    args: 'DIR [--model NAME] [--similarity high|medium|low|unknown] [--engine ssh://...]',
    summary: 'Recommended scenario, k (blocks frozen in scenario 2) and why, from the labelled images and the similarity (yours, else estimated).',
    options: { model: { type: 'string' }, similarity: { type: 'string' }, ...ENGINE_OPTION },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const similarity = similarityOption(values.similarity);
      await studio.call('openProject', { dir: args[0]! });
      const model = stringOption(values.model);
      const advice = await studio.call('advise', { ...(model !== undefined ? { model } : {}), ...(similarity !== undefined ? { similarity } : {}) });
      return { json: { advice }, text: adviceText(advice) };
    },
  },
  {
    name: 'train',
    args: 'DIR --scenario 1|2|3|4|auto [--similarity high|medium|low] [--model NAME] [--cut LAYER] [--freeze-to LAYER] [--epochs N] [--patience N] [--batch N] [--lr X] [--augment | --no-augment] [--seed N] | DIR --resume RUN [--epochs N]  [--engine ssh://[user@]host[:port][/path]]',
    summary: 'Train a classifier on the labelled train/val images (default model: the only one not hidden, e.g. the built-in MobileNet v1 0.25); prints metrics vs the majority baseline.',
    options: {
      scenario: { type: 'string' },
      similarity: { type: 'string' },
      model: { type: 'string' },
      cut: { type: 'string' },
      'freeze-to': { type: 'string' },
      epochs: { type: 'string' },
      patience: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      augment: { type: 'boolean' },
      'no-augment': { type: 'boolean' },
      seed: { type: 'string' },
      resume: { type: 'string' },
      ...ENGINE_OPTION,
    },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const resume = runOption(values.resume, '--resume');
      if (resume !== undefined) {
        // A cancelled or failed run continues from its checkpoint with its own settings (only --epochs may change).
        const other = Object.keys(values).filter((k) => !['resume', 'epochs', 'engine', 'json', 'help'].includes(k) && values[k] !== undefined);
        if (other.length) throw new StudioError('bad_request', `--resume continues a run with its own settings; only --epochs can go with it, not --${other[0]}.`, 'resume');
        await studio.call('openProject', { dir: args[0]! });
        const epochs = num(values.epochs);
        if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1 && epochs <= 1000)) throw new StudioError('bad_request', `--epochs must be a whole number from 1 to 1000, not ${String(values.epochs)}.`, 'epochs');
        const { job, runId } = await studio.call('resumeRun', { id: resume, ...(epochs === undefined ? {} : { epochs }) });
        return followRun(studio, job, runId);
      }
      const scenarioFlag = stringOption(values.scenario);
      if (scenarioFlag === undefined) throw new StudioError('bad_request', 'missing --scenario 1|2|3|4|auto.', 'scenario');
      if (!/^(auto|[1-4])$/.test(scenarioFlag)) throw new StudioError('bad_request', `--scenario must be 1, 2, 3, 4 or auto, not ${scenarioFlag}.`, 'scenario');
      const similarity = similarityOption(values.similarity);
      if (similarity !== undefined && scenarioFlag !== 'auto') throw new StudioError('bad_request', '--similarity is for --scenario auto (it informs the advisor).', 'similarity');
      await studio.call('openProject', { dir: args[0]! });
      const model = await chooseModel(studio, stringOption(values.model));
      // auto: the advisor's scenario (and for scenario 2 its freeze boundary, unless --freeze-to says otherwise).
      const advice = scenarioFlag === 'auto' ? await studio.call('advise', { model, ...(similarity ? { similarity } : {}) }) : undefined;
      const freezeTo = values['freeze-to'] ?? (advice?.scenario === 2 ? (advice.freezeTo ?? undefined) : undefined);
      const config = buildConfig({ ...values, 'freeze-to': freezeTo }, advice?.scenario ?? Number(scenarioFlag), model);
      const { job, runId } = await studio.call('startTraining', { config });
      return followRun(studio, job, runId, advice);
    },
  },
  {
    name: 'predict',
    args: 'DIR [--run ID | --runs A,B,C | --sweep ID (--best N | --folds C)] [--tta] [--split test|val|train | --folder PATH] [--engine ssh://...]',
    summary:
      'Predict the test split (or a folder, imported as test images first) with a run (default: the latest succeeded) or an ensemble (--runs: each member predicts, their probabilities are averaged; says by how much it beats its best member on the validation images), with test-time augmentation (--tta: each image also mirrored, shifted and zoomed, averaged); the predictions are stored. --sweep ID --best N: the sweep\'s N best runs by validation accuracy; --sweep ID --folds C: the fold models of its configuration C (numbered as its leaderboard shows them); both resolve to --runs and say which.',
    options: { run: { type: 'string' }, runs: { type: 'string' }, sweep: { type: 'string' }, best: { type: 'string' }, folds: { type: 'string' }, tta: { type: 'boolean' }, split: { type: 'string' }, folder: { type: 'string' }, ...ENGINE_OPTION },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const folder = stringOption(values.folder);
      const splitFlag = stringOption(values.split);
      if (folder !== undefined && splitFlag !== undefined) throw new StudioError('bad_request', '--split and --folder cannot be combined (a folder is imported as test images).', 'split');
      if (splitFlag !== undefined && !['train', 'val', 'test'].includes(splitFlag)) throw new StudioError('bad_request', `--split must be test, val or train, not ${splitFlag}.`, 'split');
      const split = (splitFlag ?? 'test') as Split;
      const tta = values.tta === true;
      await studio.call('openProject', { dir: args[0]! });
      const chosen = await sweepEnsembleOption(studio, values);
      const source = chosen ? { runs: chosen.runs } : runOrRuns(values);
      if (chosen) logAboveProgress(`${chosen.label}: --runs ${chosen.runs.join(',')}`);
      let imported: ImportReport | undefined;
      if (folder !== undefined) {
        imported = await waitForJob(studio, await studio.call('importImages', { source: path.resolve(folder), split: 'test' }));
        if (imported.failureCount > 0) logAboveProgress(`${imported.failureCount} file(s) of ${folder} could not be imported (see --json).`);
      }
      const summary = await waitForJob(studio, await studio.call('predictImages', { ...source, splits: [split], tta }));
      const ensemble = summary.ensemble;
      const classNames = ensemble ? ensemble.classNames : (await studio.call('getRun', { id: summary.runId })).classNames;
      const perClass = await predictedPerClass(studio, ensemble ? { runs: ensemble.runs } : { runId: summary.runId }, classNames, split);
      const who = ensemble ? `the ensemble of runs ${ensemble.runs.join(', ')}` : `run ${summary.runId}`;
      const where = ensemble
        ? `the predictions table of ${path.join(path.resolve(args[0]!), 'project.sqlite')} (each member's; the ensemble's are their mean)`
        : `the predictions table of ${path.join(path.resolve(args[0]!), 'project.sqlite')} (run ${summary.runId})`;
      const json = {
        predict: {
          runId: ensemble ? null : summary.runId,
          ...(ensemble ? { runs: ensemble.runs } : {}),
          split,
          tta: summary.views,
          predicted: summary.predicted,
          failed: summary.failed,
          perClass,
          where,
          ...(ensemble ? { ensemble } : {}),
          ...(chosen ? { chosen } : {}),
          ...(imported ? { import: { added: imported.added, duplicates: imported.duplicateCount, failures: imported.failures, root: imported.root } } : {}),
        },
      };
      const exportFlag = ensemble ? `--runs ${ensemble.runs.join(',')}` : `--run ${summary.runId}`;
      const lines = [
        ...(chosen ? [`${chosen.label}: --runs ${chosen.runs.join(',')}`] : []),
        ...(imported ? [`Imported ${imported.added} test image(s) from ${imported.root}${imported.duplicateCount ? ` (${imported.duplicateCount} already in the project)` : ''}`] : []),
        `Predicted ${summary.predicted} ${split} image(s) with ${who}, ${viewsText(summary.views)}${summary.failed.length ? `; ${summary.failed.length} could not be read (e.g. ${summary.failed[0]})` : ''}`,
        ...perClass.map((c) => `  ${c.name.padEnd(24)} ${String(c.count).padStart(7)}`),
        ...(ensemble ? ensembleLines(ensemble) : []),
        `Stored in ${where}; export with: transfer-studio export ${args[0]} submission --out FILE ${exportFlag}`,
      ];
      return { json, text: lines.join('\n') };
    },
  },
];
