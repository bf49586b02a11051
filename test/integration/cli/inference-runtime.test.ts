/**
 * Which runtime runs the frozen part, as a user sees it in the run record (issue 11): the same
 * scenario-1 and scenario-2 runs through the CLI on real digits, once on ONNX Runtime (its
 * provider and threads recorded) and once with ONNX Runtime turned off by
 * TRANSFER_STUDIO_ONNXRUNTIME=off (everything on the TensorFlow.js wasm backend, and the record
 * says why). Two projects, so the second run's features are really computed on TensorFlow.js.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDigits } from '../../fixtures/images';
import { MODEL_025, cli, removeTempDirs, tempDir } from './helpers';

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
    const r = await cli(home, [...args, '--json'], env);
    expect(r.code, r.err).toBe(0);
  }
  return dir;
}

interface RunOut {
  state: string;
  backend: { name: string; threads: number; inference?: { runtime: string; provider?: string; threads?: number; reason?: string } };
  frozenKind: string;
  valAccuracy: number;
  predictions: number;
}

async function train(dir: string, env: Record<string, string>, scenario: string, extra: string[] = []): Promise<{ run: RunOut; text: string }> {
  const r = await cli(home, ['train', dir, '--scenario', scenario, '--epochs', '4', '--lr', '0.005', '--batch', '16', '--seed', '2', ...extra, '--json'], env);
  expect(r.code, r.err).toBe(0);
  const text = await cli(home, ['train', dir, '--scenario', scenario, '--epochs', '1', '--batch', '16', ...extra], env);
  expect(text.code, text.err).toBe(0);
  return { run: r.json?.run as RunOut, text: text.out };
}

describe('the frozen part runs on ONNX Runtime, or on TensorFlow.js when it is turned off', () => {
  it('a run on onnxruntime records its provider and threads', async () => {
    const dir = await project('ort', {});
    const { run, text } = await train(dir, {}, '1');
    expect(run.state).toBe('succeeded');
    expect(run.backend.inference).toMatchObject({ runtime: 'onnxruntime', provider: 'cpu', threads: os.availableParallelism() });
    expect(run.frozenKind).toMatch(/^onnxruntime cpu x\d+/);
    expect(run.predictions).toBe(120);
    expect(run.valAccuracy).toBeGreaterThan(0.4);
    expect(text).toMatch(/frozen forward: ONNX Runtime [\d.]+ \(CPU, \d+ threads?\)/);
    const s2 = await train(dir, {}, '2', ['--freeze-to', 'conv_pw_11_relu']);
    expect(s2.run.backend.inference).toMatchObject({ runtime: 'onnxruntime', provider: 'cpu' });
    expect(s2.run.frozenKind).toMatch(/^onnxruntime/);
  });

  it('with TRANSFER_STUDIO_ONNXRUNTIME=off the same runs pass on wasm, and the record says so', async () => {
    const env = { TRANSFER_STUDIO_ONNXRUNTIME: 'off' };
    const dir = await project('tfjs', env);
    const { run, text } = await train(dir, env, '1');
    expect(run.state).toBe('succeeded');
    expect(run.backend.name).toBe('wasm');
    expect(run.backend.inference).toMatchObject({ runtime: 'tfjs', reason: expect.stringContaining('TRANSFER_STUDIO_ONNXRUNTIME=off') });
    expect(run.frozenKind).toBe('folded');
    expect(run.predictions).toBe(120);
    expect(run.valAccuracy).toBeGreaterThan(0.4);
    expect(text).toContain('frozen forward: TensorFlow.js (onnxruntime is turned off');
    const s2 = await train(dir, env, '2', ['--freeze-to', 'conv_pw_11_relu']);
    expect(s2.run.backend.inference?.runtime).toBe('tfjs');
    expect(s2.run.frozenKind).toBe('folded');
  });
});
