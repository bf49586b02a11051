/** Model folder validation: every broken folder gets its specific code and a message naming the problem. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../../src/shared/model-errors';
import { readModelFolder } from '../../../src/shared/node/model-folder';
import { GRAPH_MODEL, MODEL_025 } from '../../fixtures/assets';
import { copyModel } from '../helpers';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-model-folder-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function expectModelError(dir: string, code: string, message: RegExp): Promise<ModelError> {
  const err = await readModelFolder(dir).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  const me = err as ModelError;
  expect(me.code).toBe(code);
  expect(me.message).toMatch(message);
  return me;
}

describe('model folder validation', () => {
  it('accepts the real 0.25 folder and reads its manifest', async () => {
    const f = await readModelFolder(MODEL_025);
    expect(f.layers).toHaveLength(88);
    expect(f.shards).toHaveLength(55);
    expect(f.weightBytes).toBe(1_902_176);
    expect(f.modelName).toBe('mobilenet_0.25_224');
  });

  it('a missing folder and a folder without model.json', async () => {
    await expectModelError(path.join(tmp, 'nope'), 'MODEL_DIR_MISSING', /does not exist/);
    const empty = path.join(tmp, 'empty');
    await fs.mkdir(empty);
    await expectModelError(empty, 'MODEL_JSON_MISSING', /no model\.json/);
  });

  it('invalid JSON', async () => {
    const dir = await copyModel(MODEL_025, path.join(tmp, 'badjson'));
    await fs.writeFile(path.join(dir, 'model.json'), '{"modelTopology": ');
    await expectModelError(dir, 'MODEL_JSON_INVALID', /not valid JSON/);
  });

  it('a missing shard is named', async () => {
    const dir = await copyModel(MODEL_025, path.join(tmp, 'noshard'));
    await fs.rm(path.join(dir, 'group29-shard1of1'));
    const e = await expectModelError(dir, 'SHARD_MISSING', /"group29-shard1of1".*missing/);
    expect(e.details['shard']).toBe('group29-shard1of1');
  });

  it('a truncated shard is named with expected and actual bytes', async () => {
    const dir = await copyModel(MODEL_025, path.join(tmp, 'truncated'));
    const shard = path.join(dir, 'group31-shard1of1');
    await fs.truncate(shard, 1000);
    const e = await expectModelError(dir, 'SHARD_SIZE_MISMATCH', /"group31-shard1of1".* 1000 bytes .*expects 65536 bytes/);
    expect(e.details).toMatchObject({ shard: 'group31-shard1of1', expectedBytes: 65536, actualBytes: 1000 });
  });

  it('a GraphModel says so and what works instead', async () => {
    await expectModelError(GRAPH_MODEL, 'MODEL_IS_GRAPH_MODEL', /GraphModel.*LayersModel/s);
  });

  it('a weights-only model.json (topology null)', async () => {
    const dir = await copyModel(MODEL_025, path.join(tmp, 'notopo'));
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    json['modelTopology'] = null;
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    await expectModelError(dir, 'MODEL_TOPOLOGY_MISSING', /no model topology/);
  });

  it('unsupported layer classes are listed', async () => {
    const dir = await copyModel(MODEL_025, path.join(tmp, 'custom'));
    const text = await fs.readFile(path.join(dir, 'model.json'), 'utf8');
    await fs.writeFile(path.join(dir, 'model.json'), text.replace(/"class_name":\s*"GlobalAveragePooling2D"/, '"class_name": "MyFancyPooling"'));
    const e = await expectModelError(dir, 'UNSUPPORTED_LAYER', /global_average_pooling2d_1 \(MyFancyPooling\)/);
    expect(e.details['layers']).toEqual([{ name: 'global_average_pooling2d_1', className: 'MyFancyPooling' }]);
  });
});
