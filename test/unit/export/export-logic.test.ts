import { describe, expect, it } from 'vitest';
import { EXPORT_KINDS, exportRequestSchema, type ExportResult, type JobInfo } from '../../../src/shared/api';
import type { EnsembleSummary, RunSummary } from '../../../src/shared/domain';
import {
  buildExportRequest,
  defaultOut,
  describeGain,
  ensembleCandidates,
  predictionSource,
  defaultRun,
  describeResult,
  exportKinds,
  kindInfo,
  splitPath,
  type ExportForm,
} from '../../../src/renderer/features/export/export-logic';
import { followJob, jobPercent, startedJob } from '../../../src/renderer/components/jobs';
import { jobInfo } from '../helpers';

const form = (over: Partial<ExportForm> = {}): ExportForm => ({
  kind: 'submission',
  out: ' /tmp/out/sub.csv ',
  runId: 4,
  idColumn: '',
  labelColumn: '',
  template: '',
  stripExtension: false,
  overwrite: false,
  ...over,
});

const job = (id: string, state: JobInfo['state'], done = 0, total = 0, result?: unknown): JobInfo<'export'> => jobInfo(state, done, total, { id, ...(result === undefined ? {} : { result: result as JobInfo<'export'>['result'] }) });

describe('export: kinds and paths', () => {
  it('offers every kind of the contract, each with a label', () => {
    expect(exportKinds()).toEqual(EXPORT_KINDS);
    for (const k of EXPORT_KINDS) expect(kindInfo(k).label).not.toBe(k);
    expect(kindInfo('something-new')).toMatchObject({ label: 'something-new', target: 'file' });
  });

  it('suggests CSVs in the project folder and folders beside it', () => {
    expect(defaultOut('/data/proj', 'submission', 3)).toBe('/data/proj/submission-run3.csv');
    expect(defaultOut('/data/proj/', 'probabilities', null)).toBe('/data/proj/probabilities.csv');
    expect(defaultOut('/data/proj', 'dataset-csv', 3)).toBe('/data/proj/labels.csv');
    expect(defaultOut('/data/proj', 'dataset', 3)).toBe('/data/proj-dataset');
    expect(defaultOut('/data/proj/', 'model', 2)).toBe('/data/proj-model-run2');
    expect(defaultOut('C:\\Users\\me\\proj', 'submission', 1)).toBe('C:\\Users\\me\\proj\\submission-run1.csv');
    expect(defaultOut('C:\\Users\\me\\proj', 'dataset', 1)).toBe('C:\\Users\\me\\proj-dataset');
    expect(splitPath('/proj')).toEqual({ parent: '/', base: 'proj' });
    expect(splitPath('proj')).toEqual({ parent: '.', base: 'proj' });
  });
});

describe('export: the request', () => {
  it('trims, and sends only what the kind uses (all valid for the contract)', () => {
    const sub = buildExportRequest(form({ idColumn: ' id ', labelColumn: 'digit', template: ' ', stripExtension: true, overwrite: true }));
    expect(sub).toEqual({ kind: 'submission', out: '/tmp/out/sub.csv', runId: 4, overwrite: true, idColumn: 'id', labelColumn: 'digit', stripExtension: true });
    const probs = buildExportRequest(form({ kind: 'probabilities', labelColumn: 'digit', template: '/t.csv' }));
    expect(probs).toEqual({ kind: 'probabilities', out: '/tmp/out/sub.csv', runId: 4, overwrite: false, template: '/t.csv' });
    const tree = buildExportRequest(form({ kind: 'dataset', idColumn: 'id', overwrite: true }));
    expect(tree).toEqual({ kind: 'dataset', out: '/tmp/out/sub.csv' });
    expect(buildExportRequest(form({ runId: null }))).not.toHaveProperty('runId');
    for (const r of [sub, probs, tree]) expect(exportRequestSchema.safeParse(r).success).toBe(true);
  });
});

describe('export: the result', () => {
  it('says what was written', () => {
    const sub: ExportResult = { kind: 'submission', files: ['/o/s.csv'], rows: 12, runId: 3, columns: ['id', 'label'], fromLabels: 1 };
    expect(describeResult(sub)).toEqual(['12 rows written (columns: id, label)', 'from run 3', '1 row whose label came from your label rather than the prediction']);
    const tree: ExportResult = { kind: 'dataset', files: ['/o/d'], rows: 1, runId: null, folders: [{ className: 'a/b', folder: 'a_b' }], renamed: 2, skippedUnlabelled: 5 };
    expect(describeResult(tree)).toEqual(['1 file written', '5 unlabelled images left out', '2 files renamed because the name was taken in its class folder', 'class folders named differently: a/b → a_b']);
    const model: ExportResult = { kind: 'model', files: ['/o/m'], rows: 5, runId: 2, labels: ['cat', 'dog'] };
    expect(describeResult(model)).toEqual(['5 files written', 'from run 2', 'labels: cat, dog']);
  });
});

