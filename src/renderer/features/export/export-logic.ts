/**
 * The Export screen's pure logic: what each export kind needs, the default output path, the
 * request built from the form, and the lines that describe a finished export. Kinds come from
 * the contract's EXPORT_KINDS, so a kind added there shows up here without other changes.
 */
import { EXPORT_KINDS, type ExportKind, type ExportResult, type RequestInput } from '../../../shared/api';
import type { EnsembleSummary, PredictionSource, RunSummary } from '../../../shared/domain';
import { viewsText } from '../../../shared/tta';
import { foldEnsembleText } from '../../../shared/sweep-ensembles';
import { joinPath } from '../../components/paths';

/** The ensemble when two runs or more are picked for it, else the run (none without a run). */
export function predictionSource(run: RunSummary | undefined, ensemble: readonly number[]): PredictionSource | undefined {
  if (ensemble.length >= 2) return { runs: [...ensemble] };
  return run ? { runId: run.id } : undefined;
}

/** The runs an ensemble can take: succeeded runs with the classes of the first picked (newest first). */
export function ensembleCandidates(runs: readonly RunSummary[], picked: readonly number[]): RunSummary[] {
  const first = runs.find((r) => r.id === picked[0]);
  const key = (r: RunSummary): string => r.classNames.map((n) => n.toLowerCase()).sort().join('\n');
  return [...runs].filter((r) => r.state === 'succeeded' && (!first || key(r) === key(first))).sort((a, b) => b.id - a.id);
}

