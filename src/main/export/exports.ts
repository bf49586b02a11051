/**
 * Exports, run as jobs: the test set's submission CSV and probabilities CSV from a run's stored
 * predictions, the labelled dataset as a class-per-folder tree or a filename,label,split CSV, and
 * a run's model (model-export.ts).
 * Every output appears complete or not at all (see atomic.ts); a failure says what to do.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExportRequest, ExportResult } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import type { Engine } from '../engine/protocol';
import { copyOriginal } from '../media/files';
import { imageFile, labelledImageFiles } from '../store/image-files';
import { allClusters, latestAudit, listLabelIssues } from '../store/audits';
import { labelNextQueue, latestRankingInfo } from '../store/label-next';
import { describeDuplicatePair, type LabelIssueRow, type LabelNextRow } from '../../shared/domain';
import { countImages } from '../store/images';
import type { DB } from '../store/open-database';
import { commonViews, ensembleOf, ensemblePredictionsFor } from '../store/ensemble-predictions';
import { predictionsFor } from '../store/predictions';
import type { ProjectStore } from '../store/project-store';
import { findRun, latestSucceededRun } from '../store/runs';
import { buildFolderAtomic } from '../../shared/node/atomic-write';
import { checkTarget, writeTextFileAtomic } from './atomic';
import { exportModel } from './model-export';
import { formulaWarning } from '../../shared/names';
import { csvLine, spreadsheetLine } from './csv-write';
import { UniqueNames, safeName } from './names';
import { type ExportRow, defaultRows, templateRows } from './test-rows';

/** Rows between yields to the event loop (so a cancel request and progress events get through). */
const YIELD_EVERY = 2000;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface RunRef {
  id: number;
  state: string;
  classNames: string[];
}

/** The run to export from: the one asked for, or the latest succeeded run. */
export function resolveRun(db: DB, runId: number | undefined): RunRef {
  const run = runId === undefined ? latestSucceededRun(db) : findRun(db, runId);
  if (!run) {
    if (runId !== undefined) throw new StudioError('not_found', `There is no run ${runId}.`, 'runId');
    throw new StudioError('bad_input', 'There is no finished training run yet: train a model and predict the test set first.', 'runId');
  }
  return { id: run.id, state: run.state, classNames: run.classNames };
}

async function testRows(store: ProjectStore, req: ExportRequest, ctx: JobContext): Promise<{ rows: ExportRow[]; header: { id: string; label: string | null } | null }> {
  const plan = req.template !== undefined ? await templateRows(store.db, req.template, req.idColumn, ctx.signal) : defaultRows(store.db, req.stripExtension);
  if (plan.rows.length === 0)
    throw new StudioError('bad_input', 'The project has no test images: import the test set first (transfer-studio import DIR FOLDER --split test).', 'kind');
  return plan;
}

/** Whose test-set predictions an export writes: one run's, or an ensemble's (its members' averaged). */
interface PredictionSource {
  /** "run 3" or "the ensemble of runs 3, 4, 5": for messages. */
  name: string;
  runId: number | null;
  runs?: number[];
  classNames: string[];
  predictions(imageIds: readonly number[]): Map<number, { predicted: number; probabilities: number[]; views: string[] | null }>;
  /** The predict command that fills what is missing. */
  predictHint: string;
}

function predictionSource(db: DB, req: ExportRequest): PredictionSource {
  if (req.runs !== undefined) {
    const e = ensembleOf(db, req.runs);
    const list = e.runs.join(',');
    return {
      name: `the ensemble of runs ${e.runs.join(', ')}`,
      runId: null,
      runs: e.runs,
      classNames: e.classNames,
      predictions: (ids) => ensemblePredictionsFor(db, e, ids),
      predictHint: `transfer-studio predict DIR --runs ${list} --split test`,
    };
  }
  const run = resolveRun(db, req.runId);
  return { name: `Run ${run.id}`, runId: run.id, classNames: run.classNames, predictions: (ids) => predictionsFor(db, run.id, ids), predictHint: `transfer-studio predict DIR --run ${run.id} --split test` };
}

function missingPredictions(source: PredictionSource, rows: ExportRow[], total: number): StudioError {
  const first = rows[0]!.name;
  return new StudioError(
    'bad_input',
    `${source.name.replace(/^the/, 'The')} has no prediction for ${rows.length} of ${total} test images (first: ${first}${source.runs ? '; a member has none' : ''}): run predict first (${source.predictHint}).`,
    source.runs ? 'runs' : 'runId',
  );
}

