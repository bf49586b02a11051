/**
 * The CLI end to end on real data (issue 7): a project made from real handwritten digits given as a
 * train.csv + images folder and an unlabelled test folder, a real MobileNet, scenario 1 training,
 * prediction, the submission and the model exported; the exported model, loaded in plain Node
 * without the app, gives the predictions the studio stored. Then bad flags and missing files.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { cli, closedPort, readCsvFile, removeTempDirs, tempDir, type CliResult } from '../helpers';

const TRAIN_PER_CLASS = 20;
const TEST_PER_CLASS = 3;

let home: string;
let root: string;
let dir: string;
const run = (...args: string[]): Promise<CliResult> => cli(home, args);

/** Digits cut from the shared sheet, laid out as a competition gives them: images/ + train.csv, test/, more-test/. */
async function writeCompetitionData(): Promise<void> {
  const raw = path.join(root, 'raw');
  await writeDigits(raw, TRAIN_PER_CLASS + TEST_PER_CLASS + 1);
  const rows = ['filename,label'];
  for (const folder of ['images', 'test', 'more-test']) fs.mkdirSync(path.join(root, folder));
  for (let d = 0; d < 10; d++) {
    for (let n = 0; n < TRAIN_PER_CLASS + TEST_PER_CLASS + 1; n++) {
      const src = path.join(raw, String(d), `${n}.png`);
      if (n < TRAIN_PER_CLASS) {
        fs.renameSync(src, path.join(root, 'images', `img_${d}_${n}.png`));
        rows.push(`img_${d}_${n}.png,${d}`);
      } else if (n < TRAIN_PER_CLASS + TEST_PER_CLASS) fs.renameSync(src, path.join(root, 'test', `t${d * 10 + n}.png`));
      else fs.renameSync(src, path.join(root, 'more-test', `m${d}.png`));
    }
  }
  fs.writeFileSync(path.join(root, 'train.csv'), rows.join('\n') + '\n');
}

beforeAll(async () => {
  home = tempDir('ts-cli-home-');
  root = tempDir('ts-cli-data-');
  dir = path.join(root, 'project');
  await writeCompetitionData();
});

afterAll(removeTempDirs);

