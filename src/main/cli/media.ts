/** The CLI commands of the images issue: `import` and `split` (added to the table in cli.ts). */
import type { Command } from './command';
import type { ImportReport } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { watchJob } from './jobs';
import { numberOption } from './options';

function reportText(r: ImportReport): string {
  const lines = [
    `${r.cancelled ? 'Cancelled: kept ' : 'Added '}${r.added} image${r.added === 1 ? '' : 's'} from ${r.root} in ${(r.durationMs / 1000).toFixed(1)} s`,
  ];
  if (r.classesCreated.length) lines.push(`New classes: ${r.classesCreated.join(', ')}`);
  for (const w of r.warnings ?? []) lines.push(`Warning: ${w}`);
  if (r.duplicateCount) {
    lines.push(`${r.duplicateCount} duplicate${r.duplicateCount === 1 ? '' : 's'} not imported again:`);
    for (const d of r.duplicates.slice(0, 10)) lines.push(`  ${d.file}  (same as ${d.existing})`);
    if (r.duplicateCount > 10) lines.push(`  ... and ${r.duplicateCount - 10} more (--json lists up to ${r.duplicates.length})`);
  }
  if (r.failureCount) {
    lines.push(`${r.failureCount} file${r.failureCount === 1 ? '' : 's'} not imported:`);
    for (const f of r.failures.slice(0, 20)) lines.push(`  ${f.row !== undefined ? `row ${f.row}: ` : ''}${f.file}: ${f.reason}`);
    if (r.failureCount > 20) lines.push(`  ... and ${r.failureCount - 20} more (--json lists up to ${r.failures.length})`);
  }
  return lines.join('\n');
}

export const mediaCommands: Command[] = [
  {
    name: 'import',
    args: 'DIR SOURCE [--csv FILE --images FOLDER] [--split train|test] [--kind auto|folder|csv|files|zip]',
    summary: 'Import a folder (class subfolders), loose files, a .zip, or a filename,label CSV with its images folder.',
    options: { csv: { type: 'string' }, images: { type: 'string' }, split: { type: 'string' }, kind: { type: 'string' } },
    positionals: { required: ['DIR'], optional: ['SOURCE'] },
    async run({ studio, args, values }) {
      const source = args[1] ?? (typeof values.images === 'string' ? values.images : typeof values.csv === 'string' ? values.csv : undefined);
      if (source === undefined) throw new StudioError('bad_request', 'missing SOURCE (a folder, .zip, .csv or image file). Usage: transfer-studio import DIR SOURCE', 'source');
      await studio.call('openProject', { dir: args[0]! });
      const job = await studio.call('importImages', {
        source,
        ...(typeof values.kind === 'string' ? { kind: values.kind as 'auto' } : {}),
        ...(typeof values.csv === 'string' ? { csv: values.csv } : {}),
        ...(typeof values.images === 'string' ? { images: values.images } : {}),
        ...(typeof values.split === 'string' ? { split: values.split as 'train' } : {}),
      });
      // Ctrl-C keeps what was imported: a cancelled job still has its report.
      const done = await watchJob(studio, job);
      if (done.state === 'failed') throw StudioError.from(done.error ?? new Error('The import failed.'));
      const report = done.result;
      if (!report) throw new StudioError('cancelled', done.error?.message ?? 'Cancelled before anything was imported.');
      return { json: { report }, text: reportText(report) };
    },
  },
  {
    name: 'split',
    args: 'DIR [--val 0.2] [--seed 42]',
    summary: 'Stratified, seeded train/val split of the labelled images (test images stay test).',
    options: { val: { type: 'string' }, seed: { type: 'string' } },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      await studio.call('openProject', { dir: args[0]! });
      const split = await studio.call('autoSplit', { val: numberOption(values.val, 'val', 0.2), seed: numberOption(values.seed, 'seed', 42) });
      const lines = [`train ${split.train}, val ${split.val}`, ...split.perClass.map((c) => `  ${c.name.padEnd(24)} train ${c.train}  val ${c.val}`)];
      return { json: { split }, text: lines.join('\n') };
    },
  },
];
