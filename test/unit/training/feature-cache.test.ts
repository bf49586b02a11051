import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FeatureCache, featureKey, type FeatureKeyParts } from '../../../src/main/engine/feature-cache';
import { removeTempDirs, tempDir } from '../helpers';

const parts: FeatureKeyParts = { modelId: 'mobilenet_v1_0.25_224', cutLayer: 'global_average_pooling2d_1', pool: 'avg', inputSize: 224, preprocess: 'p1' };
let root: string;
beforeEach(() => {
  root = tempDir('ts-fcache-');
});
afterEach(removeTempDirs);

const row = (v: number) => Float32Array.from({ length: 4 }, (_, i) => v + i / 10);

describe('feature cache', () => {
  it('keys differ by every part', () => {
    const k = featureKey(parts);
    for (const change of [{ modelId: 'x' }, { cutLayer: 'conv_pw_13_relu' }, { pool: 'none' }, { inputSize: 128 }, { preprocess: 'p2' }]) {
      expect(featureKey({ ...parts, ...change })).not.toBe(k);
    }
  });

  it('persists rows across opens; appends only new hashes', async () => {
    const a = await FeatureCache.open(root, parts, 4);
    await a.append([
      { hash: 'h1', features: row(1) },
      { hash: 'h2', features: row(2) },
    ]);
    await a.append([
      { hash: 'h2', features: row(9) },
      { hash: 'h3', features: row(3) },
    ]);
    const b = await FeatureCache.open(root, parts, 4);
    expect(b.size).toBe(3);
    expect(Array.from(b.get('h2') ?? [])).toEqual(Array.from(row(2)));
    expect(Array.from(b.get('h3') ?? [])).toEqual(Array.from(row(3)));
    expect(b.has('h4')).toBe(false);
  });

  it('ignores what a crash mid-write leaves: temp files, data without index, truncated data', async () => {
    const a = await FeatureCache.open(root, parts, 4);
    await a.append([{ hash: 'ok', features: row(1) }]);
    const dir = a.dir;
    await fs.writeFile(path.join(dir, 'seg-zzz.f32.123.abcd.tmp'), Buffer.alloc(7));
    await fs.writeFile(path.join(dir, 'seg-orphan.f32'), Buffer.alloc(16));
    await fs.writeFile(path.join(dir, 'seg-short.f32'), Buffer.alloc(10));
    await fs.writeFile(path.join(dir, 'seg-short.json'), JSON.stringify({ dim: 4, hashes: ['short'] }));
    const b = await FeatureCache.open(root, parts, 4);
    expect(b.size).toBe(1);
    expect(b.has('ok')).toBe(true);
    expect(b.has('short')).toBe(false);
  });
});