const points = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} points`;

/** An ensemble's comparison with its best member, in words (the Export screen's summary). */
export function describeGain(s: EnsembleSummary): string {
  const folds = foldEnsembleText(s);
  if (folds) return folds;
  if (!s.best || !s.ensemble || !s.gain) return 'No validation image has a prediction from every member yet: predict with the ensemble to compare it.';
  return `On ${s.images} validation images, predictions ${viewsText(s.views)}: ensemble accuracy ${(s.ensemble.accuracy * 100).toFixed(1)}%, best member (run ${s.best.runId}) ${(s.best.accuracy * 100).toFixed(1)}%: ${points(s.gain.accuracy)}; loss ${s.ensemble.loss.toFixed(4)} against ${s.best.loss.toFixed(4)}.`;
}

export interface KindInfo {
  label: string;
  help: string;
  /** What `out` names: a CSV file, or a new or empty folder. */
  target: 'file' | 'folder';
  /** Uses a run (its predictions or its model). */
  usesRun: boolean;
  /** Test-set CSV options: column names, template, bare ids. */
  testCsv: boolean;
  /** Has a label column (submission). */
  labelColumn: boolean;
  /** Default file or folder name. */
  name: (runId: number | null) => string;
}

const KINDS: Record<string, KindInfo> = {
  submission: {
    label: 'Submission CSV',
    help: "filename,label for every test image, in the test set's order. A label you gave a test image wins over the prediction.",
    target: 'file',
    usesRun: true,
    testCsv: true,
    labelColumn: true,
    name: (run) => `submission${run ? `-run${run}` : ''}.csv`,
  },
  probabilities: {
    label: 'Probabilities CSV',
    help: "One row per test image with the run's probability for every class.",
    target: 'file',
    usesRun: true,
    testCsv: true,
    labelColumn: false,
    name: (run) => `probabilities${run ? `-run${run}` : ''}.csv`,
  },
  dataset: {
    label: 'Labelled dataset (class folders)',
    help: 'Copies every labelled image into one folder per class. The folder must be new or empty.',
    target: 'folder',
    usesRun: false,
    testCsv: false,
    labelColumn: false,
    name: () => 'dataset',
  },
  'dataset-csv': {
    label: 'Labelled dataset (CSV)',
    help: 'filename,label,split of every labelled image; file names are relative to the folder shown when it is done.',
    target: 'file',
    usesRun: false,
    testCsv: false,
    labelColumn: false,
    name: () => 'labels.csv',
  },
  model: {
    label: 'Model (TensorFlow.js)',
    help: 'The trained model as a TensorFlow.js LayersModel folder with labels.json and preprocessing.json. The folder must be new or empty.',
    target: 'folder',
    usesRun: true,
    testCsv: false,
    labelColumn: false,
    name: (run) => `model${run ? `-run${run}` : ''}`,
  },
  onnx: {
    label: 'Model (ONNX)',
    help: 'The trained model as one model.onnx (for ONNX Runtime and other runtimes) with labels.json and preprocessing.json. The folder must be new or empty.',
    target: 'folder',
    usesRun: true,
    testCsv: false,
    labelColumn: false,
    name: (run) => `model${run ? `-run${run}` : ''}-onnx`,
  },
  audit: {
    label: 'Audit results (CSV)',
    help: "image,given,suggested,score,reason for every result of the latest audit: likely label errors, near-duplicates, leaks across splits and label conflicts.",
    target: 'file',
    usesRun: false,
    testCsv: false,
    labelColumn: false,
    name: () => 'audit.csv',
  },
};

/** What an export kind needs; a kind this screen does not know yet gets a plain description. */
export function kindInfo(kind: string): KindInfo {
  return KINDS[kind] ?? { label: kind, help: '', target: 'file', usesRun: true, testCsv: false, labelColumn: false, name: () => kind };
}

/** The kinds the contract offers, in its order. */
export const exportKinds = (): readonly ExportKind[] => EXPORT_KINDS;

/** The folder holding `dir` and `dir`'s own name (separators of either kind, trailing ones ignored). */
export function splitPath(dir: string): { parent: string; base: string } {
  const trimmed = dir.length > 1 ? dir.replace(/[\\/]+$/, '') : dir;
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  if (cut < 0) return { parent: '.', base: trimmed };
  return { parent: cut === 0 ? trimmed.slice(0, 1) : trimmed.slice(0, cut), base: trimmed.slice(cut + 1) };
}

/**
 * Where an export goes unless the user types another path: CSVs in the project folder, folders
 * beside it (a dataset copied into the project folder is refused: nothing would reference it).
 */
export function defaultOut(projectDir: string, kind: string, runId: number | null): string {
  const info = kindInfo(kind);
  if (info.target === 'file') return joinPath(projectDir, info.name(runId));
  const { parent, base } = splitPath(projectDir);
  return joinPath(parent, `${base}-${info.name(runId)}`);
}

export interface ExportForm {
  kind: ExportKind;
  out: string;
  runId: number | null;
  /** An ensemble (two runs or more): the test-set CSVs average their probabilities; a model export still uses runId. */
  runs?: number[];
  idColumn: string;
  labelColumn: string;
  template: string;
  stripExtension: boolean;
  overwrite: boolean;
}

/** The exportData request for a form: trimmed, and only the options the kind uses. */
export function buildExportRequest(form: ExportForm): RequestInput<'exportData'> {
  const info = kindInfo(form.kind);
  const req: RequestInput<'exportData'> = { kind: form.kind, out: form.out.trim() };
  if (info.testCsv && form.runs && form.runs.length >= 2) req.runs = form.runs;
  else if (info.usesRun && form.runId !== null) req.runId = form.runId;
  if (info.target === 'file') req.overwrite = form.overwrite;
  if (info.testCsv) {
    if (form.idColumn.trim()) req.idColumn = form.idColumn.trim();
    if (info.labelColumn && form.labelColumn.trim()) req.labelColumn = form.labelColumn.trim();
    if (form.template.trim()) req.template = form.template.trim();
    if (form.stripExtension) req.stripExtension = true;
  }
  return req;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What a finished export wrote, one line per fact, for the success notice. */
export function describeResult(r: ExportResult): string[] {
  const lines: string[] = [];
  const folder = kindInfo(r.kind).target === 'folder';
  lines.push(folder ? `${plural(r.rows, 'file')} written` : `${plural(r.rows, 'row')} written${r.columns ? ` (columns: ${r.columns.join(', ')})` : ''}`);
  if (r.runs) lines.push(`from the ensemble of runs ${r.runs.join(', ')} (probabilities averaged)`);
  else if (r.runId !== null && kindInfo(r.kind).usesRun) lines.push(`from run ${r.runId}`);
  if (r.views !== undefined) lines.push(`predictions ${viewsText(r.views)}`);
  if (r.fromLabels !== undefined) lines.push(`${plural(r.fromLabels, 'row')} whose label came from your label rather than the prediction`);
  if (r.skippedUnlabelled) lines.push(`${plural(r.skippedUnlabelled, 'unlabelled image')} left out`);
  if (r.renamed) lines.push(`${plural(r.renamed, 'file')} renamed because the name was taken in its class folder`);
  if (r.folders && r.folders.length > 0) lines.push(`class folders named differently: ${r.folders.map((f) => `${f.className} → ${f.folder}`).join(', ')}`);
  if (r.imagesFolder) lines.push(`file names are relative to ${r.imagesFolder}`);
  if (r.labels) lines.push(`labels: ${r.labels.join(', ')}`);
  return lines;
}

/** The run to show first: the latest succeeded run, else the latest run. */
export function defaultRun(runs: readonly RunSummary[]): RunSummary | undefined {
  const byNewest = [...runs].sort((a, b) => b.id - a.id);
  return byNewest.find((r) => r.state === 'succeeded') ?? byNewest[0];
}
