/**
 * Model export as a job, on a run folder laid out as the engine writes it (model/ + run.json; the
 * model here is the shared MobileNet, whose 55 shards make a multi-file copy): the files, labels
 * and preprocessing written; complete or nothing on cancel, a broken model, a non-empty folder.
 * (That an exported model predicts like the studio in plain Node: test/integration/cli/end-to-end.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../../src/main/store/project-store';
import { MODEL_025 } from '../../fixtures/assets';
import { legacyHeadRunJson } from '../../fixtures/run-record';
import { addRun, exportNow, removeTempDirs, strayFiles, tempDir, testContext } from '../helpers';
import { preprocessVersion } from '../../../src/shared/preprocessing';

const CLASSES = ['cat', 'dog', 'ünïcode bird'];
let store: ProjectStore;
let runId: number;

function writeRunFolder(id: number, runJson: Record<string, unknown>): string {
  const runDir = store.runDir(id, { create: true });
  fs.cpSync(MODEL_025, path.join(runDir, 'model'), { recursive: true, filter: (src) => !src.endsWith('SOURCE.txt') });
  // A record as the engine wrote it before the record had a version: what users' runs have.
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(legacyHeadRunJson({ classNames: CLASSES, modelDir: MODEL_025, ...runJson })));
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
      version: preprocessVersion('tf'),
      inputShape: [null, 224, 224, 3],
      channelOrder: 'RGB',
      scaling: [-1, 1],
      resize: { fit: 'cover', position: 'centre', kernel: 'bilinear', upscale: expect.objectContaining({ equivalents: expect.stringContaining('align_corners=False') }) },
    });
    expect(fs.readFileSync(path.join(out, 'README.txt'), 'utf8')).toMatch(/loadLayersModel[\s\S]*mean = \[127\.5,127\.5,127\.5\], std = \[127\.5,127\.5,127\.5\]/);
    expect(strayFiles(path.dirname(out), ['exported'])).toEqual([]);
  });

  it("describes a VGG16/ResNet50 run's own preprocessing: BGR with the ImageNet means subtracted", async () => {
    const id = addRun(store, CLASSES);
    writeRunFolder(id, { preprocessing: 'caffe', preprocess: preprocessVersion('caffe'), scaling: [-123.68, 151.061] });
    const out = path.join(tempDir(), 'caffe');
    await exportNow(store, { kind: 'model', out, runId: id });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'preprocessing.json'), 'utf8'))).toMatchObject({
      mode: 'caffe',
      channelOrder: 'BGR',
      mean: [103.939, 116.779, 123.68],
      std: [1, 1, 1],
      formula: expect.stringContaining('B: x = pixel - 103.939'),
    });
    expect(fs.readFileSync(path.join(out, 'README.txt'), 'utf8')).toMatch(/order = \[2, 1, 0\]; \/\/ channel order BGR/);
  });

  it('still exports a run made before small images were upscaled in floats (preprocessing p1), under its own version', async () => {
    const id = addRun(store, CLASSES);
    writeRunFolder(id, { preprocess: 'p1-exif-centercrop-linear-srgb-m1p1' });
    const out = path.join(tempDir(), 'p1');
    await exportNow(store, { kind: 'model', out, runId: id });
    const spec = JSON.parse(fs.readFileSync(path.join(out, 'preprocessing.json'), 'utf8')) as { resize: Record<string, unknown> };
    expect(spec).toMatchObject({ version: 'p1-exif-centercrop-linear-srgb-m1p1', mode: 'tf' });
    expect(spec.resize['upscale']).toBeUndefined(); // p1 upscaled with libvips like everything else
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