/** What every test-set export says of its predictions: whose, and how they were made (the test-time views). */
function provenance(source: PredictionSource, preds: Map<number, { views: string[] | null }>): Pick<ExportResult, 'runId' | 'runs' | 'views'> {
  return { runId: source.runId, ...(source.runs ? { runs: source.runs } : {}), views: commonViews(preds.values()) };
}

async function exportSubmission(store: ProjectStore, req: ExportRequest, ctx: JobContext, target: string): Promise<ExportResult> {
  const source = predictionSource(store.db, req);
  const { rows, header } = await testRows(store, req, ctx);
  const preds = source.predictions(rows.map((r) => r.image.id));
  // A label the user gave a test image wins over the prediction; only the others need one.
  const lacking = rows.filter((r) => r.image.className === null && !preds.has(r.image.id));
  if (lacking.length > 0) throw missingPredictions(source, lacking, rows.length);
  const columns = [req.idColumn ?? header?.id ?? 'filename', req.labelColumn ?? header?.label ?? 'label'];
  let fromLabels = 0;
  const labels = new Set<string>();
  await writeTextFileAtomic(target, async (sink) => {
    await sink.write(csvLine(columns));
    for (let i = 0; i < rows.length; i++) {
      const { name, image } = rows[i]!;
      let label = image.className;
      if (label !== null) fromLabels++;
      else {
        const p = preds.get(image.id)!;
        label = source.classNames[p.predicted] ?? null;
        if (label === null) throw new StudioError('internal', `${source.name} predicted class ${p.predicted}, which it does not have (${source.classNames.length} classes).`);
      }
      labels.add(label);
      // Exact labels: a scorer reads them back (formula-like ones are warned about below).
      await sink.write(csvLine([name, label]));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) {
        await tick();
        ctx.throwIfCancelled();
      }
      ctx.progress(i + 1, rows.length, 'Writing the submission');
    }
    ctx.throwIfCancelled();
  });
  const warning = formulaWarning([...labels]);
  return { kind: 'submission', files: [target], rows: rows.length, ...provenance(source, preds), columns, fromLabels, ...(warning ? { warnings: [warning] } : {}) };
}

async function exportProbabilities(store: ProjectStore, req: ExportRequest, ctx: JobContext, target: string): Promise<ExportResult> {
  const source = predictionSource(store.db, req);
  const { rows, header } = await testRows(store, req, ctx);
  const preds = source.predictions(rows.map((r) => r.image.id));
  const lacking = rows.filter((r) => !preds.has(r.image.id));
  if (lacking.length > 0) throw missingPredictions(source, lacking, rows.length);
  const columns = [req.idColumn ?? header?.id ?? 'filename', ...source.classNames];
  await writeTextFileAtomic(target, async (sink) => {
    await sink.write(spreadsheetLine(columns));
    for (let i = 0; i < rows.length; i++) {
      const { name, image } = rows[i]!;
      const probs = preds.get(image.id)!.probabilities;
      if (probs.length !== source.classNames.length)
        throw new StudioError('internal', `The prediction for ${name} has ${probs.length} probabilities; ${source.name} has ${source.classNames.length} classes.`);
      await sink.write(spreadsheetLine([name, ...probs]));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) {
        await tick();
        ctx.throwIfCancelled();
      }
      ctx.progress(i + 1, rows.length, 'Writing the probabilities');
    }
    ctx.throwIfCancelled();
  });
  return { kind: 'probabilities', files: [target], rows: rows.length, ...provenance(source, preds), columns };
}

interface LabelledImage {
  id: number;
  file: string;
  fileName: string;
  label: string;
  split: string;
  root: string;
  hash: string;
}

function labelledImages(db: DB): { images: LabelledImage[]; unlabelled: number } {
  const rows = labelledImageFiles(db);
  const unlabelled = countImages(db, { classId: 'unlabelled' });
  if (rows.length === 0) throw new StudioError('bad_input', 'The project has no labelled images to export.', 'kind');
  return {
    images: rows.map((r) => ({ id: r.id, file: r.path, fileName: r.fileName, label: r.className, split: r.split, root: r.root, hash: r.hash })),
    unlabelled,
  };
}

