/**
 * Model files that declare more than they hold, and archives built to break their readers, through
 * the real CLI (issue 25, findings 5 and 6): a 13 KB Keras .h5 declaring Dense(500000000) (its
 * weights are HDF5 fill values), a TensorFlow.js folder with that layer and no weights, a .keras
 * whose config.json deflates 1000:1, one nesting models 100,000 levels deep, and zips with an
 * entry named by 5,000 characters (an image import, and a .keras). Real files (h5wasm, zips).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../fixtures/cli';
import { writeImage, writeZip } from '../../fixtures/images';
import { writeAbsurdTfjsFolder, writeDeeplyNestedKeras, writeDeflateBombKeras, writeHugeDenseH5, writeLongChainTfjsFolder } from '../../fixtures/hostile-models';
import { keras2Topology, keras3Config, writeKeras3 } from '../../fixtures/keras';
import { removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

const message = (r: { json: Record<string, unknown> | undefined }): string => (r.json?.['error'] as { message?: string } | undefined)?.message ?? '';

/** Nothing in the model library: no model, no temporary folder. */
const library = (home: string): string[] => (fs.existsSync(path.join(home, 'models')) ? fs.readdirSync(path.join(home, 'models')) : []);

describe('models that declare more than they hold', () => {
  it('a 13 KB Keras .h5 declaring Dense(500000000) is refused before anything is allocated, naming the layer', async () => {
    const file = path.join(tempDir(), 'huge.h5');
    await writeHugeDenseH5(file);
    expect(fs.statSync(file).size).toBeLessThan(16 * 1024);
    const home = tempDir();
    const r = await cli(home, ['models', 'import', file, '--json']);
    expect(r.code, r.out + r.err).toBe(2);
    expect(message(r)).toMatch(/declares 3,000,000,000 parameters.*"huge" \(Dense\).*holds only/);
    expect(library(home)).toEqual([]);
  });

  it('a TensorFlow.js folder with such a layer and no weights is refused at import (not accepted with 0 bytes of weights)', async () => {
    const dir = path.join(tempDir(), 'absurd');
    writeAbsurdTfjsFolder(dir);
    const home = tempDir();
    const r = await cli(home, ['models', 'import', dir, '--json']);
    expect(r.code, r.out).toBe(2);
    expect(message(r)).toMatch(/"huge" \(Dense\)/);
    expect(library(home)).toEqual([]);
  });

  it('a chain of 20,000 layers is refused by its layer count (TensorFlow.js overflowed its stack building it)', async () => {
    const dir = path.join(tempDir(), 'chain');
    writeLongChainTfjsFolder(dir, 20_000);
    const r = await cli(tempDir(), ['models', 'import', dir, '--json']);
    expect(r.code, r.out).toBe(2);
    expect(message(r)).toMatch(/declares 20,000 layers, more than the 5,000/);
  });
});

describe('archives built to break their readers', () => {
  it('a .keras whose config.json is deflated more than 200:1 is refused for that reason', async () => {
    const file = path.join(tempDir(), 'bomb.keras');
    await writeDeflateBombKeras(file);
    const r = await cli(tempDir(), ['models', 'import', file, '--json']);
    expect(r.code, r.out).toBe(2);
    expect(message(r)).toMatch(/config\.json in .*bomb\.keras is refused: compression ratio \d+:1 is too high \(more than 200:1/);
    expect(message(r)).not.toMatch(/without config\.json/);
  });

  it('a .keras nesting models 100,000 levels deep is refused with a clear message (no stack overflow)', async () => {
    const file = path.join(tempDir(), 'deep.keras');
    await writeDeeplyNestedKeras(file);
    const r = await cli(tempDir(), ['models', 'import', file, '--json']);
    expect(r.code, r.out).toBe(2);
    expect(message(r)).toMatch(/nests models .*more than 32 levels deep/);
    expect(r.out + r.err).not.toMatch(/call stack/);
  });

  it('an image zip with an entry named by 5,000 characters: that entry is skipped and reported shortened, the rest imported', async () => {
    const dir = tempDir();
    const a = await writeImage(path.join(dir, 'a.png'), { w: 16, h: 16, seed: 1 });
    const b = await writeImage(path.join(dir, 'b.png'), { w: 16, h: 16, seed: 2 });
    const c = await writeImage(path.join(dir, 'c.png'), { w: 16, h: 16, seed: 3 });
    const long = `cats/${'x'.repeat(5000)}.png`;
    const zip = path.join(dir, 'photos.zip');
    writeZip(zip, [
      { name: 'cats/a.png', data: fs.readFileSync(a) },
      { name: long, data: fs.readFileSync(b) },
      { name: 'dogs/c.png', data: fs.readFileSync(c) },
    ]);
    const home = tempDir();
    const project = path.join(home, 'p');
    expect((await cli(home, ['project', 'create', project, '--json'])).code).toBe(0);
    const r = await cli(home, ['import', project, zip, '--json']);
    expect(r.code, r.out.slice(0, 500)).toBe(0);
    const report = r.json?.['report'] as { added: number; failures: { file: string; reason: string }[] };
    expect(report.added).toBe(2);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]!.reason).toMatch(/name of 5009 characters is too long/);
    expect(report.failures[0]!.file.length).toBeLessThan(200);
    expect(r.out + r.err).not.toContain('x'.repeat(300));
  });

  it('a .keras with an entry named by 5,000 characters imports (only its model entries are extracted)', async () => {
    const dir = tempDir();
    const input = tf.input({ shape: [4], name: 'input_1' });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, name: 'dense' }).apply(input) as tf.SymbolicTensor, name: 'small' });
    const weights = path.join(dir, 'model.weights.h5');
    await writeKeras3(path.join(dir, 'plain.keras'), model, weights); // leaves its weights file beside
    const config = keras3Config(keras2Topology(model));
    model.dispose();
    const file = path.join(dir, 'long.keras');
    writeZip(file, [
      { name: 'metadata.json', data: Buffer.from(JSON.stringify({ keras_version: '3.5.0' })) },
      { name: `assets/${'y'.repeat(5000)}`, data: Buffer.from('x') },
      { name: 'config.json', data: Buffer.from(JSON.stringify(config)), deflate: true },
      { name: 'model.weights.h5', data: fs.readFileSync(weights) },
    ]);
    const home = tempDir();
    const r = await cli(home, ['models', 'import', file, '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out + r.err).not.toContain('y'.repeat(300));
  });
});
