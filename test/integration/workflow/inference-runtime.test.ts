/**
 * Which runtime runs the frozen part, as a user sees it in the run record (issue 11): the same
 * scenario-1 and scenario-2 runs through the CLI on real digits, once on ONNX Runtime (its
 * provider and threads recorded) and once with ONNX Runtime turned off by
 * TRANSFER_STUDIO_ONNXRUNTIME=off (everything on the TensorFlow.js wasm backend, and the record
 * says why), and so does the head's training. Two projects, so the second run's features are really computed on TensorFlow.js.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { cli, removeTempDirs, tempDir } from '../helpers';

let home: string;
let data: string;

beforeAll(async () => {
  home = tempDir('ts-cli-home-');
  data = tempDir('ts-cli-data-');
  await writeDigits(path.join(data, 'digits'), 12);
  expect((await cli(home, ['models', 'import', MODEL_025, '--json'])).code).toBe(0);
});

afterAll(removeTempDirs);

async function project(name: string, env: Record<string, string>): Promise<string> {
  const dir = path.join(data, name);
  for (const args of [
    ['project', 'create', dir],
    ['import', dir, path.join(data, 'digits')],
    ['split', dir, '--val', '0.25', '--seed', '1'],
  ]) {
    const r = await cli(home, [...args, '--json'], { env });
    expect(r.code, r.err).toBe(0);
  }
  return dir;
}

interface RunOut {
  state: string;
  backend: { name: string; threads: number; inference?: { runtime: string; provider?: string; threads?: number; reason?: string } };
  frozenKind: string;
  headKind: string;
  valAccuracy: number;
  predictions: number;
}

async function train(dir: string, env: Record<string, string>, scenario: string, extra: string[] = []): Promise<RunOut> {
  const r = await cli(home, ['train', dir, '--scenario', scenario, '--epochs', '4', '--lr', '0.005', '--batch', '16', '--seed', '2', ...extra, '--json'], { env });
  expect(r.code, r.err).toBe(0);
  return r.json?.run as RunOut;
}

/** Scenario 2 as text: the run's line names what ran the frozen part. */
async function trainText(dir: string, env: Record<string, string>): Promise<string> {
  const r = await cli(home, ['train', dir, '--scenario', '2', '--freeze-to', 'conv_pw_11_relu', '--epochs', '1', '--batch', '16'], { env });
  expect(r.code, r.err).toBe(0);
  return r.out;
}

describe('the frozen part runs on ONNX Runtime, or on TensorFlow.js when it is turned off', () => {
  it('a run on onnxruntime records its provider and threads', async () => {
    const dir = await project('ort', {});
    const run = await train(dir, {}, '1');
    expect(run.state).toBe('succeeded');
    expect(run.backend.inference).toMatchObject({ runtime: 'onnxruntime', provider: 'cpu', threads: os.availableParallelism() });
    expect(run.frozenKind).toMatch(/^onnxruntime cpu x\d+/);
    expect(run.headKind).toBe('ONNX Runtime (CPU, 1 thread)');
    expect(run.predictions).toBe(120);
    expect(run.valAccuracy).toBeGreaterThan(0.4);
    expect(await trainText(dir, {})).toMatch(/frozen forward: ONNX Runtime [\d.]+ \(CPU, \d+ threads?\)/);
  }, 300_000);

  it('with TRANSFER_STUDIO_ONNXRUNTIME=off the same runs pass on wasm, and the record says so', async () => {
    const env = { TRANSFER_STUDIO_ONNXRUNTIME: 'off' };
    const dir = await project('tfjs', env);
    const run = await train(dir, env, '1');
    expect(run.state).toBe('succeeded');
    expect(run.backend.name).toBe('wasm');
    expect(run.backend.inference).toMatchObject({ runtime: 'tfjs', reason: expect.stringContaining('TRANSFER_STUDIO_ONNXRUNTIME=off') });
    expect(run.frozenKind).toBe('folded');
    expect(run.headKind).toBe('TensorFlow.js');
    expect(run.predictions).toBe(120);
    expect(run.valAccuracy).toBeGreaterThan(0.4);
    expect(await trainText(dir, env)).toContain('frozen forward: TensorFlow.js (onnxruntime is turned off');
  }, 300_000);
});
