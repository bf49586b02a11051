/**
 * The engine never outlives the command that started it (issue 25, finding 5): `models import` of
 * a valid Keras file whose build keeps the engine's main thread busy for about a minute (an
 * Orthogonal initializer, fixtures/hostile-models.ts), and the CLI then killed outright (SIGKILL)
 * or stopped with Ctrl-C twice. Real processes; the engine is found among the CLI's children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, childrenOf, ROOT, TSX } from '../reliability/helpers';
import { writeSlowKerasH5 } from '../../fixtures/hostile-models';
import { cli } from '../../fixtures/cli';
import { removeTempDirs, tempDir } from './helpers';

afterAll(removeTempDirs);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it holds or `limitMs` passes; whether it held. */
async function until(check: () => boolean, limitMs: number): Promise<boolean> {
  for (const end = Date.now() + limitMs; Date.now() < end; await sleep(100)) if (check()) return true;
  return check();
}

/**
 * Starts `models import` of the slow model and resolves once its engine is inside the synchronous
 * build (TensorFlow.js warns, on the engine's stderr, as its Orthogonal initializer starts), with
 * the CLI and the engine.
 */
async function importBusy(home: string): Promise<{ proc: ChildProcess; engine: number; exited: Promise<number | null>; output: () => string }> {
  const file = path.join(tempDir(), 'slow.h5');
  await writeSlowKerasH5(file);
  const proc = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'src/main/cli/index.ts'), 'models', 'import', file, '--json'], {
    env: { ...process.env, TRANSFER_STUDIO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (err += String(d)));
  proc.stdout!.on('data', (d: Buffer) => (out += String(d)));
  let engine = 0;
  const busy = await until(() => {
    engine = childrenOf(proc.pid!)[0] ?? 0;
    return engine > 0 && err.includes('Orthogonal initializer');
  }, 110_000);
  expect(busy, 'the engine never got busy building the model').toBe(true);
  return { proc, engine, exited, output: () => out };
}

/** Names in the model library that are not installed models (temporary folders). */
const leftovers = (home: string): string[] => {
  const root = path.join(home, 'models');
  return fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('.')) : [];
};

describe('the engine and the process that started it', () => {
  it('a CLI killed with SIGKILL while its engine is busy takes the engine with it; the next command clears its temporary folder', async () => {
    const home = tempDir();
    const { proc, engine, exited } = await importBusy(home);
    try {
      proc.kill('SIGKILL');
      await exited;
      expect(await until(() => !alive(engine), 10_000), 'the engine outlived its parent').toBe(true);
    } finally {
      if (alive(engine)) process.kill(engine, 'SIGKILL');
    }
    expect(leftovers(home).length).toBeGreaterThan(0); // killed outright: nothing could clean up
    const list = await cli(home, ['models', 'list', '--json']);
    expect(list.code, list.err).toBe(0);
    expect(leftovers(home)).toEqual([]);
  });

  it('Ctrl-C twice during an import ends the CLI and its engine and leaves no temporary folder', async () => {
    const home = tempDir();
    const { proc, engine, exited } = await importBusy(home);
    try {
      proc.kill('SIGINT');
      await sleep(300);
      proc.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(await until(() => !alive(engine), 10_000), 'the engine outlived its parent').toBe(true);
    } finally {
      if (alive(engine)) process.kill(engine, 'SIGKILL');
    }
    expect(leftovers(home)).toEqual([]);
    expect(fs.readdirSync(path.join(home, 'models'))).toEqual([]);
  });

  it('one Ctrl-C cancels the import: the busy engine is stopped after its grace, nothing is installed or left', async () => {
    const home = tempDir();
    const { proc, engine, exited, output } = await importBusy(home);
    try {
      proc.kill('SIGINT');
      expect(await exited).toBe(1);
      expect(await until(() => !alive(engine), 10_000), 'the engine outlived its parent').toBe(true);
    } finally {
      if (alive(engine)) process.kill(engine, 'SIGKILL');
    }
    expect(JSON.parse(output().trim().split('\n').at(-1)!)).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(fs.readdirSync(path.join(home, 'models'))).toEqual([]);
  });
});
