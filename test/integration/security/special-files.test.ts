/**
 * Special files in a dataset, as a hostile folder or a careless user leaves them (issue 25, finding
 * 4): a FIFO given to import or swapped in for an imported image, and links leading out of the
 * folder that was imported. Through the real CLI and the real server: nothing blocks on a FIFO
 * (a blocked open would hang the command past Ctrl-C and SIGTERM), nothing outside is read.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportReport } from '../../../src/shared/domain';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025 } from '../../fixtures/assets';
import { writeImage } from '../../fixtures/images';
import { cli, type CliResult } from '../../fixtures/cli';
import { get, removeTempDirs, serve, tempDir } from './helpers';

const home = tempDir('ts-special-home-');
const run = (...args: string[]): Promise<CliResult> => cli(home, args);
const mkfifo = (file: string): void => void execFileSync('mkfifo', [file]);

/** A project of 3 digits in each of 2 classes; returns it with one imported image turned into a FIFO. */
async function projectWithFifo(): Promise<{ project: string; fifo: string; id: number }> {
  const work = tempDir('ts-special-');
  await writeDigits(path.join(work, 'digits'), 3, 2);
  const project = path.join(work, 'project');
  for (const args of [['project', 'create', project], ['import', project, path.join(work, 'digits')], ['split', project, '--val', '0.34', '--seed', '1']]) {
    const r = await run(...args, '--json');
    expect(r.code, r.err).toBe(0);
  }
  const fifo = path.join(work, 'digits', '1', '2.png');
  fs.rmSync(fifo);
  mkfifo(fifo);
  // Import order: class 0's three files, then class 1's: 1/2.png is the sixth image.
  return { project, fifo, id: 6 };
}

/** One project for export, train and serve (none of them changes its images). */
let withFifo: Awaited<ReturnType<typeof projectWithFifo>>;

beforeAll(async () => {
  const r = await run('models', 'import', MODEL_025, '--id', 'm', '--json');
  expect(r.code, r.err).toBe(0);
  withFifo = await projectWithFifo();
}, 60_000);
afterAll(removeTempDirs);

describe.runIf(process.platform !== 'win32')('special files', () => {
  it('import lists a FIFO and a link leading out of the folder as failures and imports the rest', async () => {
    const work = tempDir('ts-special-');
    const source = path.join(work, 'data');
    await writeImage(path.join(source, 'cat', 'a.png'), { seed: 1 });
    await writeImage(path.join(source, 'cat', 'inner.png'), { seed: 2 });
    await writeImage(path.join(work, 'private', 'secret.png'), { seed: 3 });
    mkfifo(path.join(source, 'cat', 'pipe.png'));
    fs.symlinkSync(path.join(work, 'private', 'secret.png'), path.join(source, 'cat', 'escape.png'));
    fs.symlinkSync(path.join(work, 'private'), path.join(source, 'dog'));
    fs.symlinkSync('inner.png', path.join(source, 'cat', 'link-inside.png'));
    const project = path.join(work, 'project');
    expect((await run('project', 'create', project)).code).toBe(0);
    const r = await run('import', project, source, '--json');
    expect(r.code, r.err).toBe(0);
    const report = (r.json as { report: ImportReport }).report;
    const reasons = Object.fromEntries(report.failures.map((f) => [f.file, f.reason]));
    expect(reasons['cat/pipe.png']).toBe('not a regular file (a FIFO)');
    expect(reasons['cat/escape.png']).toMatch(/^outside its folder/);
    // a.png and inner.png; the link to inner.png is its duplicate.
    expect(report.added).toBe(2);
    expect(report.duplicateCount).toBe(1);
    expect(report.classesCreated).toEqual(['cat']);
    // A FIFO named on its own, as the whole source.
    const alone = await run('import', project, path.join(source, 'cat', 'pipe.png'), '--json');
    expect(alone.code, alone.err).toBe(0);
    expect((alone.json as { report: ImportReport }).report.failures).toEqual([{ file: 'pipe.png', reason: 'not a regular file (a FIFO)' }]);
  });

  it('export dataset refuses an imported image swapped for a FIFO, naming it, instead of hanging', async () => {
    const { project, fifo } = withFifo;
    const out = path.join(tempDir(), 'dataset');
    const r = await run('export', project, 'dataset', '--out', out, '--json');
    expect(r.code, r.err).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { message: `${fifo} cannot be copied: not a regular file (a FIFO).` } });
    expect(fs.existsSync(out)).toBe(false);
  });

  it('train skips an imported image swapped for a FIFO and trains on the rest', async () => {
    const { project, fifo } = withFifo;
    const r = await run('train', project, '--scenario', '1', '--model', 'm', '--epochs', '1', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json).toMatchObject({ ok: true, run: { state: 'succeeded' } });
    expect(JSON.stringify(r.json)).toContain(`Skipped ${fifo}: it could not be decoded (${fifo}: not a regular file (a FIFO))`);
  }, 60_000);

  it('serve keeps answering (page, thumbnails, images) with a FIFO in the project, and SIGTERM still ends it', async () => {
    const { project, id } = withFifo;
    // Without its thumbnail the server remakes it from the original: the FIFO.
    fs.rmSync(path.join(project, 'thumbs'), { recursive: true });
    const server = await serve(home, project);
    try {
      // More requests for the FIFO than libuv has threads: a blocking open would take them all.
      for (let i = 0; i < 3; i++) {
        expect((await get(server.port, `/files/image/${id}?token=${server.token}`)).status).toBe(404);
        expect((await get(server.port, `/files/thumb/${id}?token=${server.token}`)).status).toBe(404);
      }
      expect((await get(server.port, `/files/thumb/1?token=${server.token}`)).status).toBe(200);
      expect((await get(server.port, `/?token=${server.token}`)).status).toBe(200);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  }, 60_000);
});
