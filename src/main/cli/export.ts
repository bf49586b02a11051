/** `transfer-studio export`: the test set's CSVs, the labelled dataset, or a run's model (added to the table in cli.ts). */
import path from 'node:path';
import type { ExportKind, ExportResult } from '../../shared/api';
import { EXPORT_KINDS } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { Command } from './command';
import { waitForJob } from './jobs';
import { runOrRuns, stringOption } from './options';
import { viewsText } from '../../shared/tta';

/** Whose predictions a test-set CSV holds, and how they were made. */
const madeBy = (r: ExportResult): string =>
  `${r.runs ? `the ensemble of runs ${r.runs.join(', ')}, probabilities averaged` : `run ${r.runId}`}; predictions ${viewsText(r.views === undefined ? ['identity'] : r.views)}`;

function resultText(r: ExportResult): string {
  const lines: string[] = [];
  const where = r.files.join(', ');
  switch (r.kind) {
    case 'submission':
      lines.push(`Wrote ${r.rows} rows to ${where} (${madeBy(r)}${r.fromLabels ? `; ${r.fromLabels} from your labels` : ''})`);
      break;
    case 'probabilities':
      lines.push(`Wrote ${r.rows} rows x ${(r.columns?.length ?? 1) - 1} classes to ${where} (${madeBy(r)})`);
      break;
    case 'dataset':
      lines.push(`Copied ${r.rows} images into ${where}, one folder per class`);
      if (r.renamed) lines.push(`${r.renamed} file(s) renamed where a name was taken in their class folder`);
      for (const f of r.folders ?? []) lines.push(`  class ${JSON.stringify(f.className)} -> folder ${JSON.stringify(f.folder)}`);
      break;
    case 'dataset-csv':
      lines.push(`Wrote ${r.rows} rows to ${where}; file names are relative to ${r.imagesFolder}`);
      break;
    case 'model':
    case 'onnx':
      lines.push(`Exported the model of run ${r.runId} ${r.kind === 'onnx' ? 'as ONNX ' : ''}to ${where} (${r.labels?.length ?? 0} classes; see README.txt there to load it)`);
      break;
    case 'audit':
      lines.push(`Wrote ${r.rows} audit results (label issues, near-duplicates, leaks) to ${where}`);
      break;
  }
  if (r.skippedUnlabelled) lines.push(`${r.skippedUnlabelled} unlabelled image(s) left out`);
  for (const w of r.warnings ?? []) lines.push(`Warning: ${w}`);
  return lines.join('\n');
}

export const exportCommands: Command[] = [
  {
    name: 'export',
    args:
      'DIR submission|probabilities|model|onnx|dataset|dataset-csv|audit --out PATH [--run ID | --runs A,B,C] [--template CSV] [--id-column NAME] [--label-column NAME] [--strip-extension] [--force]',
    summary:
      'Export the test set\'s submission or probabilities CSV (a run\'s predictions, or an ensemble\'s with --runs: its members\' probabilities averaged), a run\'s model as a TensorFlow.js folder or an ONNX model (default run: the latest succeeded), the labelled dataset as class folders or a CSV, or the latest audit\'s results as a CSV.',
    options: {
      out: { type: 'string', short: 'o' },
      run: { type: 'string' },
      runs: { type: 'string' },
      template: { type: 'string' },
      'id-column': { type: 'string' },
      'label-column': { type: 'string' },
      'strip-extension': { type: 'boolean' },
      force: { type: 'boolean' },
    },
    positionals: { required: ['DIR', 'WHAT'] },
    async run({ studio, args, values }) {
      const kind = args[1]!;
      if (!(EXPORT_KINDS as readonly string[]).includes(kind))
        throw new StudioError('bad_request', `unknown export "${kind}": one of ${EXPORT_KINDS.join(', ')}.`, 'kind');
      if (typeof values.out !== 'string') throw new StudioError('bad_request', 'missing --out PATH (the CSV file, or for dataset, model and onnx a new folder).', 'out');
      const { runId, runs } = runOrRuns(values);
      if (runId !== undefined && (kind === 'dataset' || kind === 'dataset-csv' || kind === 'audit')) throw new StudioError('bad_request', `--run does not apply to export ${kind}.`, 'run');
      if (runs !== undefined && kind !== 'submission' && kind !== 'probabilities') throw new StudioError('bad_request', `--runs (an ensemble) applies to export submission and probabilities, not ${kind}.`, 'runs');
      const template = stringOption(values.template);
      await studio.call('openProject', { dir: args[0]! });
      const job = await studio.call('exportData', {
        kind: kind as ExportKind,
        out: path.resolve(values.out),
        ...(runId !== undefined ? { runId } : {}),
        ...(runs !== undefined ? { runs } : {}),
        ...(template !== undefined ? { template: path.resolve(template) } : {}),
        ...(typeof values['id-column'] === 'string' ? { idColumn: values['id-column'] } : {}),
        ...(typeof values['label-column'] === 'string' ? { labelColumn: values['label-column'] } : {}),
        stripExtension: values['strip-extension'] === true,
        overwrite: values.force === true,
      });
      const result = await waitForJob(studio, job);
      return { json: { export: result }, text: resultText(result) };
    },
  },
];
