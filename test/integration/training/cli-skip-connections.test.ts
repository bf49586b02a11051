/**
 * Scenario 2 on networks with skip connections from the command line, end to end at their own
 * 224x224 input: a ResNet50 and an EfficientNetB0 weights file (seeded weights in Keras' layout,
 * as a user's own .h5) imported with `models import`, `advise` listing their block ends with the
 * parameters each freezes, `train --scenario 2 --freeze-to <block>` training from the activation
 * cache and predicting every image, and a boundary a skip connection goes around refused (exit 2).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdviceInfo } from '../../../src/shared/domain';
import { writeDigits } from '../../fixtures/digits';
import { writeCatalogWeights } from '../../fixtures/keras';
import { cli, removeTempDirs, tempDir, type CliResult } from '../helpers';

const home = tempDir('ts-cli-skip-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
let project: string;
let work: string;

beforeAll(async () => {
  work = tempDir('ts-cli-skip-');
  await writeDigits(path.join(work, 'digits'), 4, 4); // 4 classes x 4: 12 train, 4 val
  project = path.join(work, 'project');
  for (const args of [['project', 'create', project], ['import', project, path.join(work, 'digits')], ['split', project, '--val', '0.25', '--seed', '1']]) {
    const r = await run(...args, '--json');
    expect(r.code, r.err).toBe(0);
  }
}, 120_000);

afterAll(removeTempDirs);

describe.each([
  ['resnet50', 'conv5_block2_out', 'conv5_block2_2_relu'],
  ['efficientnetb0', 'block6d_add', 'block6d_project_bn'],
] as const)('%s', (family, freezeTo, inside) => {
  it(`imports the weights, advises its block ends, and trains scenario 2 frozen up to ${freezeTo}`, async () => {
    const file = path.join(work, `my_${family}.h5`);
    await writeCatalogWeights({ family, includeTop: false }, file, 5);
    const imported = await run('models', 'import', file, '--id', family, '--json');
    expect(imported.code, imported.err).toBe(0);

    const advised = await run('advise', project, '--model', family, '--similarity', 'low', '--json');
    expect(advised.code, advised.err).toBe(0);
    const advice = (advised.json as { advice: AdviceInfo }).advice;
    expect(advice.scenario).toBe(2);
    const choice = advice.plans?.freeze.find((c) => c.layer === freezeTo);
    expect(choice, `${freezeTo} offered`).toBeDefined();
    expect(advice.plans?.freeze.some((c) => c.layer === inside)).toBe(false);
    expect(choice!.frozenParams + choice!.trainableParams).toBe(advice.plans!.wholeParams);

    const refused = await run('train', project, '--scenario', '2', '--model', family, '--freeze-to', inside, '--json');
    expect(refused.code).toBe(2);
    expect(refused.json).toMatchObject({ ok: false, error: { message: expect.stringMatching(/skip connection goes around it/) } });

    const r = await run('train', project, '--scenario', '2', '--model', family, '--freeze-to', freezeTo, '--epochs', '1', '--batch', '8', '--json');
    expect(r.code, r.err).toBe(0);
    const result = (r.json as { run: Record<string, unknown> }).run;
    expect(result).toMatchObject({
      state: 'succeeded',
      scenario: 2,
      frozenLayersUpTo: freezeTo,
      frozenParams: choice!.frozenParams,
      trainableParams: choice!.trainableParams,
      frozenPart: 'cached',
      epochsRun: 1,
      predictions: 16,
    });
    expect(String(result['frozenKind'])).toMatch(/^onnxruntime/);
  }, 600_000);
});
