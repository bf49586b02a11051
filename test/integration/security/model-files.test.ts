/**
 * Model folders and ids from a hostile source, through the real CLI (issue 25, findings 1 and 2):
 * a weight shard, model.json or a subfolder that is a symbolic link leading out of the model folder,
 * a FIFO for a shard, a Keras file named through such a link; `models import --id .. --force` and
 * Keras files named `..h5` / `...h5`, and --force over a folder the studio did not make. The "secret"
 * stands for /etc/shadow: a file outside the model whose bytes and size must never reach the studio.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../fixtures/cli';
import { MODEL_025 } from '../../fixtures/assets';
import { keras2Topology, layerSpecs, writeModelH5 } from '../../fixtures/keras';
import { removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

const SECRET_TEXT = 'root:$6$SECRETHASH:19000:0:99999:7:::\n';

/** A file outside every model folder, `bytes` long, made of the secret text repeated. */
function secretFile(bytes: number): string {
  const file = path.join(tempDir('ts-secret-'), 'shadow');
  fs.writeFileSync(file, Buffer.alloc(bytes, SECRET_TEXT));
  return file;
}

/** A copy of the MobileNet v1 0.25 folder to break. */
function modelCopy(): string {
  const dir = path.join(tempDir(), 'mobilenet');
  fs.cpSync(MODEL_025, dir, { recursive: true });
  return dir;
}

/** A user-data folder with something in it that must survive: an installed model, another file. */
async function homeWithModel(): Promise<string> {
  const home = tempDir();
  const r = await cli(home, ['models', 'import', MODEL_025, '--id', 'keep', '--json']);
  expect(r.code, r.err).toBe(0);
  fs.writeFileSync(path.join(home, 'settings-of-the-user.json'), '{}');
  return home;
}

function expectHomeIntact(home: string): void {
  expect(fs.existsSync(path.join(home, 'settings-of-the-user.json'))).toBe(true);
  expect(fs.existsSync(path.join(home, 'models', 'keep', 'studio-model.json'))).toBe(true);
  expect(fs.readdirSync(path.join(home, 'models')).sort()).toEqual(['keep']);
}

/** A small Keras 2 model.save .h5 (Dense on 4 inputs) at `file`. */
async function smallKerasFile(file: string): Promise<string> {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4], name: 'dense' })] });
  await writeModelH5(file, keras2Topology(m), layerSpecs(m));
  m.dispose();
  return file;
}

