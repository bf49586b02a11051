/**
 * The exported classifier outside the studio, from the command line: a run's `model` export loads
 * in plain TensorFlow.js and its `onnx` export in a fresh ONNX Runtime session, each in a new Node
 * process holding nothing of the app (../workflow/plain-*.mjs), and both give the studio's own
 * predictions (its probabilities CSV) within 1e-4 on digits and photos of the test split:
 * MobileNet v1 with its real weights (scenario 1), and EfficientNetB0 with seeded weights in Keras'
 * layout (scenario 2: skip connections, squeeze-excite multiplies and Keras' Normalization, which
 * the TensorFlow.js export writes as a standard Rescaling layer), and the Teachable Machine export's
 * MobileNetV2 with its real weights (scenario 2 frozen at a residual block's add).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digitPng, writeDigits } from '../../fixtures/digits';
import { writeCatalogWeights } from '../../fixtures/keras';
import { MODEL_025, PHOTOS, TEACHABLE_MODEL } from '../../fixtures/assets';
import { cli, readCsvFile, removeTempDirs, tempDir, type CliResult } from '../helpers';

const home = tempDir('ts-export-rt-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
const SCRIPTS = path.join(import.meta.dirname, '..', 'workflow');
let work: string;
let testImages: string[];

beforeAll(async () => {
  work = tempDir('ts-export-rt-');
  await writeDigits(path.join(work, 'digits'), 6, 4);
  const test = path.join(work, 'test');
  fs.mkdirSync(test);
  // Two digits (grey, smaller than the input: upscaled): every test image is predicted again on the
  // pure JS backend of the plain TensorFlow.js process, EfficientNetB0's ten times MobileNet's work.
  for (let d = 0; d < 2; d++) fs.writeFileSync(path.join(test, `digit${d}.png`), await digitPng(d, 40 + d));
  // Colour, another aspect ratio (the centre crop), and a palette PNG.
  for (const photo of ['fruits.jpg', 'chelsea.png']) fs.copyFileSync(path.join(PHOTOS, photo), path.join(test, photo));
  testImages = fs.readdirSync(test).map((f) => path.join(test, f));
}, 60_000);

afterAll(removeTempDirs);

type Plain = { labels: string[]; predictions: { file: string; probabilities: number[] }[] };

function plain(script: string, dir: string): Plain {
  const r = spawnSync(process.execPath, [path.join(SCRIPTS, script), dir, ...testImages], { encoding: 'utf8', cwd: SCRIPTS });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Plain;
}

function expectSame(got: Plain, studio: Map<string, number[]>, classes: string[]): void {
  expect(got.labels).toEqual(classes);
  expect(got.predictions).toHaveLength(testImages.length);
  for (const { file, probabilities } of got.predictions) {
    const want = studio.get(path.basename(file));
    expect(want, file).toBeDefined();
    expect(probabilities).toHaveLength(classes.length);
    probabilities.forEach((p, i) => expect(Math.abs(p - want![i]!), `${path.basename(file)} class ${i}: ${p} vs ${want![i]}`).toBeLessThan(1e-4));
  }
}

describe.each([
  { name: 'MobileNet v1 (real weights), scenario 1', model: 'mobilenet_v1_0.25_224', train: ['--scenario', '1', '--epochs', '3'] },
  // Every layer fine-tuned, the steps on ONNX Runtime (the trained weights written back into the saved model).
  { name: 'MobileNet v1, scenario 4 (ONNX Runtime)', model: 'mobilenet_v1_0.25_224', project: 's4', train: ['--scenario', '4', '--epochs', '1', '--batch', '8', '--lr', '0.01'], trainedOn: 'onnxruntime' },
  { name: 'EfficientNetB0 (seeded weights), scenario 2', model: 'efficientnetb0', train: ['--scenario', '2', '--freeze-to', 'block6d_add', '--epochs', '2', '--batch', '8'] },
  // The Teachable Machine export: nested models flattened at import, real MobileNetV2 weights, frozen at a residual block's add.
  { name: 'Teachable Machine MobileNetV2 0.35 (real weights), scenario 2', model: 'teachable_machine_mobilenet_v2_0.35_224', train: ['--scenario', '2', '--freeze-to', 'block_12_add', '--epochs', '1', '--batch', '8'] },
])('$name', ({ model, train, project: name, trainedOn }: { model: string; train: string[]; project?: string; trainedOn?: string }) => {
  it('exports a TensorFlow.js folder and an ONNX model that predict like the studio in a fresh process', async () => {
    const project = path.join(work, name ?? model);
    for (const args of [
      ['project', 'create', project],
      ['import', project, path.join(work, 'digits')],
      ['import', project, path.join(work, 'test'), '--split', 'test'],
      ['split', project, '--val', '0.25', '--seed', '1'],
    ]) {
      const r = await run(...args, '--json');
      expect(r.code, r.err).toBe(0);
    }
    if (model === 'efficientnetb0') {
      const file = path.join(work, 'my_efficientnet.h5'); // not Keras' file name, whose hash is pinned
      await writeCatalogWeights({ family: 'efficientnetb0', includeTop: false }, file, 3);
      const imported = await run('models', 'import', file, '--id', model, '--json');
      expect(imported.code, imported.err).toBe(0);
    } else {
      // --force: two rows train MobileNet v1, each row installs what it trains.
      const imported = await run('models', 'import', model === 'mobilenet_v1_0.25_224' ? MODEL_025 : TEACHABLE_MODEL, '--force', '--json');
      expect(imported.code, imported.err).toBe(0);
    }
    const trained = await run('train', project, '--model', model, ...train, '--json');
    expect(trained.code, trained.err).toBe(0);
    const runId = String((trained.json as { run: { id: number } }).run.id);
    if (trainedOn) expect((trained.json as { run: { trainingRuntime: { runtime: string } | null } }).run.trainingRuntime).toMatchObject({ runtime: trainedOn, provider: 'cpu' });

    const out = (file: string) => path.join(work, `${name ?? model}-${file}`);
    for (const kind of ['probabilities', 'model', 'onnx']) {
      const r = await run('export', project, kind, '--run', runId, '--out', out(kind === 'probabilities' ? 'p.csv' : kind), '--json');
      expect(r.code, r.err).toBe(0);
      expect(r.json).toMatchObject({ export: { kind, runId: Number(runId) } });
    }
    const csv = await readCsvFile(out('p.csv'));
    const classes = csv[0]!.slice(1);
    const studio = new Map(csv.slice(1).map((row) => [row[0]!, row.slice(1).map(Number)]));
    expect(studio.size).toBe(testImages.length);

    expect(fs.readdirSync(out('onnx')).sort()).toEqual(['README.txt', 'labels.json', 'model.onnx', 'preprocessing.json']);
    expect(fs.readFileSync(path.join(out('onnx'), 'README.txt'), 'utf8')).toMatch(/InferenceSession\.create/);
    const topology = fs.readFileSync(path.join(out('model'), 'model.json'), 'utf8');
    expect(topology).not.toMatch(/"class_name":"Normalization"/);

    expectSame(plain('plain-node-predict.mjs', out('model')), studio, classes);
    expectSame(plain('plain-onnx-predict.mjs', out('onnx')), studio, classes);
  }, 900_000);
});
