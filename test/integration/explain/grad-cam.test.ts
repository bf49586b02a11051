/**
 * Grad-CAM in a real engine process on the real MobileNet v1 0.25: after scenario 1 on images whose
 * class is decided only by a coloured corner patch, the map peaks on the patch; on photos the
 * engine's maps (frozen part on ONNX Runtime, gradient through the head from its weights) equal a
 * plain TensorFlow.js computation (the layers model, tf.grad through the same layers), for a
 * scenario-1 run cut at the pooling layer, for a whole-classifier run (scenarios 2-4) cut at a
 * convolutional block, and on the Teachable Machine MobileNetV2 (nested models, flattened at load);
 * maps are cached in the run's folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type PreprocessingMode } from '../../../src/shared/domain';
import { heatmapPeak } from '../../../src/shared/heatmap';
import { inspectModel, loadLayersModel, type LoadedModel } from '../../../src/main/engine/model-layers';
import { buildHead } from '../../../src/main/engine/head';
import { classifierModel, disposeWeights, readRunRecord, saveLayersModel } from '../../../src/main/engine/model-files';
import { loadModelInput } from '../../../src/main/engine/preprocess';
import { preprocessVersion } from '../../../src/shared/preprocessing';
import { EngineClient, forkEngine } from '../../../src/main/training/engine-client';
import type { EngineEvent, GradCamResult } from '../../../src/main/engine/protocol';
import { MODEL_025, PHOTOS, TEACHABLE_MODEL } from '../../fixtures/assets';
import { PATCH_CLASSES, writePatchImages, type PatchImage } from '../../fixtures/corner-patches';
import { legacyHeadRunJson, legacyModelRunJson, writeLegacyRunJson } from '../../fixtures/run-record';
import { trainPlanned } from '../../fixtures/train-job';

const engine = new EngineClient(() => forkEngine());
let tmp: string;
let patches: PatchImage[];
let pretrained: LoadedModel;
const photos = fs.readdirSync(PHOTOS).filter((f) => /\.(png|jpe?g)$/.test(f)).map((f) => path.join(PHOTOS, f));
const photoItems = photos.map((p, i) => ({ path: p, hash: `photo-${i}` }));

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-grad-cam-'));
  patches = await writePatchImages(path.join(tmp, 'patches'), 40); // 3 classes x 40: 90 train, 30 val
  pretrained = await loadLayersModel(MODEL_025);
});

afterAll(() => {
  engine.dispose();
  pretrained?.model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * The reference: the feature map from the tf.layers model truncated at `layer`, `pool` to the head's
 * input, the head's Dense layers from their weights, and tf.grad of the chosen logit.
 */
async function referenceMaps(model: tf.LayersModel, layer: string, pool: (a: tf.Tensor) => tf.Tensor, head: tf.LayersModel, images: string[], classes: number[], mode: PreprocessingMode = 'tf'): Promise<Float32Array[]> {
  const dense = head.layers.filter((l) => l.getClassName() === 'Dense');
  const params = dense.map((l) => ({ w: l.getWeights()[0] as tf.Tensor2D, b: l.getWeights()[1]!, relu: (l.getConfig() as { activation: string }).activation === 'relu' }));
  const logits = (a: tf.Tensor): tf.Tensor => params.reduce<tf.Tensor>((h, p) => (p.relu ? tf.relu(tf.add(tf.matMul(h as tf.Tensor2D, p.w), p.b)) : tf.add(tf.matMul(h as tf.Tensor2D, p.w), p.b)), pool(a));
  const inputs = await Promise.all(images.map((p) => loadModelInput(p, 224, mode)));
  const x = tf.tensor4d(Float32Array.from(inputs.flatMap((v) => Array.from(v))), [images.length, 224, 224, 3]);
  const truncated = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  const cams = tf.tidy(() => {
    const a = truncated.predict(x) as tf.Tensor4D;
    const chosen = tf.oneHot(tf.tensor1d(classes, 'int32'), params[params.length - 1]!.b.shape[0]!);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logits(t), chosen)))(a);
    return tf.relu(tf.sum(tf.mul(a, tf.mean(g, [1, 2], true)), -1));
  });
  const values = cams.dataSync() as Float32Array;
  const per = values.length / images.length;
  cams.dispose();
  x.dispose();
  return images.map((_, i) => values.slice(i * per, (i + 1) * per));
}