function checkFilesExist(images: LabelledImage[]): void {
  const missing = images.filter((i) => !fs.existsSync(i.file));
  if (missing.length > 0)
    throw new StudioError(
      'bad_input',
      `${missing.length} of ${images.length} image files are missing (first: ${missing[0]!.file}); if their folder moved, relocate its source first.`,
      'kind',
    );
}

async function exportDatasetTree(store: ProjectStore, ctx: JobContext, target: string): Promise<ExportResult> {
  const { images, unlabelled } = labelledImages(store.db);
  checkFilesExist(images);
  // One folder per class; two class names that map to the same folder name (case, forbidden characters) get distinct folders.
  const folderNames = new UniqueNames();
  const folderOf = new Map<string, string>();
  for (const img of images) if (!folderOf.has(img.label)) folderOf.set(img.label, folderNames.take(img.label));
  let renamed = 0;
  await buildFolderAtomic(target, async (tmp) => {
    const names = new Map<string, UniqueNames>();
    for (const folder of folderOf.values()) {
      await fs.promises.mkdir(path.join(tmp, folder));
      names.set(folder, new UniqueNames());
    }
    for (let i = 0; i < images.length; i++) {
      ctx.throwIfCancelled();
      const img = images[i]!;
      const folder = folderOf.get(img.label)!;
      const name = names.get(folder)!.take(img.fileName);
      if (name !== safeName(img.fileName)) renamed++;
      await copyOriginal({ path: img.file, root: img.root, hash: img.hash }, path.join(tmp, folder, name));
      ctx.progress(i + 1, images.length, 'Copying images');
    }
    ctx.throwIfCancelled();
  }, { durable: true });
  const folders = [...folderOf].filter(([c, f]) => c !== f).map(([className, folder]) => ({ className, folder }));
  return { kind: 'dataset', files: [target], rows: images.length, runId: null, folders, renamed, skippedUnlabelled: unlabelled };
}

/** The deepest folder holding every one of `dirs`. */
function commonFolder(dirs: string[]): string {
  let base = dirs[0]!;
  for (const d of dirs) {
    while (path.relative(base, d).startsWith('..') || path.isAbsolute(path.relative(base, d))) {
      const up = path.dirname(base);
      if (up === base) break;
      base = up;
    }
  }
  return base;
}

async function exportDatasetCsv(store: ProjectStore, ctx: JobContext, target: string): Promise<ExportResult> {
  const { images, unlabelled } = labelledImages(store.db);
  const base = commonFolder([...new Set(images.map((i) => i.root))]);
  const columns = ['filename', 'label', 'split'];
  await writeTextFileAtomic(target, async (sink) => {
    await sink.write(spreadsheetLine(columns));
    for (let i = 0; i < images.length; i++) {
      const img = images[i]!;
      const rel = path.relative(base, img.file);
      await sink.write(spreadsheetLine([path.isAbsolute(rel) ? img.file : rel.split(path.sep).join('/'), img.label, img.split]));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) {
        await tick();
        ctx.throwIfCancelled();
      }
      ctx.progress(i + 1, images.length, 'Writing the dataset CSV');
    }
    ctx.throwIfCancelled();
  });
  return { kind: 'dataset-csv', files: [target], rows: images.length, runId: null, columns, skippedUnlabelled: unlabelled, imagesFolder: base };
}

const ISSUE_REASON: Record<string, string> = {
  open: 'likely label error',
  fixed: 'likely label error (relabelled since the audit)',
  confirmed: 'likely label error (label confirmed since)',
};

/**
 * Every result of the latest audit: its label issues, then every member of its near-duplicate
 * clusters; then the label-next queue of the latest ranking (its default order: margin x typicality),
 * the suggestion being the head's prediction.
 */
