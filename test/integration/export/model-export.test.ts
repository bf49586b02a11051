/**
 * Model export as a job, on a run folder laid out as the engine writes it (model/ + run.json; the
 * model here is the shared MobileNet, whose 55 shards make a multi-file copy): the files, labels
 * and preprocessing written; complete or nothing on cancel, a broken model, a non-empty folder.
 * (That an exported model predicts like the studio in plain Node: test/integration/cli/end-to-end.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREPROCESS_VERSION } from '../../../src/main/training/engine/preprocess';
import { ProjectStore } from '../../../src/main/store/project-store';
import { MODEL_025 } from '../../fixtures/shared';
import { addRun, exportNow, removeTempDirs, strayFiles, tempDir, testContext } from '../helpers';

const CLASSES = ['cat', 'dog', 'ünïcode bird'];
let store: ProjectStore;
let runId: number;

function writeRunFolder(id: number, runJson: Record<string, unknown>): string {
  const runDir = store.runDir(id, { create: true });
  fs.cpSync(MODEL_025, path.join(runDir, 'model'), { recursive: true, filter: (src) => !src.endsWith('SOURCE.txt') });
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ classNames: CLASSES, inputSize: 224, scaling: [-1, 1], preprocess: PREPROCESS_VERSION, ...runJson }));
  return runDir;
}

beforeAll(() => {
  store = ProjectStore.create(path.join(tempDir(), 'project'));
  runId = addRun(store, CLASSES);
  writeRunFolder(runId, {});
});

afterAll(() => {
  store.close();
  removeTempDirs();
});

describe('export model', () => {
  it('copies the model with labels.json, preprocessing.json and README.txt into a new folder', async () => {
    const out = path.join(tempDir(), 'exported');
    const r = await exportNow(store, { kind: 'model', out });
    expect(r).toMatchObject({ kind: 'model', files: [out], runId, labels: CLASSES, rows: 1 + 55 + 3 });
    const files = fs.readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['model.json', 'group1-shard1of1', 'group55-shard1of1', 'labels.json', 'preprocessing.json', 'README.txt']));
    expect(fs.readFileSync(path.join(out, 'group31-shard1of1'))).toEqual(fs.readFileSync(path.join(MODEL_025, 'group31-shard1of1')));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'labels.json'), 'utf8'))).toEqual(CLASSES);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'preprocessing.json'), 'utf8'))).toMatchObject({
      version: PREPROCESS_VERSION,
      inputShape: [null, 224, 224, 3],
      channelOrder: 'RGB',
      scaling: [-1, 1],
      resize: { fit: 'cover', position: 'centre', kernel: 'bilinear' },
    });
    expect(fs.readFileSync(path.join(out, 'README.txt'), 'utf8')).toMatch(/loadLayersModel[\s\S]*v \* 0\.00784313725490196 - 1/);
    expect(strayFiles(path.dirname(out), ['exported'])).toEqual([]);
  });

  it('a cancel leaves nothing behind', async () => {
    const parent = tempDir();
    const controller = new AbortController();
    const ctx = testContext(controller, (done) => done >= 10 && controller.abort());
    await expect(exportNow(store, { kind: 'model', out: path.join(parent, 'm') }, ctx)).rejects.toMatchObject({ code: 'cancelled' });
    expect(strayFiles(parent)).toEqual([]);
  });

  it('refuses a non-empty folder, a run without a model, a missing shard, unknown preprocessing and a size run.json does not match, leaving nothing', async () => {
    const parent = tempDir();
    fs.mkdirSync(path.join(parent, 'full'));
    fs.writeFileSync(path.join(parent, 'full', 'x'), '');
    await expect(exportNow(store, { kind: 'model', out: path.join(parent, 'full') })).rejects.toMatchObject({ code: 'not_empty' });

    const untrained = addRun(store, CLASSES);
    await expect(exportNow(store, { kind: 'model', out: path.join(parent, 'a'), runId: untrained })).rejects.toMatchObject({ code: 'bad_input', message: expect.stringContaining(`Run ${untrained} has no saved model`) });

    const broken = addRun(store, CLASSES);
    fs.rmSync(path.join(writeRunFolder(broken, {}), 'model', 'group7-shard1of1'));
    await expect(exportNow(store, { kind: 'model', out: path.join(parent, 'b'), runId: broken })).rejects.toMatchObject({ code: 'bad_model', message: expect.stringContaining('"group7-shard1of1"') });

    const future = addRun(store, CLASSES);
    writeRunFolder(future, { preprocess: 'p9-something-new' });
    await expect(exportNow(store, { kind: 'model', out: path.join(parent, 'c'), runId: future })).rejects.toMatchObject({ message: expect.stringContaining('p9-something-new') });

    const resized = addRun(store, CLASSES);
    writeRunFolder(resized, { inputSize: 96 });
    await expect(exportNow(store, { kind: 'model', out: path.join(parent, 'd'), runId: resized })).rejects.toMatchObject({ message: expect.stringContaining('takes 224x224 images but its run.json says 96') });
    expect(strayFiles(parent, ['full'])).toEqual([]);
  });
});