/** A saved model folder's model; `nested`: its last layer (a whole classifier's head). */
async function savedHead(dir: string, nested: boolean): Promise<tf.LayersModel> {
  const model = (await loadLayersModel(dir)).model;
  return nested ? (model.layers[model.layers.length - 1] as tf.LayersModel) : model;
}

function expectSameMaps(engineMaps: GradCamResult, reference: Float32Array[]): void {
  engineMaps.items.forEach((item, i) => {
    const ref = reference[i]!;
    expect(item.map.length).toBe(ref.length);
    const scale = Math.max(...ref);
    expect(scale).toBeGreaterThan(0);
    const worst = item.map.reduce((m, v, j) => Math.max(m, Math.abs(v - ref[j]!)), 0);
    expect(worst / scale).toBeLessThan(2e-3);
  });
}

describe('Grad-CAM', () => {
  let runDir: string;

  it('after scenario 1 on corner patches, peaks on the patch for at least 90% of validation images; cached per run', async () => {
    runDir = path.join(tmp, 'runs', 'patches');
    const result = await trainPlanned(engine, {
      projectDir: tmp,
      runDir,
      cacheDir: path.join(tmp, 'cache'),
      modelDir: MODEL_025,
      modelId: 'mobilenet_v1_0.25_224',
      classNames: PATCH_CLASSES,
      items: patches.map((p, i) => ({ imageId: i + 1, path: p.path, hash: p.hash, label: p.label, split: p.split })),
      config: trainConfigSchema.parse({ model: 'mobilenet_v1_0.25_224', scenario: 1, epochs: 30, patience: 0, seed: 5, lr: 0.003 }),
    });
    expect(result.state).toBe('succeeded');
    const val = patches.filter((p) => p.split === 'val');
    const events: EngineEvent[] = [];
    const maps = await engine.call('gradCam', { runDir, items: val.map((p) => ({ path: p.path, hash: p.hash })) }, { onEvent: (e) => events.push(e) });
    expect(maps.layer).toBe('conv_pw_13_relu'); // the default cut is the pooling layer after it
    expect([maps.height, maps.width]).toEqual([7, 7]);
    let onPatch = 0;
    val.forEach((p, i) => {
      const item = maps.items[i]!;
      expect(item.classIndex).toBe(item.probabilities.indexOf(Math.max(...item.probabilities)));
      const peak = heatmapPeak({ values: item.map, width: maps.width, height: maps.height }, 64, 64);
      const [left, top, right, bottom] = p.patch;
      if (peak.x >= left && peak.x <= right && peak.y >= top && peak.y <= bottom) onPatch++;
    });
    expect(onPatch / val.length).toBeGreaterThanOrEqual(0.9);
    expect(events.some((e) => e.type === 'progress')).toBe(true);

    // Again, another class: from the run's cache (nothing extracted), the same probabilities.
    const again: EngineEvent[] = [];
    const other = await engine.call('gradCam', { runDir, items: val.map((p) => ({ path: p.path, hash: p.hash })), classIndex: 2 }, { onEvent: (e) => again.push(e) });
    expect(again.filter((e) => e.type === 'progress')).toEqual([]);
    expect(other.items.every((it) => it.classIndex === 2)).toBe(true);
    expect(other.items.map((it) => it.probabilities)).toEqual(maps.items.map((it) => it.probabilities));
    expect(fs.readdirSync(path.join(runDir, 'grad-cam')).length).toBe(1);
  });

  it('equals tf.grad through the layers model on photos (scenario 1, cut at the pooling layer)', async () => {
    const run = await readRunRecord(runDir);
    expect(run.cutLayer).toBe('global_average_pooling2d_1');
    const maps = await engine.call('gradCam', { runDir, items: photoItems, classIndex: 1 });
    const pool = pretrained.model.getLayer('global_average_pooling2d_1');
    const reference = await referenceMaps(pretrained.model, 'conv_pw_13_relu', (a) => pool.apply(a) as tf.Tensor, await savedHead(path.join(runDir, 'head'), false), photos, photos.map(() => 1));
    expectSameMaps(maps, reference);
  });

  it('equals tf.grad for a whole classifier (scenarios 2-4) cut at a convolutional block; refuses a bad class', async () => {
    const cut = 'conv_pw_11_relu';
    const config = trainConfigSchema.parse({ model: 'mobilenet_v1_0.25_224', scenario: 2, seed: 9 });
    const channels = pretrained.model.getLayer(cut).outputShape[3] as number;
    const head = buildHead(channels, 4, config);
    const whole = classifierModel(pretrained.model, cut, head);
    const dir = path.join(tmp, 'runs', 'whole');
    await saveLayersModel(whole, path.join(dir, 'model'));
    disposeWeights(head);
    writeLegacyRunJson(dir, legacyModelRunJson({ modelDir: MODEL_025, cutLayer: cut, freezeTo: null, classNames: ['a', 'b', 'c', 'd'], featureDim: channels, savedAt: new Date().toISOString() }));
    const maps = await engine.call('gradCam', { runDir: dir, items: photoItems });
    expect(maps.layer).toBe(cut);
    expect([maps.height, maps.width]).toEqual([14, 14]);
    const predicted = maps.items.map((it) => it.classIndex);
    const reference = await referenceMaps(pretrained.model, cut, (a) => tf.mean(a, [1, 2]), await savedHead(path.join(dir, 'model'), true), photos, predicted);
    expectSameMaps(maps, reference);
    await expect(engine.call('gradCam', { runDir: dir, items: photoItems, classIndex: 4 })).rejects.toMatchObject({ code: 'BAD_JOB' });
    await expect(engine.call('gradCam', { runDir: path.join(tmp, 'nowhere'), items: photoItems })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('equals tf.grad on the Teachable Machine MobileNetV2 (its nested models flattened), scenario 1 at its default cut', async () => {
    const tm = await loadLayersModel(TEACHABLE_MODEL);
    try {
      const cut = inspectModel(tm).defaultCutLayer;
      const shape = tm.model.getLayer(cut).outputShape as (number | null)[];
      const dim = shape[shape.length - 1] as number;
      const dir = path.join(tmp, 'runs', 'teachable');
      const head = buildHead(dim, 3, trainConfigSchema.parse({ model: 'teachable', scenario: 1, seed: 4 }));
      await saveLayersModel(head, path.join(dir, 'head'));
      disposeWeights(head);
      writeLegacyRunJson(
        dir,
        legacyHeadRunJson({
          modelId: 'teachable_machine_mobilenet_v2_0.35_224',
          modelDir: TEACHABLE_MODEL,
          cutLayer: cut,
          preprocessing: tm.preprocessing,
          preprocess: preprocessVersion(tm.preprocessing),
          classNames: ['x', 'y', 'z'],
          featureDim: dim,
          savedAt: new Date().toISOString(),
        }),
      );
      const maps = await engine.call('gradCam', { runDir: dir, items: photoItems });
      const cutLayer = tm.model.getLayer(cut);
      const pool = (a: tf.Tensor) => (maps.layer === cut ? tf.mean(a, [1, 2]) : (cutLayer.apply(a) as tf.Tensor));
      const reference = await referenceMaps(tm.model, maps.layer, pool, await savedHead(path.join(dir, 'head'), false), photos, maps.items.map((it) => it.classIndex), tm.preprocessing);
      expectSameMaps(maps, reference);
    } finally {
      tm.model.dispose();
    }
  });
});