async function exportAudit(store: ProjectStore, ctx: JobContext, target: string): Promise<ExportResult> {
  const audit = latestAudit(store.db);
  const ranking = latestRankingInfo(store.db);
  if (!audit && !ranking) throw new StudioError('bad_input', 'The project has no audit yet: run one first (transfer-studio audit DIR).', 'kind');
  const issues: LabelIssueRow[] = [];
  while (audit) {
    const page = listLabelIssues(store.db, { status: 'all', offset: issues.length, limit: 500 });
    issues.push(...page.rows);
    if (page.rows.length === 0 || issues.length >= page.total) break;
  }
  const queue: LabelNextRow[] = [];
  while (ranking) {
    const page = labelNextQueue(store.db, { uncertainty: 'margin', representative: true, offset: queue.length, limit: 500 });
    queue.push(...page.rows);
    if (page.rows.length === 0 || queue.length >= page.total) break;
  }
  const clusters = audit ? allClusters(store.db) : [];
  const pathOf = (id: number): string => imageFile(store.db, id)?.path ?? '';
  const columns = ['image', 'given', 'suggested', 'score', 'reason'];
  const total = issues.length + clusters.reduce((n, c) => n + c.members.length, 0) + queue.length;
  let rows = 0;
  await writeTextFileAtomic(target, async (sink) => {
    await sink.write(spreadsheetLine(columns));
    const row = async (fields: (string | number)[]): Promise<void> => {
      await sink.write(spreadsheetLine(fields));
      if (++rows % YIELD_EVERY === 0) {
        await tick();
        ctx.throwIfCancelled();
      }
      ctx.progress(rows, total, 'Writing the audit results');
    };
    for (const i of issues) await row([pathOf(i.imageId), i.given, i.suggested, i.score, ISSUE_REASON[i.status] ?? i.status]);
    for (const c of clusters) {
      const labels = [...new Set(c.members.map((m) => m.className).filter((n): n is string => n !== null))];
      const kind = c.leak ? `leak: near-duplicate cluster ${c.id} spans ${c.splits.join(', ')}` : `near-duplicate cluster ${c.id}`;
      const reason = c.conflict ? `${kind}; its labels disagree (${labels.join(', ')})` : kind;
      for (const m of c.members) {
        // A conflicting member's suggestion: the label most of the cluster's other labelled images have.
        const others = c.members.filter((o) => o.imageId !== m.imageId && o.className !== null).map((o) => o.className as string);
        const counts = new Map<string, number>();
        for (const o of others) counts.set(o, (counts.get(o) ?? 0) + 1);
        const majority = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
        const closest = c.best.get(m.imageId);
        const other = closest && (closest.a === m.imageId ? closest.b : closest.a);
        const how = closest ? `; closest: ${path.basename(pathOf(other as number))}, ${describeDuplicatePair(closest)}` : '';
        await row([pathOf(m.imageId), m.className ?? '', c.conflict && majority !== m.className ? majority : '', closest?.pixel ?? '', reason + how]);
      }
    }
    for (const [rank, q] of queue.entries())
      await row([pathOf(q.imageId), '', q.predicted, q.score, `label next #${rank + 1} (uncertainty ${q.uncertainty.toFixed(3)}, typicality ${q.density.toFixed(3)})`]);
    ctx.throwIfCancelled();
  });
  return { kind: 'audit', files: [target], rows, runId: (audit ?? ranking)!.source.runId, columns };
}

/** Runs one export (the work of an export job). */
export async function runExport(store: ProjectStore, req: ExportRequest, ctx: JobContext, engine?: () => Engine): Promise<ExportResult> {
  const folder = req.kind === 'dataset' || req.kind === 'model' || req.kind === 'onnx';
  const target = checkTarget(req.out, { kind: folder ? 'folder' : 'file', overwrite: req.overwrite });
  // A copy of the images inside the project folder would be project files nobody references.
  const rel = path.relative(store.dir, target);
  if (req.kind === 'dataset' && !rel.startsWith('..') && !path.isAbsolute(rel))
    throw new StudioError('bad_input', 'Export the dataset to a folder outside the project folder.', 'out');
  ctx.progress(0, 0, 'Preparing the export');
  switch (req.kind) {
    case 'submission':
      return exportSubmission(store, req, ctx, target);
    case 'probabilities':
      return exportProbabilities(store, req, ctx, target);
    case 'dataset':
      return exportDatasetTree(store, ctx, target);
    case 'dataset-csv':
      return exportDatasetCsv(store, ctx, target);
    case 'model':
      return exportModel(store, resolveRun(store.db, req.runId), ctx, target);
    case 'onnx':
      if (!engine) throw new StudioError('engine_failed', 'An ONNX export needs the training engine, and this studio was started without one.');
      return exportModel(store, resolveRun(store.db, req.runId), ctx, target, engine());
    case 'audit':
      return exportAudit(store, ctx, target);
  }
}
