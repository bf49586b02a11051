/**
 * The real Teachable Machine export (MobileNetV2 0.35 with its ImageNet weights and skip
 * connections, nested in two Sequentials, with a 5-class head of its own) from the command line:
 * recognised and listed as such, a project started from its labels, the advisor seeing
 * MobileNetV2's block ends and reading its head as the export's classes, scenario 1 on out_relu;
 * and scenario 4 on the whole base through the engine (six digits at 64x64, one epoch). Scenario 2 at a block end and both
 * exports are in ../export/runtimes.test.ts.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../../src/shared/domain';
import { loadLayersModel } from '../../../src/main/engine/model-layers';
import { EngineClient, forkEngine } from '../../../src/main/training/engine-client';
import { writeDigitItems, writeDigits } from '../../fixtures/digits';
import { TEACHABLE_MODEL } from '../../fixtures/assets';
import { cli, removeTempDirs, tempDir, type CliResult } from '../helpers';

const home = tempDir('ts-teachable-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
let work: string;
let project: string;

async function ok(...args: string[]): Promise<Record<string, unknown>> {
  const r = await run(...args, '--json');
  expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
  return r.json!;
}

beforeAll(async () => {
  work = tempDir('ts-teachable-');
  await writeDigits(path.join(work, 'digits'), 6, 3);
  await ok('models', 'import', TEACHABLE_MODEL, '--id', 'tm');
  project = path.join(work, 'digits-project');
  await ok('project', 'create', project);
  await ok('import', project, path.join(work, 'digits'));
  await ok('split', project, '--val', '0.34', '--seed', '2');
}, 120_000);

const engine = new EngineClient(() => forkEngine());
afterAll(() => {
  engine.dispose();
  removeTempDirs();
});

type Run = { state: string; scenario: number; log: string[] };

describe('a Teachable Machine export from the command line', () => {
  it('is listed as one, with its own classes, and starts a project with them', async () => {
    const list = await run('models', 'list');
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/tm +158 layers/);
    expect(list.out).toContain('Teachable Machine 2.4.5 export, its own classes: 노마스크, 마스크, 가위, 바위, 보');
    const created = await ok('project', 'create', path.join(work, 'from-labels'), '--classes-from', 'tm');
    expect((created['classes'] as { name: string }[]).map((c) => c.name)).toEqual(['노마스크', '마스크', '가위', '바위', '보']);
    // Not a Teachable Machine export: refused by name, and no class appears.
    const other = path.join(work, 'no-labels');
    await ok('project', 'create', other);
    await ok('import', other, path.join(work, 'digits'));
    const plain = await run('models', 'import', path.join(import.meta.dirname, '../../assets/models/mobilenet_v1_0.25_224'), '--id', 'v1', '--json');
    expect(plain.code, plain.err).toBe(0);
    const refused = await run('project', 'create', path.join(work, 'refused'), '--classes-from', 'v1', '--json');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/names no classes/);
  }, 120_000);

  it("advises on MobileNetV2's block ends, reading the head as the export's classes", async () => {
    const { advice } = (await ok('advise', project, '--model', 'tm')) as { advice: { freezeTo: string | null; blocks: number; reasons: string[]; plans: { cutLayer: string } } };
    expect(advice.plans.cutLayer).toBe('out_relu');
    expect(advice.blocks).toBeGreaterThanOrEqual(17);
    if (advice.freezeTo) expect(advice.freezeTo).toMatch(/^(block_\d+_(add|project_BN)|expanded_conv_project_BN|Conv1_relu)$/);
    const text = advice.reasons.join('\n');
    expect(text).toContain("Teachable Machine export's own classifier (its 5 classes");
    expect(text).not.toMatch(/among its \d+ classes \(photos like its training data/);
  }, 180_000);

  it('trains scenario 1 on out_relu', async () => {
    const one = (await ok('train', project, '--model', 'tm', '--scenario', '1', '--epochs', '1')) as { run: Run };
    expect(one.run).toMatchObject({ state: 'succeeded', scenario: 1 });
    expect(one.run.log.join('\n')).toMatch(/up to out_relu/);
  }, 120_000);

  it('trains scenario 4 on the whole base through its skip connections, BatchNorm statistics kept', async () => {
    const dir = path.join(home, 'models', 'tm');
    // Two training images per class at 64x64 (tuning.inputSize): one epoch of the whole graph stays short.
    const items = (await writeDigitItems(path.join(work, 'items'), [3, 3, 3], { split: (_l, k) => (k === 2 ? 'val' : 'train') }));
    const runDir = path.join(work, 'runs', 's4');
    const lrPretrained = 1e-4;
    const config = trainConfigSchema.parse({ model: 'tm', scenario: 4, epochs: 1, batchSize: 6, lr: 1e-3, lrPretrained, patience: 0, seed: 1 });
    const r = await engine.call('train', { job: { projectDir: work, runDir, cacheDir: path.join(work, 'cache'), modelDir: dir, modelId: 'tm', classNames: ['0', '1', '2'], items, config, tuning: { inputSize: 64 } } });
    expect(r).toMatchObject({ state: 'succeeded', scenario: 4, frozenParams: 0, frozenPart: 'none' });
    const before = (await loadLayersModel(dir)).model;
    const after = (await loadLayersModel(path.join(runDir, 'model'))).model;
    const weights = (m: tf.LayersModel, layer: string) => m.getLayer(layer).getWeights().map((w) => w.dataSync() as Float32Array);
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    // Kernels before, inside and after the residual blocks moved; BatchNorm's moving statistics did not.
    for (const conv of ['Conv1', 'block_2_depthwise', 'block_12_project', 'Conv_1']) expect(diff(weights(after, conv)[0]!, weights(before, conv)[0]!), conv).toBeGreaterThan(0);
    for (const bn of ['bn_Conv1', 'block_2_project_BN', 'Conv_1_bn']) {
      const [a, b] = [weights(before, bn), weights(after, bn)];
      expect(diff(a[2]!, b[2]!), `${bn} moving mean`).toBe(0);
      expect(diff(a[3]!, b[3]!), `${bn} moving variance`).toBe(0);
    }
  }, 300_000);
});
