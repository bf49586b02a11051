/** The CLI command of the export issue: `export` (added to the table in cli.ts). */
import path from 'node:path';
import type { ExportKind, ExportResult } from '../../shared/api';
import { EXPORT_KINDS } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { JobInfo } from '../../shared/domain';
import type { Command } from '../cli';
import type { Studio } from '../host/studio';

/**
 * Waits for the export job, drawing progress on a TTY; Ctrl-C cancels it (nothing is left behind).
 * (A local copy of cli.ts's waitForJob: importing values from cli.ts would make a module cycle.)
 */
async function waitForExport(studio: Studio, job: JobInfo): Promise<ExportResult> {
  const tty = process.stderr.isTTY;
  const off = studio.on('job.progress', (j) => {
    if (!tty || j.id !== job.id) return;
    const { done, total, message } = j.progress;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    process.stderr.write(`\r[${'#'.repeat(Math.round(frac * 30)).padEnd(30, '-')}] ${(frac * 100).toFixed(0).padStart(3)}% ${message ?? ''}`.slice(0, 120).padEnd(100));
  });
  const onSigint = (): void => void studio.jobs.cancel(job.id);
  process.once('SIGINT', onSigint);
  let done: JobInfo;
  try {
    done = await studio.jobs.wait(job.id);
  } finally {
    off();
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\n');
  }
  if (done.state === 'succeeded') return done.result as ExportResult;
  if (done.state === 'cancelled') throw new StudioError('cancelled', 'Export cancelled; nothing was written.');
  throw StudioError.from(done.error ?? new Error('The export failed.'));
}

function runOption(v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new StudioError('bad_request', `--run must be a run number, not ${String(v)}`, 'run');
  return n;
}

function resultText(r: ExportResult): string {
  const lines: string[] = [];
  const where = r.files.join(', ');
  switch (r.kind) {
    case 'submission':
      lines.push(`Wrote ${r.rows} rows to ${where} (run ${r.runId}${r.fromLabels ? `; ${r.fromLabels} from your labels` : ''})`);
      break;
    case 'probabilities':
      lines.push(`Wrote ${r.rows} rows x ${(r.columns?.length ?? 1) - 1} classes to ${where} (run ${r.runId})`);
      break;
    case 'dataset':
      lines.push(`Copied ${r.rows} images into ${where}, one folder per class`);
      if (r.renamed) lines.push(`${r.renamed} file(s) renamed where a name was taken in their class folder`);
      for (const f of r.folders ?? []) lines.push(`  class ${JSON.stringify(f.className)} -> folder ${JSON.stringify(f.folder)}`);
      break;
    case 'dataset-csv':
      lines.push(`Wrote ${r.rows} rows to ${where}; file names are relative to ${r.imagesFolder}`);
      break;
  }
  if (r.skippedUnlabelled) lines.push(`${r.skippedUnlabelled} unlabelled image(s) left out`);
  return lines.join('\n');
}

export const exportCommands: Command[] = [
  {
    name: 'export',
    args:
      'DIR submission|probabilities|dataset|dataset-csv --out PATH [--run ID] [--template CSV] [--id-column NAME] [--label-column NAME] [--strip-extension] [--force]',
    summary:
      'Export the test set\'s submission or probabilities CSV (a run\'s predictions; default run: the latest succeeded), or the labelled dataset as class folders or a CSV.',
    options: {
      out: { type: 'string', short: 'o' },
      run: { type: 'string' },
      template: { type: 'string' },
      'id-column': { type: 'string' },
      'label-column': { type: 'string' },
      'strip-extension': { type: 'boolean' },
      force: { type: 'boolean' },
    },
    positionals: { required: ['DIR', 'WHAT'] },
    async run({ studio, args, values }) {
      const kind = args[1]!;
      if (kind === 'model') throw new StudioError('bad_request', 'export model is not available yet (it comes with the training engine).', 'kind');
      if (!(EXPORT_KINDS as readonly string[]).includes(kind))
        throw new StudioError('bad_request', `unknown export "${kind}": one of ${EXPORT_KINDS.join(', ')}.`, 'kind');
      if (typeof values.out !== 'string') throw new StudioError('bad_request', 'missing --out PATH (the CSV file, or for dataset a new folder).', 'out');
      const runId = runOption(values.run);
      if (runId !== undefined && (kind === 'dataset' || kind === 'dataset-csv')) throw new StudioError('bad_request', `--run does not apply to export ${kind}.`, 'run');
      await studio.call('openProject', { dir: args[0]! });
      const job = await studio.call('exportData', {
        kind: kind as ExportKind,
        out: path.resolve(values.out),
        ...(runId !== undefined ? { runId } : {}),
        ...(typeof values.template === 'string' ? { template: path.resolve(values.template) } : {}),
        ...(typeof values['id-column'] === 'string' ? { idColumn: values['id-column'] } : {}),
        ...(typeof values['label-column'] === 'string' ? { labelColumn: values['label-column'] } : {}),
        stripExtension: values['strip-extension'] === true,
        overwrite: values.force === true,
      });
      const result = await waitForExport(studio, job);
      return { json: { export: result }, text: resultText(result) };
    },
  },
];
