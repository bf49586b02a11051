/**
 * The audit through the Studio with the real engine process, real MobileNet features and real
 * digits (issue 14): label errors put there on purpose are flagged with the right suggestion; near
 * copies across splits are leaks, and both leak actions undo; confirmed labels stay confirmed and
 * are never flagged again; the map, label next and the CSV export; cancel stores nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../../src/shared/api';
import { DUPLICATE_THRESHOLDS, describeDuplicatePair } from '../../../src/shared/domain';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { forkEngine } from '../../../src/main/training/engine-client';
import { alteredCopy } from '../../fixtures/altered-copies';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { readCsvFile, removeTempDirs, tempDir } from '../helpers';

const PER_CLASS = 40;
const CLASSES = 5;

/** Where a digit was, and where it was filed under another class. */
const FLIPS = [
  ['train/0/3.png', 'train/1/flip-0a.png'],
  ['train/0/11.png', 'train/1/flip-0b.png'],
  ['train/2/7.png', 'train/4/flip-2a.png'],
  ['train/2/19.png', 'train/4/flip-2b.png'],
] as const;
const trueClass = (flip: string): string => flip.replace(/^.*flip-(\d).*$/, '$1');

let studio: Studio;
let src: string;
const idOf = new Map<string, number>();
const idPath = new Map<number, string>();

/** Image id by its path relative to the source folder (train/1/flip-0.png). */
const id = (rel: string): number => {
  const v = idOf.get(rel);
  if (v === undefined) throw new Error(`no image ${rel}`);
  return v;
};

async function waitOk<K extends JobInfo['kind']>(job: JobInfo<K>): Promise<NonNullable<JobInfo<K>['result']>> {
  const done = await studio.jobs.wait(job);
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
  return done.result!;
}