describe('transfer-studio end to end on real digits', () => {
  let runId: number;

  it('creates, imports the CSV and the test folder, splits and installs the model', async () => {
    expect((await run('project', 'create', dir, '--name', 'Digits', '--json')).json).toMatchObject({ ok: true, project: { name: 'Digits' } });
    const train = await run('import', dir, '--csv', path.join(root, 'train.csv'), '--images', path.join(root, 'images'), '--json');
    expect(train.code, train.err).toBe(0);
    expect(train.json).toMatchObject({ ok: true, report: { added: 200, failureCount: 0 } });
    expect((train.json?.report as { classesCreated: string[] }).classesCreated).toHaveLength(10);
    const test = await run('import', dir, path.join(root, 'test'), '--split', 'test', '--json');
    expect(test.json).toMatchObject({ ok: true, report: { added: 30 } });
    expect((await run('split', dir, '--val', '0.2', '--seed', '7', '--json')).json).toMatchObject({ ok: true, split: { train: 160, val: 40 } });
    const model = await run('models', 'import', MODEL_025, '--json');
    expect(model.code, model.err).toBe(0);
  });

  it('trains scenario 1 and reports the run as one JSON object', async () => {
    const r = await run('train', dir, '--scenario', '1', '--epochs', '3', '--patience', '0', '--lr', '0.005', '--batch', '16', '--seed', '3', '--json');
    expect(r.code, r.err).toBe(0);
    const result = r.json?.run as Record<string, unknown> & { metrics: unknown[]; confusion: { classNames: string[]; matrix: number[][] }; valAccuracy: number; baseline: number };
    expect(result).toMatchObject({
      state: 'succeeded',
      scenario: 1,
      model: 'mobilenet_v1_0.25_224',
      epochsRun: 3,
      config: { epochs: 3, patience: 0, lr: 0.005, batchSize: 16, seed: 3, augment: null },
      backend: { name: expect.any(String), threads: expect.any(Number) },
      cache: { hits: 0, misses: 200 },
      durations: { extractMs: expect.any(Number), trainMs: expect.any(Number), totalMs: expect.any(Number) },
      beatsBaseline: true,
      predictions: 230,
      log: expect.arrayContaining([expect.stringMatching(/^Backend: TensorFlow\.js \S+/)]),
    });
    expect(result.metrics).toHaveLength(3);
    expect(result.baseline).toBeCloseTo(0.1, 5);
    // Real features of real digits: far above always guessing the commonest class.
    expect(result.valAccuracy).toBeGreaterThan(0.5);
    expect(result.confusion.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(result.confusion.matrix.flat().reduce((a, b) => a + b, 0)).toBe(40);
    runId = result.id as number;
  });

  it('predicts the test split, and a folder imported as test images', async () => {
    const r = await run('predict', dir, '--json');
    expect(r.code, r.err).toBe(0);
    const p = r.json?.predict as { runId: number; predicted: number; perClass: { count: number }[]; where: string };
    expect(p).toMatchObject({ runId, split: 'test', predicted: 30, failed: [] });
    expect(p.perClass.reduce((a, c) => a + c.count, 0)).toBe(30);
    expect(p.where).toContain('project.sqlite');
    const folder = await run('predict', dir, '--run', String(runId), '--folder', path.join(root, 'more-test'));
    expect(folder.code, folder.err).toBe(0);
    expect(folder.out).toMatch(/Imported 10 test image\(s\)/);
    expect(folder.out).toMatch(/Predicted 40 test image\(s\) with run \d+/);
  });

  it('exports the submission, and the model, which predicts the same in plain Node', async () => {
    const out = tempDir('ts-cli-out-');
    const sub = await run('export', dir, 'submission', '--out', path.join(out, 'submission.csv'), '--json');
    expect(sub.json).toMatchObject({ ok: true, export: { kind: 'submission', rows: 40, runId } });
    const submission = await readCsvFile(path.join(out, 'submission.csv'));
    expect(submission[0]).toEqual(['filename', 'label']);
    const probs = await run('export', dir, 'probabilities', '--out', path.join(out, 'probabilities.csv'), '--run', String(runId));
    expect(probs.code, probs.err).toBe(0);

    const modelDir = path.join(out, 'model');
    const exported = await run('export', dir, 'model', '--out', modelDir, '--json');
    expect(exported.code, exported.err).toBe(0);
    expect(exported.json).toMatchObject({ ok: true, export: { kind: 'model', files: [modelDir], runId, labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] } });
    expect(fs.readdirSync(modelDir).sort()).toEqual(['README.txt', 'labels.json', 'model.json', 'preprocessing.json', 'weights.bin']);
    expect(JSON.parse(fs.readFileSync(path.join(modelDir, 'preprocessing.json'), 'utf8'))).toMatchObject({ inputSize: 224, scaling: [-1, 1], channelOrder: 'RGB', layout: 'NHWC' });
    expect(fs.readFileSync(path.join(modelDir, 'README.txt'), 'utf8')).toMatch(/tf\.loadLayersModel/);
    // Nothing but the export itself is left in the output folder (no temporary folder).
    expect(fs.readdirSync(out).sort()).toEqual(['model', 'probabilities.csv', 'submission.csv']);

    const stored = new Map((await readCsvFile(path.join(out, 'probabilities.csv'))).slice(1).map((row) => [row[0]!, row.slice(1).map(Number)]));
    const all = [...fs.readdirSync(path.join(root, 'test')).map((f) => path.join(root, 'test', f)), ...fs.readdirSync(path.join(root, 'more-test')).map((f) => path.join(root, 'more-test', f))];
    expect(all).toHaveLength(40);
    // Every third test image, from both folders: the pure JS backend takes about 0.3 s of CPU per image.
    const images = all.filter((_, i) => i % 3 === 0);
    const plain = spawnSync(process.execPath, [path.join(import.meta.dirname, 'plain-node-predict.mjs'), modelDir, ...images], { encoding: 'utf8', cwd: import.meta.dirname });
    expect(plain.status, plain.stderr).toBe(0);
    const { labels, predictions } = JSON.parse(plain.stdout.trim().split('\n').at(-1)!) as { labels: string[]; predictions: { file: string; probabilities: number[] }[] };
    expect(predictions).toHaveLength(images.length);
    const top = (p: number[]): number => p.indexOf(Math.max(...p));
    for (const { file, probabilities } of predictions) {
      const want = stored.get(path.basename(file));
      expect(want, file).toBeDefined();
      expect(labels[top(probabilities)], file).toBe(labels[top(want!)]);
      probabilities.forEach((p, i) => expect(Math.abs(p - want![i]!), `${file} class ${i}`).toBeLessThan(1e-3));
    }
    // The submission holds the stored top-1 class of every test image.
    const byName = new Map(submission.slice(1).map((row) => [row[0]!, row[1]!]));
    expect(byName.size).toBe(40);
    for (const [name, probabilities] of stored) expect(byName.get(name), name).toBe(labels[top(probabilities)]);
  });

  it('train --scenario auto trains the scenario the advisor recommends', async () => {
    // The user's answer on similarity wins over the studio's estimate, which makes the advice certain here.
    const advice = await run('advise', dir, '--similarity', 'high', '--json');
    expect(advice.code, advice.err).toBe(0);
    expect(advice.json).toMatchObject({ ok: true, advice: { scenario: 1, size: 'small', similarity: 'high', reason: expect.any(String) } });
    const r = await run('train', dir, '--scenario', 'auto', '--similarity', 'high', '--epochs', '1', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({ ok: true, advice: { scenario: 1 }, run: { scenario: 1, state: 'succeeded', cache: { hits: 200, misses: 0 } } });
  });

  it('train --scenario 2 reports what was frozen and what trained', async () => {
    const r = await run('train', dir, '--scenario', '2', '--freeze-to', 'conv_pw_11_relu', '--epochs', '1', '--batch', '16', '--json');
    expect(r.code, r.err).toBe(0);
    const result = r.json?.run as { frozenParams: number; trainableParams: number; imagesPerSec: number; stepImagesPerSec: number };
    expect(r.json).toMatchObject({
      ok: true,
      run: { scenario: 2, state: 'succeeded', frozenLayersUpTo: 'conv_pw_11_relu', frozenPart: 'cached', batchSize: 16, batchReductions: [], cache: { misses: 200 } },
    });
    expect(result.frozenParams).toBeGreaterThan(0);
    expect(result.trainableParams).toBeGreaterThan(0);
    // Both rates count the same images; the steps alone took part of the training time (no validation, no checkpoint).
    expect(result.imagesPerSec).toBeGreaterThan(0);
    expect(result.stepImagesPerSec).toBeGreaterThan(result.imagesPerSec);
  });

  it('exits 2 with the reason on bad input', async () => {
    const epochs = await run('train', dir, '--scenario', '1', '--epochs', 'many', '--json');
    expect(epochs.code).toBe(2);
    expect(epochs.json).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'epochs', message: expect.stringContaining('--epochs') } });
    const lr = await run('train', dir, '--scenario', '1', '--lr=-1');
    expect(lr.code).toBe(2);
    expect(lr.err).toMatch(/--lr: .*\(got -1\)/);
    const patience = await run('train', dir, '--scenario', '1', '--patience', 'two');
    expect(patience.code).toBe(2);
    expect(patience.err).toMatch(/--patience: .*\(got two\)/);
    // Refused before the project is opened, so these can run side by side.
    const [scenario, similarity, noScenario, flag, both] = await Promise.all([
      run('train', dir, '--scenario', '5'),
      run('train', dir, '--scenario', '1', '--similarity', 'high'),
      run('train', dir),
      run('train', dir, '--scenario', '1', '--epoch', '3'),
      run('predict', dir, '--split', 'test', '--folder', root),
    ]);
    expect(scenario.err).toMatch(/--scenario must be 1, 2, 3, 4 or auto/);
    expect(similarity.err).toMatch(/--similarity is for --scenario auto/);
    expect(noScenario.err).toMatch(/missing --scenario/);
    expect(flag.err).toMatch(/Unknown option '--epoch'/);
    expect(both.err).toMatch(/cannot be combined/);
    for (const r of [scenario, similarity, noScenario, flag, both]) expect(r.code).toBe(2);
    const model = await run('train', dir, '--scenario', '1', '--model', 'resnet', '--json');
    expect(model.code).toBe(2);
    expect(model.json).toMatchObject({ ok: false, error: { code: 'not_found', message: expect.stringContaining('"resnet" is not installed') } });
    expect((await run('predict', dir, '--run', '99', '--json')).json).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // A freeze boundary the model lacks is refused before any run is recorded.
    const runsBefore = ((await run('project', 'info', dir, '--json')).json?.project as { runs: number }).runs;
    const freeze = await run('train', dir, '--scenario', '2', '--freeze-to', 'conv_dw_5', '--json');
    expect(freeze.code).toBe(2);
    expect(freeze.json).toMatchObject({ ok: false, error: { code: 'bad_input', message: expect.stringMatching(/conv_dw_5 is not a block boundary; freeze up to one of: .*conv_pw_5_relu/) } });
    expect(((await run('project', 'info', dir, '--json')).json?.project as { runs: number }).runs).toBe(runsBefore);
    const missingProject = await run('train', path.join(root, 'nowhere'), '--scenario', '1', '--json');
    expect(missingProject.code).toBe(2);
    const missingCsv = await run('import', dir, '--csv', path.join(root, 'missing.csv'), '--images', path.join(root, 'images'), '--json');
    expect(missingCsv.code).toBe(2);
    expect(missingCsv.json).toMatchObject({ ok: false });
    // A request's schema error is phrased with the flag that set the field.
    const split = await run('import', dir, path.join(root, 'test'), '--split', 'holdout', '--json');
    expect(split.code).toBe(2);
    expect(split.json).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'split', message: expect.stringMatching(/^--split: .*"test"/) } });
    const missingFolder = await run('predict', dir, '--folder', path.join(root, 'no-such-folder'));
    expect(missingFolder.code).toBe(2);
    // The model export needs a new or empty folder, and leaves nothing behind when refused.
    const full = tempDir('ts-cli-full-');
    fs.writeFileSync(path.join(full, 'keep.txt'), 'x');
    const notEmpty = await run('export', dir, 'model', '--out', full, '--json');
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.json).toMatchObject({ ok: false, error: { code: 'not_empty', message: expect.stringContaining('is not empty') } });
    expect(fs.readdirSync(full)).toEqual(['keep.txt']);
    expect(fs.readdirSync(path.dirname(full)).filter((n) => n.startsWith(`.${path.basename(full)}.`))).toEqual([]);
  });

  it('exits 1 on a failure that is not the input: a model download that cannot connect', async () => {
    // A closed port refuses the connection: the same path as a machine without internet access.
    const r = await cli(home, ['models', 'download', 'mobilenet_v1_0.75_224', '--json'], { env: { TRANSFER_STUDIO_MODEL_MIRROR: `http://127.0.0.1:${await closedPort()}/` } });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'download_failed', message: expect.stringMatching(/Could not download .*ECONNREFUSED.*models import PATH/) } });
  });
});
