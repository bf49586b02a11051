/**
 * kill -9 during training (issue 13), with the real engine process on real weights: the engine's
 * own pid SIGKILLed mid-run, then the host's (the CLI's `train`). Each time the run ends failed with
 * a message that says what happened, no engine process is left behind, and `train --resume`
 * finishes the run from its last checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDigits } from '../../fixtures/digits';
import { MODEL_025, alive, childrenOf, query, removeTempDirs, runCli, startCli, tempDir, waitFor } from './helpers';

let home: string;
let project: string;
const TRAIN = ['--scenario', '2', '--model', 'm025', '--freeze-to', 'conv_pw_11_relu', '--epochs', '4', '--batch', '8', '--seed', '5'];

beforeAll(async () => {
  home = tempDir();
  project = path.join(home, 'p');
  const src = path.join(home, 'digits');
  await writeDigits(src, 12, 3);
  for (const args of [['project', 'create', project], ['import', project, src], ['split', project, '--val', '0.25', '--seed', '1'], ['models', 'import', MODEL_025, '--id', 'm025']]) {
    const r = await runCli(home, args);
    expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
  }
}, 300_000);

afterAll(removeTempDirs);

interface RunRow {
  id: number;
  state: string;
  error: string | null;
}
const runRow = (id: number): RunRow => query<RunRow>(project, 'SELECT id, state, error FROM runs WHERE id = ?', id)[0]!;
const epochsOf = (id: number): number[] => query<{ epoch: number }>(project, 'SELECT epoch FROM run_metrics WHERE run_id = ? ORDER BY epoch', id).map((r) => r.epoch);

/** Starts `train`, waits for its run's first checkpoint, and returns the run id with the CLI and engine pids. */
async function trainUntilCheckpoint(): Promise<{ cli: ReturnType<typeof startCli>; runId: number; engine: number }> {
  const cli = startCli(home, ['train', project, ...TRAIN, '--json']);
  const runId = await waitFor(() => {
    const runs = fs.existsSync(path.join(project, 'runs')) ? fs.readdirSync(path.join(project, 'runs')) : [];
    const done = runs.find((r) => fs.existsSync(path.join(project, 'runs', r, 'checkpoint', 'loop-state.json')) && runRow(Number(r))?.state === 'running');
    return done === undefined ? undefined : Number(done);
  }, 240_000, 'the first checkpoint');
  const engines = childrenOf(cli.proc.pid!);
  expect(engines, 'the engine process of the train command').toHaveLength(1);
  return { cli, runId, engine: engines[0]! };
}

async function resumeFinishes(runId: number): Promise<void> {
  const r = await runCli(home, ['train', project, '--resume', String(runId)]);
  expect(r.code, r.err).toBe(0);
  expect(runRow(runId)).toMatchObject({ state: 'succeeded', error: null });
  expect(epochsOf(runId)).toEqual([1, 2, 3, 4]);
}

describe('kill -9 during training', () => {
  it('the engine killed: the run fails saying the engine stopped, no engine is left, --resume finishes it', async () => {
    const { cli, runId, engine } = await trainUntilCheckpoint();
    process.kill(engine, 'SIGKILL');
    const ended = await cli.done;
    expect(ended.code, 'the run had finished before the kill').toBe(1);
    const run = runRow(runId);
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/engine/i);
    expect(ended.err).toMatch(/engine/i);
    expect(alive(engine)).toBe(false);
    expect(childrenOf(cli.proc.pid!)).toEqual([]);
    await resumeFinishes(runId);
  }, 600_000);

  it('the host killed: its engine exits too, the run reads as interrupted, --resume finishes it', async () => {
    const { cli, runId, engine } = await trainUntilCheckpoint();
    cli.proc.kill('SIGKILL');
    expect((await cli.done).signal).toBe('SIGKILL');
    // The engine notices its parent is gone (its IPC channel closes) and exits: no orphan.
    await waitFor(() => (alive(engine) ? undefined : true), 30_000, 'the orphaned engine to exit');
    expect(runRow(runId).state).toBe('running'); // nobody could write otherwise...
    const info = await runCli(home, ['project', 'info', project]); // ...until the project is opened again
    expect(info.code, info.err).toBe(0);
    expect(runRow(runId)).toMatchObject({ state: 'failed', error: expect.stringMatching(/Interrupted: the studio stopped during training/) });
    await resumeFinishes(runId);
  }, 600_000);
});
