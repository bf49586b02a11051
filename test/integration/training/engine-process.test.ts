/**
 * The engine as the host sees it: a forked process (engine-process.ts under tsx) driven through
 * EngineClient. Real models, real photos, real training on the OpenCV digits, the feature cache,
 * cancel, broken model folders, and the process killed (SIGKILL to its pid) mid-job, which the
 * next job survives.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../../src/shared/domain';
import { EngineClient, EngineError, forkEngine } from '../../../src/main/training/engine-client';
import type { EngineEvent, TrainItem } from '../../../src/main/engine/protocol';
import { trainPlanned, type UnplannedJob } from '../../fixtures/train-job';
import { DIGIT_CLASSES, writeDigitItems } from '../../fixtures/digits';
import { GRAPH_MODEL, MODEL_025, MODEL_075, PHOTOS } from '../../fixtures/assets';
import { copyModel } from '../helpers';

let tmp: string;
let items: TrainItem[];
let starts = 0;
const client = new EngineClient(() => {
  starts++;
  return forkEngine();
});

const config = trainConfigSchema.parse({ scenario: 1, model: 'mobilenet_v1_0.25_224', epochs: 15, patience: 4, seed: 7 });

function job(name: string, over: Partial<UnplannedJob> = {}): UnplannedJob {
  return {
    projectDir: tmp,
    runDir: path.join(tmp, 'runs', name),
    cacheDir: path.join(tmp, 'cache'),
    modelDir: MODEL_025,
    modelId: 'mobilenet_v1_0.25_224',
    classNames: DIGIT_CLASSES,
    items,
    config,
    ...over,
  };
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-engine-'));
  items = await writeDigitItems(path.join(tmp, 'digits'), 50); // 10 classes x 50: 400 train, 100 val
});

afterAll(async () => {
  client.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('engine process', () => {
  it('reports its backend: wasm with SIMD, threads on every core', async () => {
    const info = await client.call('backend', {});
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(Math.max(1, os.availableParallelism()));
  });

  it('inspects a model folder', async () => {
    const info = await client.call('inspectModel', { modelDir: MODEL_025 });
    expect(info.params).toBe(475_544);
    expect(info.defaultCutLayer).toBe('global_average_pooling2d_1');
    expect(info.layers.find((l) => l.name === 'conv_pw_13_relu')).toMatchObject({ className: 'Activation', outputShape: [7, 7, 256], cutPoint: true });
  });

  it.each([
    ['0.25', MODEL_025],
    ['0.75', MODEL_075],
  ])('classifies the photos with MobileNet %s (ImageNet top-1)', async (_a, dir) => {
    const files = ['coffee.png', 'motorcycle_left.png', 'chelsea.png', 'squirrel_cls.jpg', 'fruits.jpg'].map((f) => path.join(PHOTOS, f));
    const res = await client.call('classify', { modelDir: dir, imagePaths: files });
    const top1 = res.map((r) => r.top[0]?.index);
    expect(top1[0]).toBe(967);
    expect(res[0]?.top[0]?.label).toMatch(/espresso/);
    expect(top1[1]).toBe(665);
    expect(top1[2]).toBeGreaterThanOrEqual(281);
    expect(top1[2]).toBeLessThanOrEqual(287);
    expect(top1[3]).toBe(335);
    expect([950, 951]).toContain(top1[4]);
    expect(res[0]?.top).toHaveLength(5);
  });

  it('broken model folders fail with their specific code, and the engine stays up', async () => {
    const noShard = await copyModel(MODEL_025, path.join(tmp, 'broken-noshard'));
    await fs.rm(path.join(noShard, 'group5-shard1of1'));
    await expect(client.call('inspectModel', { modelDir: noShard })).rejects.toMatchObject({ code: 'SHARD_MISSING', message: expect.stringContaining('group5-shard1of1') });
    const truncated = await copyModel(MODEL_025, path.join(tmp, 'broken-truncated'));
    await fs.truncate(path.join(truncated, 'group29-shard1of1'), 4096);
    await expect(trainPlanned(client, job('broken', { modelDir: truncated }))).rejects.toMatchObject({
      code: 'SHARD_SIZE_MISMATCH',
      message: expect.stringMatching(/group29-shard1of1.*4096 bytes.*1028000 bytes/),
    });
    await expect(client.call('classify', { modelDir: GRAPH_MODEL, imagePaths: [path.join(PHOTOS, 'coffee.png')] })).rejects.toMatchObject({
      code: 'MODEL_IS_GRAPH_MODEL',
      message: expect.stringMatching(/GraphModel.*LayersModel/s),
    });
    expect(starts).toBe(1);
  });

  it('trains scenario 1 on the digits far above the majority baseline, then reuses every cached feature', async () => {
    const events: EngineEvent[] = [];
    const r1 = await trainPlanned(client, job('run1'), { onEvent: (e) => events.push(e) });
    expect(r1.state).toBe('succeeded');
    // The run says what it runs on first, and how that was chosen, though an earlier call started the engine.
    expect(events[0]).toEqual({ type: 'backend', backend: r1.backend });
    expect(events.some((e) => e.type === 'log' && /^Backend: TensorFlow\.js wasm with SIMD, \d+ threads?\.$/.test(e.message))).toBe(true);
    expect(r1.cache).toEqual({ hits: 0, misses: 500 });
    expect(r1.baseline).toBeCloseTo(0.1, 5);
    const best = r1.metrics.find((m) => m.epoch === r1.bestEpoch);
    expect(best?.valAcc).toBeGreaterThan(0.8);
    expect(r1.confusion?.matrix.flat().reduce((a, b) => a + b, 0)).toBe(100);
    expect(r1.confusion?.matrix.map((row) => row.reduce((a, b) => a + b, 0))).toEqual(new Array(10).fill(10));
    expect(events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase)).toEqual(['extract', 'train']);
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(r1.epochsRun);
    expect(events.some((e) => e.type === 'progress' && e.batch !== undefined)).toBe(true);
    for (const f of r1.modelFiles) await expect(fs.stat(f)).resolves.toBeTruthy();
    expect(r1.modelFiles.map((f) => path.relative(job('run1').runDir, f)).sort()).toEqual(
      ['head/model.json', 'head/weights.bin', 'model/model.json', 'model/weights.bin', 'run.json'].sort(),
    );

    const r2 = await trainPlanned(client, job('run2'));
    expect(r2.cache).toEqual({ hits: 500, misses: 0 });
    // Same seed, same features: the same run.
    expect(r2.metrics.map((m) => m.valLoss)).toEqual(r1.metrics.map((m) => m.valLoss));

    const val = items.filter((i) => i.split === 'val');
    const pred = await client.call('predict', { runDir: job('run1').runDir, items: val.map((i) => ({ imageId: i.imageId, path: i.path })) });
    expect(pred.classNames).toEqual(DIGIT_CLASSES);
    const correct = pred.items.filter((p, k) => p.probabilities.indexOf(Math.max(...p.probabilities)) === val[k]?.label).length;
    expect(correct / val.length).toBeCloseTo(best?.valAcc ?? 0, 1);

    // The exported classifier (pretrained part + pooling + head, one LayersModel) agrees with it.
    const exported = await client.call('classify', { modelDir: path.join(job('run1').runDir, 'model'), imagePaths: val.slice(0, 20).map((i) => i.path), topK: 1 });
    expect(exported.map((e) => e.top[0]?.index)).toEqual(
      pred.items.slice(0, 20).map((p) => p.probabilities.indexOf(Math.max(...p.probabilities))),
    );
  });

  it('plans a training on a model, names the field it refuses, and answers beside a running training', async () => {
    const plan = await client.call('planTraining', { modelDir: MODEL_025, config: { scenario: 2, freezeTo: 'conv_pw_11_relu' } });
    expect(plan).toMatchObject({ scenario: 2, cutLayer: 'global_average_pooling2d_1', freezeTo: 'conv_pw_11_relu', init: 'pretrained' });
    expect(plan.trainable).toContain('conv_pw_13_relu');
    await expect(client.call('planTraining', { modelDir: MODEL_025, config: { scenario: 2, freezeTo: 'conv_dw_5' } })).rejects.toMatchObject({
      code: 'NOT_A_CUT_POINT',
      field: 'config.freezeTo',
    });
    await expect(client.call('planTraining', { modelDir: MODEL_025, config: { scenario: 1, cutLayer: 'nope' } })).rejects.toMatchObject({ code: 'UNKNOWN_LAYER', field: 'config.cutLayer' });
    // A start while a training runs is answered then, not when the training ends (a queued run is not held up).
    const ac = new AbortController();
    let ended = false;
    let trainingStarted!: () => void;
    const started = new Promise<void>((resolve) => (trainingStarted = resolve));
    const training = trainPlanned(client, job('beside', { config: { ...config, epochs: 500, patience: 0 } }), {
      signal: ac.signal,
      onEvent: (e) => e.type === 'epoch' && trainingStarted(),
    }).finally(() => (ended = true));
    await started;
    const during = await client.call('planTraining', { modelDir: MODEL_075, config: { scenario: 4 } });
    expect(during).toMatchObject({ scenario: 4, freezeTo: null, init: 'pretrained' });
    expect(ended).toBe(false);
    ac.abort();
    expect((await training).state).toBe('cancelled');
  });

  it('cancel through the AbortSignal ends the run cancelled', async () => {
    const ac = new AbortController();
    const r = await trainPlanned(client, job('cancelled', { config: { ...config, epochs: 500, patience: 0 } }), {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'epoch' && e.metrics.epoch === 2) ac.abort();
      },
    });
    expect(r.state).toBe('cancelled');
    expect(r.epochsRun).toBeGreaterThanOrEqual(2);
    expect(r.epochsRun).toBeLessThan(10);
    expect(r.bestEpoch).not.toBeNull();
  });

  it('the engine process killed mid-job fails that job with a clear message; the next job starts a new engine and works', async () => {
    const more = await writeDigitItems(path.join(tmp, 'digits-more'), 40, { offset: 100 });
    const { pid } = await client.call('stats', {});
    expect(client.pid).toBe(pid);
    let killed = false;
    const failing = trainPlanned(client, job('crash', { items: more, cacheDir: path.join(tmp, 'cache-crash') }), {
      onEvent: (e) => {
        if (e.type === 'progress' && !killed) {
          killed = true;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    const err = await failing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('ENGINE_CRASHED');
    expect((err as EngineError).message).toMatch(/The training engine stopped unexpectedly \(exit code .*, signal SIGKILL\)/);
    const startsBefore = starts;
    const r = await trainPlanned(client, job('after-crash'));
    expect(starts).toBe(startsBefore + 1);
    expect(client.pid).not.toBe(pid);
    expect(r.state).toBe('succeeded');
    expect(r.cache.misses).toBe(0);
  });
});