beforeAll(async () => {
  src = tempDir('ts-audit-src-');
  await writeDigits(path.join(src, 'train'), PER_CLASS, CLASSES);
  // Label errors: two 0s filed as 1, two 2s filed as 4.
  for (const [from, to] of FLIPS) fs.renameSync(path.join(src, from), path.join(src, to));
  // Altered copies of training images in the test set: leaks.
  fs.mkdirSync(path.join(src, 'test'));
  fs.writeFileSync(path.join(src, 'test/copy-of-0-1.jpg'), await alteredCopy(path.join(src, 'train/0/1.png'), 'jpeg'));
  fs.writeFileSync(path.join(src, 'test/copy-of-3-2.png'), await alteredCopy(path.join(src, 'train/3/2.png'), 'resized'));
  studio = new Studio({ userDataDir: tempDir('ts-audit-home-'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
  await studio.call('createProject', { dir: path.join(tempDir('ts-audit-proj-'), 'p') });
  await waitOk(await studio.call('importImages', { source: path.join(src, 'train') }));
  await waitOk(await studio.call('importImages', { source: path.join(src, 'test'), split: 'test' }));
  await studio.call('autoSplit', { val: 0.2, seed: 3 });
  await studio.call('importModel', { dir: MODEL_025 });
  for (const r of (await studio.call('listImages', { limit: 500 })).rows) {
    const d = await studio.call('imageDetails', { id: r.id });
    idOf.set(path.relative(src, d.path).split(path.sep).join('/'), r.id);
    idPath.set(r.id, d.path);
  }
}, 120_000);

afterAll(async () => {
  await studio?.dispose();
  removeTempDirs();
});

describe('the audit job', () => {
  it('fingerprints every image at import', async () => {
    const fingerprinted = studio.store().db.prepare('SELECT COUNT(*) AS n FROM fingerprints').get() as { n: number };
    expect(fingerprinted.n).toBe(PER_CLASS * CLASSES + 2);
  });

  it('flags the mislabelled images with their true class as the suggestion, and estimates noise per class', async () => {
    const progress: string[] = [];
    const off = studio.on('job.progress', (j) => j.kind === 'audit' && j.progress.message && progress.push(j.progress.message));
    const summary = await waitOk(await studio.call('startAudit', { folds: 4 }));
    off();
    expect(summary).toMatchObject({ folds: 4, scored: PER_CLASS * CLASSES, images: PER_CLASS * CLASSES + 2, skippedCount: 0, source: { runId: null, model: 'mobilenet_v1_0.25_224', featureDim: 256 } });
    expect(summary.classNames).toEqual(['0', '1', '2', '3', '4']);
    expect(progress.some((m) => m.startsWith('Out-of-sample probabilities'))).toBe(true);
    expect(progress.some((m) => m.startsWith('Near-duplicates'))).toBe(true);

    const { rows, total } = await studio.call('listLabelIssues', { limit: 500 });
    expect(total).toBe(summary.openIssues);
    expect(rows.map((r) => r.score)).toEqual([...rows.map((r) => r.score)].sort((a, b) => a - b));
    // Confident learning is conservative (an image counts as another class's only from that class's
    // mean confidence): most of the flips are flagged, each with its true class as the suggestion.
    const flips = FLIPS.map(([, to]) => ({ to, issue: rows.find((r) => r.imageId === id(to)) }));
    expect(flips.filter((f) => f.issue).length).toBeGreaterThanOrEqual(2);
    for (const { to, issue } of flips) if (issue) expect(issue).toMatchObject({ given: to.split('/')[1], suggested: trueClass(to), status: 'open' });
    // Every flip is among the lowest label-quality scores of all the scored images.
    const lowest = studio.store().db.prepare('SELECT image_id FROM audit_scores ORDER BY score LIMIT 8').pluck().all() as number[];
    for (const [, to] of FLIPS) expect(lowest).toContain(id(to));
    const noise = Object.fromEntries(summary.noiseRates.map((n) => [n.className, n]));
    expect(noise['1']).toMatchObject({ images: PER_CLASS + 2, rate: expect.any(Number) });
    expect(noise['0']).toMatchObject({ images: PER_CLASS - 2 });
    expect(noise['1']!.rate! + noise['4']!.rate!).toBeGreaterThan(0);
  });

  it('reports the near copies across splits as leaks', async () => {
    const { rows } = await studio.call('listDuplicateClusters', { only: 'leaks' });
    const members = rows.map((c) => c.members.map((m) => m.imageId).sort((a, b) => a - b));
    expect(members).toContainEqual([id('train/0/1.png'), id('test/copy-of-0-1.jpg')].sort((a, b) => a - b));
    expect(members).toContainEqual([id('train/3/2.png'), id('test/copy-of-3-2.png')].sort((a, b) => a - b));
    for (const c of rows) {
      expect(c.leak).toBe(true);
      expect(c.splits).toContain('test');
      expect(c.pairs[0]!.pixel).toBeGreaterThan(0.95);
      // How sure: the match that lined the pair up, and the margin over its threshold.
      const p = c.pairs[0]!;
      expect(p.margin).toBeCloseTo(p.pixel - DUPLICATE_THRESHOLDS[p.match], 6);
      expect(p.shifted).toBe(p.match !== 'aligned');
    }
    // And what each stood out from: the next best match of either image, kept with the audit and said.
    const compared = rows.flatMap((c) => c.pairs).filter((p) => p.rival !== null);
    expect(compared.length).toBeGreaterThan(0);
    for (const p of compared) expect(describeDuplicatePair(p)).toContain(`next best match ${p.rival!.toFixed(3)}`);
    const summary = await studio.call('auditSummary', {});
    expect(summary!.leaks).toBeGreaterThanOrEqual(2);
  });

  it('flags a cluster whose labels disagree, judged on the labels now', async () => {
    const one = (await studio.call('listClasses', {})).find((c) => c.name === '1')!.id;
    const before = (await studio.call('auditSummary', {}))!.conflicts;
    const pair = [id('train/3/2.png'), id('test/copy-of-3-2.png')].sort((a, b) => a - b);
    const membersOf = async (): Promise<number[][]> =>
      (await studio.call('listDuplicateClusters', { only: 'conflicts' })).rows.map((c) => c.members.map((m) => m.imageId).sort((a, b) => a - b));
    expect(await membersOf()).not.toContainEqual(pair);
    // The unlabelled copy of a 3 filed as a 1.
    const set = await studio.call('setLabels', { ids: [id('test/copy-of-3-2.png')], classId: one });
    try {
      expect(await membersOf()).toContainEqual(pair);
      expect((await studio.call('auditSummary', {}))!.conflicts).toBe(before + 1);
    } finally {
      await studio.call('restoreLabels', { groups: set.previous });
    }
    expect(await membersOf()).not.toContainEqual(pair);
    expect((await studio.call('auditSummary', {}))!.conflicts).toBe(before);
  });

  it('moves a leaking cluster to one split and undoes it', async () => {
    const leak = (await studio.call('listDuplicateClusters', { only: 'leaks' })).rows.find((c) => c.members.some((m) => m.imageId === id('test/copy-of-0-1.jpg')))!;
    const before = (await studio.call('auditSummary', {}))!.leaks;
    const moved = await studio.call('moveClusterToSplit', { clusterId: leak.id, split: 'test' });
    expect(moved.changed).toBe(1);
    expect((await studio.call('imageDetails', { id: id('train/0/1.png') })).split).toBe('test');
    expect((await studio.call('auditSummary', {}))!.leaks).toBe(before - 1);
    const undone = await studio.call('restoreSplits', { groups: moved.previous });
    expect(undone.changed).toBe(1);
    expect((await studio.call('imageDetails', { id: id('train/0/1.png') })).split).toBe(leak.members.find((m) => m.imageId === id('train/0/1.png'))!.split);
    expect((await studio.call('auditSummary', {}))!.leaks).toBe(before);
  });

  it('keeps one image of a leaking cluster and undoes it, label, split, predictions and confirmation included', async () => {
    const kept = id('test/copy-of-3-2.png');
    const removed = id('train/3/2.png');
    const leak = (await studio.call('listDuplicateClusters', { only: 'leaks' })).rows.find((c) => c.members.some((m) => m.imageId === kept))!;
    const member = leak.members.find((m) => m.imageId === removed)!;
    await studio.call('confirmLabels', { ids: [removed] });
    // Keeping the train copy would leave the test image's leak: refused, nothing removed.
    await expect(studio.call('keepOne', { clusterId: leak.id, keepImageId: removed })).rejects.toMatchObject({ code: 'bad_input' });
    const count = (await studio.call('projectInfo', {})).counts.total;
    const r = await studio.call('keepOne', { clusterId: leak.id, keepImageId: kept });
    expect(r.removed).toBe(1);
    expect((await studio.call('projectInfo', {})).counts.total).toBe(count - 1);
    await expect(studio.call('imageDetails', { id: removed })).rejects.toMatchObject({ code: 'not_found' });
    expect((await studio.call('listDuplicateClusters', { only: 'all' })).rows.some((c) => c.id === leak.id)).toBe(false);
    expect(fs.existsSync((await studio.call('imageDetails', { id: kept })).path)).toBe(true);

    const undo = await studio.call('undoRemoval', { removalId: r.removalId });
    expect(undo).toEqual({ restored: 1, skipped: [] });
    const back = await studio.call('imageDetails', { id: removed });
    expect(back).toMatchObject({ split: member.split, classId: member.classId });
    expect((await studio.call('projectInfo', {})).counts.total).toBe(count);
    expect((await studio.call('listDuplicateClusters', { only: 'leaks' })).rows.find((c) => c.id === leak.id)?.size).toBe(2);
    expect((await studio.call('unconfirmLabels', { ids: [removed] })).unconfirmed).toEqual([removed]);
    await expect(studio.call('undoRemoval', { removalId: r.removalId })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('keeps confirmed labels confirmed: never flagged by the next audit, and shown as confirmed until then', async () => {
    const flagged = (await studio.call('listLabelIssues', { limit: 500 })).rows.filter((r) => FLIPS.some(([, to]) => id(to) === r.imageId));
    const confirmedFlip = flagged[0]!.imageId;
    const otherFlip = flagged[1]!.imageId;
    const c = await studio.call('confirmLabels', { ids: [confirmedFlip, id('test/copy-of-0-1.jpg')] });
    expect(c.confirmed).toEqual([confirmedFlip]); // the unlabelled test image has no label to confirm
    expect((await studio.call('listLabelIssues', { limit: 500 })).rows.some((r) => r.imageId === confirmedFlip)).toBe(false);
    expect((await studio.call('listLabelIssues', { status: 'confirmed' })).rows.map((r) => r.imageId)).toEqual([confirmedFlip]);

    const summary = await waitOk(await studio.call('startAudit', { folds: 4 }));
    expect(summary.scored).toBe(PER_CLASS * CLASSES);
    const all = (await studio.call('listLabelIssues', { status: 'all', limit: 500 })).rows;
    expect(all.some((r) => r.imageId === confirmedFlip)).toBe(false);
    expect(all.some((r) => r.imageId === otherFlip)).toBe(true);
    // A fix shows as fixed at once; undoing the fix reopens it.
    const other = all.find((r) => r.imageId === otherFlip)!;
    const fix = await studio.call('setLabels', { ids: [otherFlip], classId: other.suggestedClassId });
    expect((await studio.call('listLabelIssues', { status: 'fixed' })).rows.map((r) => r.imageId)).toEqual([otherFlip]);
    await studio.call('restoreLabels', { groups: fix.previous });
    expect((await studio.call('listLabelIssues', { limit: 500 })).rows.some((r) => r.imageId === otherFlip)).toBe(true);
  });

  it('exports every audit result as CSV', async () => {
    const out = path.join(tempDir('ts-audit-out-'), 'audit.csv');
    const r = await waitOk(await studio.call('exportData', { kind: 'audit', out }));
    const rows = await readCsvFile(out);
    expect(rows[0]).toEqual(['image', 'given', 'suggested', 'score', 'reason']);
    expect(r.rows).toBe(rows.length - 1);
    const issues = (await studio.call('listLabelIssues', { status: 'all', limit: 500 })).rows;
    expect(rows.filter((x) => x[4]!.startsWith('likely label error'))).toHaveLength(issues.length);
    const issue = issues.find((r) => r.status === 'open')!;
    const line = rows.find((x) => x[0] === idPath.get(issue.imageId))!;
    expect(line.slice(1, 3)).toEqual([issue.given, issue.suggested]);
    expect(Number(line[3])).toBeCloseTo(issue.score, 5);
    expect(line[4]).toBe('likely label error');
    const copy = rows.find((x) => x[0] === path.join(src, 'test/copy-of-0-1.jpg'))!;
    expect(copy[4]).toMatch(/^leak: near-duplicate cluster \d+ spans (train|val), test; closest: 1\.png, hash \d+ bits? apart · features (cosine [\d.]+|not among the nearest) · pixels [\d.]+/);
    expect(Number(copy[3])).toBeGreaterThan(0.95);
  });

  it('maps every image, with labels, splits and audit scores as they are now', async () => {
    const summary = await waitOk(await studio.call('startEmbeddingMap', { seed: 7 }));
    expect(summary.points).toBe(PER_CLASS * CLASSES + 2);
    const page = (await studio.call('embeddingMap', {}))!;
    expect(page).toMatchObject({ total: summary.points, count: summary.points, offset: 0 });
    const decode = <T>(s: string, Kind: { new (b: ArrayBuffer): T }): T => {
      const b = Buffer.from(s, 'base64');
      return new Kind(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    const ids = decode(page.ids, Int32Array);
    const xy = decode(page.xy, Float32Array);
    const labels = decode(page.labels, Int16Array);
    const splits = decode(page.splits, Uint8Array);
    const scores = decode(page.scores, Float32Array);
    expect(ids.length).toBe(summary.points);
    expect(xy.every(Number.isFinite)).toBe(true);
    for (const [i, imageId] of ids.entries()) {
      const d = await studio.call('imageDetails', { id: imageId });
      expect(labels[i]).toBe(d.classId === null ? -1 : page.classes.findIndex((c) => c.id === d.classId));
      expect(splits[i]).toBe(['train', 'val', 'test'].indexOf(d.split));
      expect(Number.isNaN(scores[i]!)).toBe(d.classId === null);
    }
    // The same seed gives the same map.
    await waitOk(await studio.call('startEmbeddingMap', { seed: 7 }));
    expect((await studio.call('embeddingMap', {}))!.xy).toBe(page.xy);
    const second = (await studio.call('embeddingMap', { offset: summary.points - 2, limit: 50 }))!;
    expect(second.count).toBe(2);
    expect(decode(second.ids, Int32Array)).toEqual(ids.slice(summary.points - 2));
  });

  it('ranks the unlabelled images for labelling next, and drops an image once labelled', async () => {
    const unlabelled = (await studio.call('listImages', { filter: { classId: 'unlabelled' } })).rows.map((r) => r.id);
    const info = await waitOk(await studio.call('startLabelNext', {}));
    expect(info).toMatchObject({ trainedOn: PER_CLASS * CLASSES, ranked: unlabelled.length, skippedCount: 0 });
    const q = await studio.call('labelNextQueue', {});
    expect(q.ranking?.id).toBe(info.id);
    expect(q.rows.map((r) => r.imageId).sort()).toEqual([...unlabelled].sort());
    for (const r of q.rows) {
      expect(r.score).toBeCloseTo(r.uncertainty * r.density, 5);
      expect(r.uncertainty).toBeGreaterThanOrEqual(0);
      expect(r.uncertainty).toBeLessThanOrEqual(1);
    }
    // A resized copy of a 3 is predicted as a 3.
    expect(q.rows.find((r) => r.imageId === id('test/copy-of-3-2.png'))?.predicted).toBe('3');
    const entropy = await studio.call('labelNextQueue', { uncertainty: 'entropy', representative: false });
    for (const r of entropy.rows) expect(r.score).toBe(r.uncertainty);
    // The queue is in the audit's CSV, in its order, with the head's prediction as the suggestion.
    const out = path.join(tempDir('ts-audit-out-'), 'audit.csv');
    await waitOk(await studio.call('exportData', { kind: 'audit', out }));
    const next = (await readCsvFile(out)).filter((x) => x[4]!.startsWith('label next'));
    expect(next.map((x) => x[0])).toEqual(q.rows.map((r) => idPath.get(r.imageId)));
    expect(next[0]!.slice(1, 3)).toEqual(['', q.rows[0]!.predicted]);
    expect(Number(next[0]![3])).toBeCloseTo(q.rows[0]!.score, 5);
    expect(next[0]![4]).toMatch(/^label next #1 \(uncertainty/);
    const first = q.rows[0]!.imageId;
    const labelled = await studio.call('setLabels', { ids: [first], classId: (await studio.call('listClasses', {}))[0]!.id });
    expect((await studio.call('labelNextQueue', {})).rows.map((r) => r.imageId)).not.toContain(first);
    await studio.call('restoreLabels', { groups: labelled.previous });
  });

  it('stores nothing when cancelled, and the engine audits again afterwards', async () => {
    const before = (await studio.call('auditSummary', {}))!.id;
    const job = await studio.call('startAudit', { folds: 5 });
    const off = studio.on('job.progress', (j) => {
      if (j.id === job.id && j.progress.message?.startsWith('Out-of-sample')) void studio.call('cancelJob', { id: job.id });
    });
    const done = await studio.jobs.wait(job);
    off();
    expect(done.state).toBe('cancelled');
    expect((await studio.call('auditSummary', {}))!.id).toBe(before);
    const again = await waitOk(await studio.call('startAudit', { folds: 3 }));
    expect(again.id).toBeGreaterThan(before);
  });

  it('cancels label next and the map, keeping the previous ranking and map', async () => {
    const ranking = (await studio.call('labelNextQueue', {})).ranking!.id;
    const map = (await studio.call('embeddingMap', { limit: 1 }))!.mapId;
    for (const job of [await studio.call('startLabelNext', {}), await studio.call('startEmbeddingMap', { seed: 9 })]) {
      await studio.call('cancelJob', { id: job.id });
      expect((await studio.jobs.wait(job)).state).toBe('cancelled');
    }
    expect((await studio.call('labelNextQueue', {})).ranking!.id).toBe(ranking);
    expect((await studio.call('embeddingMap', { limit: 1 }))!.mapId).toBe(map);
  });

  it('refuses what it cannot do, naming why', async () => {
    await expect(studio.call('startAudit', { runId: 99 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(studio.call('startAudit', { runId: 1, model: 'x' })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(studio.call('startAudit', { folds: 1 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(studio.call('keepOne', { clusterId: 999_999, keepImageId: 1 })).rejects.toMatchObject({ code: 'not_found' });
  });
});
