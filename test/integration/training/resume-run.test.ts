/**
 * Resuming a run through the Studio (the request the Train screen's Resume button and
 * `train --resume` use): a scenario 2 run on real digits with the real engine process is
 * cancelled during its second epoch, resumed from the checkpoint of the first, and finishes with
 * every epoch recorded once and the images predicted. Each run's log (the run.log events and the
 * stored result) says which backend the engine runs on, though another call started the engine.
 * Requests that cannot resume are refused.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { forkEngine } from '../../../src/main/training/engine-client';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { removeTempDirs, tempDir } from '../helpers';

describe('resume a run', () => {
  let studio: Studio;
  const logs: { runId: number; message: string }[] = [];
  const BACKEND_LINE = /^Backend: TensorFlow\.js (wasm|cpu|tensorflow|tensorflow-gpu)\b/;

  beforeAll(async () => {
    const src = tempDir('ts-resume-src-');
    await writeDigits(src, 12, 3);
    studio = new Studio({ userDataDir: tempDir('ts-resume-home-'), mode: 'test', engine: (start) => new HostEngine(() => forkEngine({ start })) });
    studio.on('run.log', (e) => logs.push(e));
    await studio.call('createProject', { dir: path.join(tempDir('ts-resume-proj-'), 'p') });
    await studio.jobs.wait((await studio.call('importImages', { source: src })).id);
    await studio.call('autoSplit', { val: 0.25, seed: 1 });
    await studio.call('importModel', { dir: MODEL_025, id: 'm025' });
  }, 60_000);

  afterAll(async () => {
    await studio?.dispose();
    removeTempDirs();
  });

  it('continues a cancelled scenario 2 run from its checkpoint to the end', async () => {
    const config = { scenario: 2 as const, model: 'm025', freezeTo: 'conv_pw_11_relu', epochs: 3, batchSize: 8, patience: 0, seed: 5 };
    const { job, runId } = await studio.call('startTraining', { config });
    // Cancel once the first epoch has ended (its checkpoint is written before the second starts).
    const off = studio.on('run.epoch', (e) => {
      if (e.runId === runId && e.metrics.epoch === 1) void studio.call('cancelJob', { id: job.id });
    });
    const first = await studio.jobs.wait(job.id);
    off();
    expect(first.state).toBe('cancelled');
    const cancelled = await studio.call('getRun', { id: runId });
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.metrics.map((m) => m.epoch)).toEqual([1]);
    expect(logs.filter((l) => l.runId === runId && BACKEND_LINE.test(l.message))).toHaveLength(1);
    expect((cancelled.result?.log as string[]).filter((l) => BACKEND_LINE.test(l))).toHaveLength(1);

    const resumed = await studio.call('resumeRun', { id: runId });
    expect(resumed.runId).toBe(runId);
    expect((await studio.call('getRun', { id: runId })).state).toBe('running');
    const second = await studio.jobs.wait(resumed.job);
    expect(second.state, JSON.stringify(second.error)).toBe('succeeded');
    const run = await studio.call('getRun', { id: runId });
    expect(run.state).toBe('succeeded');
    expect(run.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(logs.some((l) => l.runId === runId && /Resumed from the checkpoint after epoch 1/.test(l.message))).toBe(true);
    // The resumed run's own log (its job's typed result, and the run record) starts again with the backend.
    expect(second.result?.runId).toBe(runId);
    expect(second.result?.log.filter((l) => BACKEND_LINE.test(l))).toHaveLength(1);
    expect(second.result?.log).toContainEqual(expect.stringMatching(/Resumed from the checkpoint after epoch 1/));
    expect(run.result?.log).toEqual(second.result?.log);
    expect(run.backend).toEqual(second.result?.backend);
    const predicted = await studio.call('listPredictions', { runId, limit: 100 });
    expect(predicted.total).toBe(36);

    await expect(studio.call('resumeRun', { id: runId })).rejects.toMatchObject({ code: 'conflict' });
  }, 240_000);

  it('refuses a feature-extraction run and one that never reached a checkpoint', async () => {
    const s1 = await studio.call('startTraining', { config: { scenario: 1, model: 'm025', epochs: 1 } });
    await studio.call('cancelJob', { id: s1.job.id });
    await studio.jobs.wait(s1.job.id);
    await expect(studio.call('resumeRun', { id: s1.runId })).rejects.toMatchObject({ code: 'bad_input', message: expect.stringMatching(/scenario 1/) });

    const s3 = await studio.call('startTraining', { config: { scenario: 3, model: 'm025', epochs: 1 } });
    await studio.call('cancelJob', { id: s3.job.id });
    await studio.jobs.wait(s3.job.id);
    await expect(studio.call('resumeRun', { id: s3.runId })).rejects.toMatchObject({ code: 'bad_input', message: expect.stringMatching(/no checkpoint/) });
  }, 120_000);
});
