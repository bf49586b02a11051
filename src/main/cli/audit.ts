/**
 * `transfer-studio audit` (added to the table in index.ts): the audit job followed to its end, then
 * its results as one stable JSON object (likely label errors with image path, given and suggested
 * label and score; the noise rate per class; near-duplicate clusters and leaks across splits).
 */
import type { AuditSummary, DuplicateClusterInfo, LabelIssueRow } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import type { Studio } from '../host/studio';
import { ENGINE_OPTION, type Command } from './command';
import { waitForJob } from './jobs';
import { runOption, stringOption } from './options';

/** Every page of a paged request. */
async function allPages<T>(page: (offset: number) => Promise<{ rows: T[]; total: number }>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const r = await page(out.length);
    out.push(...r.rows);
    if (r.rows.length === 0 || out.length >= r.total) return out;
  }
}

function foldsOption(v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || n < 2 || n > 20) throw new StudioError('bad_request', `--folds must be a whole number from 2 to 20, not ${String(v)}.`, 'folds');
  return n;
}

async function auditJson(studio: Studio, summary: AuditSummary): Promise<{ json: Record<string, unknown>; issues: LabelIssueRow[]; clusters: DuplicateClusterInfo[] }> {
  const issues = await allPages((offset) => studio.call('listLabelIssues', { status: 'open', offset, limit: 500 }));
  const clusters = await allPages((offset) => studio.call('listDuplicateClusters', { offset, limit: 100 }));
  const paths = new Map<number, string>();
  const pathOf = async (id: number): Promise<string> => {
    if (!paths.has(id)) paths.set(id, (await studio.call('imageDetails', { id })).path);
    return paths.get(id)!;
  };
  const json = {
    id: summary.id,
    createdAt: summary.createdAt,
    source: summary.source,
    folds: summary.folds,
    classNames: summary.classNames,
    scored: summary.scored,
    images: summary.images,
    skipped: { count: summary.skippedCount, paths: summary.skipped },
    noiseRates: summary.noiseRates.map((r) => ({ className: r.className, images: r.images, rate: r.rate })),
    labelIssues: await Promise.all(
      issues.map(async (i) => ({ imageId: i.imageId, path: await pathOf(i.imageId), split: i.split, given: i.given, suggested: i.suggested, score: i.score, selfConfidence: i.selfConfidence })),
    ),
    clusters: await Promise.all(
      clusters.map(async (c) => ({
        id: c.id,
        size: c.size,
        leak: c.leak,
        conflict: c.conflict,
        splits: c.splits,
        members: await Promise.all(c.members.map(async (m) => ({ imageId: m.imageId, path: await pathOf(m.imageId), split: m.split, label: m.className }))),
        pairs: c.pairs,
      })),
    ),
    leaks: summary.leaks,
    conflicts: summary.conflicts,
    durations: summary.durations,
  };
  return { json, issues, clusters };
}

function auditText(s: AuditSummary, issues: LabelIssueRow[], clusters: DuplicateClusterInfo[]): string {
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
  const lines = [
    `Audit ${s.id}: ${s.scored} labelled images scored out of sample (${s.folds} folds, ${s.source.model} at ${s.source.cutLayer}${s.source.runId ? `, run ${s.source.runId}'s head` : ''}), ${s.images} images checked for near-duplicates`,
    `Likely label errors: ${issues.length}${s.skippedCount ? `; ${s.skippedCount} image(s) could not be read` : ''}`,
    ...issues.slice(0, 20).map((i) => `  ${i.fileName.padEnd(30)} ${i.given} -> ${i.suggested}  (score ${i.score.toFixed(3)})`),
    ...(issues.length > 20 ? [`  ... ${issues.length - 20} more (--json lists them all)`] : []),
    `Estimated noise rate per class: ${s.noiseRates.map((r) => `${r.className} ${pct(r.rate)}`).join(', ')}`,
    `Near-duplicate clusters: ${s.clusters} (${s.duplicateImages} images); across splits (leaks): ${s.leaks}; with conflicting labels: ${s.conflicts}`,
    ...clusters
      .filter((c) => c.leak || c.conflict)
      .slice(0, 10)
      .map((c) => `  cluster ${c.id}: ${c.members.map((m) => `${m.fileName} [${m.split}${m.className ? `, ${m.className}` : ''}]`).join(', ')}`),
  ];
  return lines.join('\n');
}

export const auditCommands: Command[] = [
  {
    name: 'audit',
    args: 'DIR [--run ID] [--model NAME] [--folds 5] [--engine ssh://...]',
    summary: 'Likely label errors (out-of-sample probabilities + confident learning), noise rate per class, near-duplicates and leaks across splits.',
    options: { run: { type: 'string' }, model: { type: 'string' }, folds: { type: 'string' }, ...ENGINE_OPTION },
    positionals: { required: ['DIR'] },
    async run({ studio, args, values }) {
      const runId = runOption(values.run);
      const folds = foldsOption(values.folds);
      const model = stringOption(values.model);
      if (runId !== undefined && model !== undefined) throw new StudioError('bad_request', '--run and --model cannot be combined (a run has its model).', 'model');
      await studio.call('openProject', { dir: args[0]! });
      const job = await studio.call('startAudit', { ...(runId !== undefined ? { runId } : {}), ...(model !== undefined ? { model } : {}), ...(folds !== undefined ? { folds } : {}) });
      const summary = await waitForJob(studio, job);
      const { json, issues, clusters } = await auditJson(studio, summary);
      return { json: { audit: json }, text: auditText(summary, issues, clusters) };
    },
  },
];