describe('model folders whose files lead elsewhere', () => {
  it('a weight shard linked to a file outside the folder (of the very size expected) is refused, naming the shard; nothing is installed', async () => {
    const dir = modelCopy();
    const shard = path.join(dir, 'group1-shard1of1');
    const secret = secretFile(fs.statSync(shard).size);
    fs.rmSync(shard);
    fs.symlinkSync(secret, shard);
    const home = tempDir();
    const r = await cli(home, ['models', 'import', dir, '--json']);
    expect(r.code, r.out).toBe(2);
    expect(r.json?.['error']).toMatchObject({ code: 'bad_model' });
    const message = (r.json?.['error'] as { message: string }).message;
    expect(message).toContain('group1-shard1of1');
    expect(message).toMatch(/outside/);
    expect(r.out + r.err).not.toContain('SECRETHASH');
    expect(fs.existsSync(path.join(home, 'models', 'mobilenet'))).toBe(false);
  });

  it('a size mismatch through a link never reports the size of what the link leads to', async () => {
    const dir = modelCopy();
    const shard = path.join(dir, 'group10-shard1of1');
    const secret = secretFile(123_457);
    fs.rmSync(shard);
    fs.symlinkSync(secret, shard);
    const r = await cli(tempDir(), ['models', 'import', dir, '--json']);
    expect(r.code).toBe(2);
    expect(r.out + r.err).toContain('group10-shard1of1');
    expect(r.out + r.err).not.toMatch(/123[,.]?457/);
  });

  it('model.json linked out of the folder, and shards in a linked subfolder, are refused naming the file', async () => {
    const outside = modelCopy();
    const a = path.join(tempDir(), 'a');
    fs.mkdirSync(a);
    fs.symlinkSync(path.join(outside, 'model.json'), path.join(a, 'model.json'));
    const r1 = await cli(tempDir(), ['models', 'import', a, '--json']);
    expect(r1.code, r1.out).toBe(2);
    expect((r1.json?.['error'] as { message: string }).message).toMatch(/"model\.json".*refused.*outside/);

    // Every shard under w/, and w a link to a folder outside.
    const b = path.join(tempDir(), 'b');
    fs.mkdirSync(b);
    const json = JSON.parse(fs.readFileSync(path.join(outside, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    for (const g of json.weightsManifest) g.paths = g.paths.map((p) => `w/${p}`);
    fs.writeFileSync(path.join(b, 'model.json'), JSON.stringify(json));
    fs.symlinkSync(outside, path.join(b, 'w'));
    const r2 = await cli(tempDir(), ['models', 'import', b, '--json']);
    expect(r2.code, r2.out).toBe(2);
    expect((r2.json?.['error'] as { message: string }).message).toMatch(/"w\/group1-shard1of1".*refused.*outside/);
  });

  it('a FIFO for a shard is refused as a special file without being opened (the command does not hang)', async () => {
    const dir = modelCopy();
    const shard = path.join(dir, 'group2-shard1of1');
    fs.rmSync(shard);
    execFileSync('mkfifo', [shard]);
    const r = await cli(tempDir(), ['models', 'import', dir, '--json']);
    expect(r.code, r.out).toBe(2);
    expect((r.json?.['error'] as { message: string }).message).toMatch(/"group2-shard1of1".*FIFO/);
  });

  it('a link between files of the folder itself is accepted', async () => {
    const dir = modelCopy();
    fs.mkdirSync(path.join(dir, 'real'));
    fs.renameSync(path.join(dir, 'group3-shard1of1'), path.join(dir, 'real', 'group3-shard1of1'));
    fs.symlinkSync(path.join('real', 'group3-shard1of1'), path.join(dir, 'group3-shard1of1'));
    const home = tempDir();
    const r = await cli(home, ['models', 'import', dir, '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    // The installed copy holds the bytes, not a link.
    expect(fs.lstatSync(path.join(home, 'models', 'mobilenet', 'group3-shard1of1')).isFile()).toBe(true);
  });

  it('a Keras file named through a link leading out of its folder is refused naming it', async () => {
    const real = await smallKerasFile(path.join(tempDir(), 'real.h5'));
    const link = path.join(tempDir(), 'model.h5');
    fs.symlinkSync(real, link);
    const home = tempDir();
    const r = await cli(home, ['models', 'import', link, '--json']);
    expect(r.code, r.out).toBe(2);
    expect((r.json?.['error'] as { message: string }).message).toMatch(/model\.h5 is refused.*outside/);
    expect(fs.existsSync(path.join(home, 'models', 'model'))).toBe(false);
  });
});

describe('model ids that would name other folders', () => {
  it('models import PATH --id .. --force leaves the user-data folder intact and exits 2 with the reason', async () => {
    const home = await homeWithModel();
    for (const id of ['..', '.', 'a/b', '../keep', 'x\u001b[31m']) {
      const r = await cli(home, ['models', 'import', MODEL_025, '--id', id, '--force', '--json']);
      expect(r.code, `${id}: ${r.out}`).toBe(2);
      expect((r.json?.['error'] as { message: string }).message).toMatch(/not a model id/);
      expect(r.out).not.toContain('\u001b');
      expectHomeIntact(home);
    }
  });

  it.each(['..h5', '...h5'])('a Keras file named %s, imported with --force, leaves the user-data folder intact and exits 2 with the reason', async (name) => {
    const home = await homeWithModel();
    const file = await smallKerasFile(path.join(tempDir(), name));
    const r = await cli(home, ['models', 'import', file, '--force', '--json']);
    expect(r.code, r.out + r.err).toBe(2);
    expect((r.json?.['error'] as { message: string }).message).toMatch(/cannot name a model.*--id/);
    expectHomeIntact(home);
    // Named with --id it installs.
    const named = await cli(home, ['models', 'import', file, '--id', 'dots', '--json']);
    expect(named.code, named.out + named.err).toBe(0);
  });

  it('--force never deletes a folder of the model library the studio did not install', async () => {
    const home = await homeWithModel();
    const mine = path.join(home, 'models', 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'my own work');
    const r = await cli(home, ['models', 'import', MODEL_025, '--id', 'mine', '--force', '--json']);
    expect(r.code, r.out).toBe(2);
    expect((r.json?.['error'] as { message: string }).message).toMatch(/not a model the studio installed/);
    expect(fs.readFileSync(path.join(mine, 'notes.txt'), 'utf8')).toBe('my own work');
    // A model the studio installed is replaced as before.
    const again = await cli(home, ['models', 'import', MODEL_025, '--id', 'keep', '--force', '--json']);
    expect(again.code, again.out).toBe(0);
  });
});