describe('export: runs and jobs', () => {
  it('picks the latest succeeded run, else the latest', () => {
    const run = (id: number, state: RunSummary['state']): RunSummary => ({ id, state }) as RunSummary;
    expect(defaultRun([run(1, 'succeeded'), run(3, 'failed'), run(2, 'succeeded')])?.id).toBe(2);
    expect(defaultRun([run(1, 'failed'), run(2, 'running')])?.id).toBe(2);
    expect(defaultRun([])).toBeUndefined();
  });

  it('follows only its own job, and never back from finished', () => {
    const a = job('a', 'running', 1, 10);
    expect(followJob('export', a, job('b', 'running', 5, 10))).toBe(a);
    expect(followJob('export', a, job('a', 'running', 5, 10))?.progress.done).toBe(5);
    const done = followJob('export', a, job('a', 'succeeded', 10, 10))!;
    expect(followJob('export', done, job('a', 'running', 9, 10))).toBe(done);
    expect(followJob('export', undefined, a)).toBeUndefined();
  });

  it('takes what events already said about a job that finished before its start answered', () => {
    const started = job('a', 'running');
    expect(startedJob('export', started, new Map())).toBe(started);
    const finished = job('a', 'failed');
    expect(startedJob('export', started, new Map([['a', finished]]))).toBe(finished);
    expect(startedJob('export', finished, new Map([['a', job('a', 'running')]]))).toBe(finished);
  });

  it('percent done', () => {
    expect(jobPercent(job('a', 'running', 0, 0))).toBe(0);
    expect(jobPercent(job('a', 'running', 3, 12))).toBe(25);
    expect(jobPercent(job('a', 'succeeded', 0, 0))).toBe(100);
  });
});

describe('export: an ensemble', () => {
  const run = (id: number, state: RunSummary['state'], classNames = ['cat', 'dog']): RunSummary => ({ id, state, classNames, model: 'm', bestValAcc: 0.5 }) as RunSummary;

  it('is the source once two runs are picked, and offers only succeeded runs with the first pick\'s classes', () => {
    expect(predictionSource(run(4, 'succeeded'), [])).toEqual({ runId: 4 });
    expect(predictionSource(run(4, 'succeeded'), [5])).toEqual({ runId: 4 });
    expect(predictionSource(run(4, 'succeeded'), [5, 2])).toEqual({ runs: [5, 2] });
    expect(predictionSource(undefined, [])).toBeUndefined();
    const runs = [run(1, 'succeeded'), run(2, 'failed'), run(3, 'succeeded', ['Dog', 'cat']), run(4, 'succeeded', ['cat', 'bird'])];
    expect(ensembleCandidates(runs, []).map((r) => r.id)).toEqual([4, 3, 1]);
    expect(ensembleCandidates(runs, [1]).map((r) => r.id)).toEqual([3, 1]);
  });

  it('exports the test-set CSVs from the ensemble and a model from the run', () => {
    const sub = buildExportRequest(form({ runs: [3, 5] }));
    expect(sub).toMatchObject({ kind: 'submission', runs: [3, 5] });
    expect(sub).not.toHaveProperty('runId');
    expect(buildExportRequest(form({ kind: 'model', runs: [3, 5] }))).toEqual({ kind: 'model', out: '/tmp/out/sub.csv', runId: 4 });
    expect(exportRequestSchema.safeParse(sub).success).toBe(true);
    expect(exportRequestSchema.safeParse({ ...sub, runId: 4 }).success).toBe(false);
    expect(exportRequestSchema.safeParse({ kind: 'model', out: '/m', runs: [3, 5] }).success).toBe(false);
    expect(exportRequestSchema.safeParse({ ...sub, runs: [3, 3] }).success).toBe(false);
    const done: ExportResult = { kind: 'probabilities', files: ['/o/p.csv'], rows: 2, runId: null, runs: [3, 5], views: ['identity', 'flip'] };
    expect(describeResult(done)).toEqual(['2 rows written', 'from the ensemble of runs 3, 5 (probabilities averaged)', 'predictions TTA over 2 views (identity, flip)']);
  });

  it('says by how much it beats its best member', () => {
    const s = { runs: [3, 5], images: 40, views: ['identity'], best: { runId: 5, accuracy: 0.8, loss: 0.5 }, ensemble: { accuracy: 0.825, loss: 0.45 }, gain: { accuracy: 0.025, loss: 0.05 } } as EnsembleSummary;
    expect(describeGain(s)).toBe('On 40 validation images, predictions plain (no TTA): ensemble accuracy 82.5%, best member (run 5) 80.0%: +2.5 points; loss 0.4500 against 0.5000.');
    expect(describeGain({ ...s, best: null, ensemble: null, gain: null })).toMatch(/No validation image has a prediction from every member/);
  });
});
