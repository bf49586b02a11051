/**
 * The engine on a server over ssh, for real: a real sshd on 127.0.0.1 (test/fixtures/sshd.ts), the
 * system's ssh client, and as the server's studio this same checkout with its own user data folder.
 * The same seeded scenario 1 and scenario 2 runs on digits train locally and over ssh to the same
 * metrics and predictions; the images travel once (a second run sends none); the ssh client killed
 * mid-run fails the run cleanly and a resume completes it from the server's checkpoint; a cancel
 * reaches the server; a server engine of another version is refused naming both versions; a call
 * naming a path outside the server's cache is refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EpochMetrics, TrainConfigInput } from '../../../src/shared/domain';
import { HostEngine, studioEngine } from '../../../src/main/host/engine';
import { Studio } from '../../../src/main/host/studio';
import { EngineClient } from '../../../src/main/training/engine-client';
import { forkEngine } from '../../../src/main/training/engine-client';
import { RemoteEngine } from '../../../src/main/training/remote-engine';
import { parseSshAddress, sshEngineChannel } from '../../../src/main/training/ssh-channel';
import { APP_VERSION } from '../../../src/main/store/project-store';
import { MODEL_025 } from '../../fixtures/assets';
import { writeDigits } from '../../fixtures/digits';
import { startSshd, type SshServer } from '../../fixtures/sshd';
import { removeTempDirs, tempDir } from '../helpers';

const PER_CLASS = 8;
const CLASSES = 3;
const S1: TrainConfigInput = { scenario: 1, model: 'm025', epochs: 3, batchSize: 8, seed: 7 };
const S2: TrainConfigInput = { scenario: 2, model: 'm025', freezeTo: 'conv_pw_12_relu', epochs: 2, batchSize: 8, patience: 0, seed: 7 };

describe('the engine on a server over ssh', () => {
  let server: SshServer;
  let project: string;
  /** One studio on this machine's engine and one on the server's, each keeping its engine for every run. */
  let local: Studio;
  let remote: Studio;
  const savedSshOptions = process.env['TRANSFER_STUDIO_SSH_OPTIONS'];

  beforeAll(async () => {
    server = await startSshd({ other: { TRANSFER_STUDIO_TEST_ENGINE_VERSION: '0.0.0-other' }, full: { TRANSFER_STUDIO_ENGINE_MIN_FREE_BYTES: String(2 ** 60) } });
    process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = server.clientEnv['TRANSFER_STUDIO_SSH_OPTIONS'];
    const src = tempDir('ts-ssh-src-');
    await writeDigits(src, PER_CLASS, CLASSES);
    const home = tempDir('ts-ssh-home-');
    project = path.join(tempDir('ts-ssh-proj-'), 'p');
    local = new Studio({ userDataDir: home, mode: 'test', engine: () => studioEngine(undefined, () => forkEngine()) });
    remote = new Studio({ userDataDir: home, mode: 'test', engine: () => studioEngine(server.address(), () => forkEngine()) });
    await local.call('createProject', { dir: project });
    await local.jobs.wait((await local.call('importImages', { source: src })).id);
    await local.call('autoSplit', { val: 0.25, seed: 1 });
    await local.call('importModel', { dir: MODEL_025, id: 'm025' });
    await remote.call('openProject', { dir: project });
  }, 60_000);

  afterAll(async () => {
    await local?.dispose();
    await remote?.dispose();
    if (savedSshOptions === undefined) delete process.env['TRANSFER_STUDIO_SSH_OPTIONS'];
    else process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = savedSshOptions;
    await server?.stop();
    removeTempDirs();
  });

  /** Trains `config` with the studio; the run, its predictions and its log. */
  async function train(studio: Studio, config: TrainConfigInput) {
    const { job, runId } = await studio.call('startTraining', { config });
    const done = await studio.jobs.wait(job.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const run = await studio.call('getRun', { id: runId });
    const predictions = (await studio.call('listPredictions', { runId, limit: 500 })).rows;
    return { run, predictions, log: (run.result?.log as string[]) ?? [] };
  }

  const near = (a: number | null, b: number | null, tol: number): boolean => (a === null || b === null ? a === b : Math.abs(a - b) <= tol);
  function expectSameRun(local: Awaited<ReturnType<typeof train>>, remote: Awaited<ReturnType<typeof train>>): void {
    const pick = (m: EpochMetrics) => [m.epoch, m.trainLoss, m.valLoss, m.valAcc] as const;
    expect(remote.run.metrics).toHaveLength(local.run.metrics.length);
    local.run.metrics.forEach((m, i) => {
      const [e, tl, vl, va] = pick(m);
      const [re, rtl, rvl, rva] = pick(remote.run.metrics[i]!);
      expect(re).toBe(e);
      expect(near(rtl, tl, 1e-4) && near(rvl, vl, 1e-4) && near(rva, va, 1e-9), `epoch ${e}: local ${pick(m).join(' ')} vs ssh ${pick(remote.run.metrics[i]!).join(' ')}`).toBe(true);
    });
    expect(remote.predictions).toHaveLength(PER_CLASS * CLASSES);
    const byImage = new Map(local.predictions.map((p) => [p.imageId, p]));
    for (const p of remote.predictions) {
      const l = byImage.get(p.imageId)!;
      expect(p.predicted).toBe(l.predicted);
      expect(Math.abs(p.confidence - l.confidence)).toBeLessThan(1e-4);
    }
  }

  it('trains scenario 1 over ssh to the local metrics and predictions, sending the images once', async () => {
    const here = await train(local, S1);
    const there = await train(remote, S1);
    expectSameRun(here, there);
    // Where it trained: the run record names the server, with the runtime and provider it used.
    expect(here.run.backend?.server).toBeUndefined();
    expect(there.run.backend?.server).toMatchObject({ address: server.address(), version: APP_VERSION });
    expect(there.run.backend?.inference?.runtime).toBe(here.run.backend?.inference?.runtime);
    // Results came home: the run folder holds the trained model and run.json as a local run's does.
    const runDir = path.join(project, 'runs', String(there.run.id));
    expect(fs.existsSync(path.join(runDir, 'run.json'))).toBe(true);
    expect(fs.existsSync(path.join(runDir, 'model', 'model.json'))).toBe(true);
    expect(there.log).toContainEqual(expect.stringMatching(new RegExp(`^Sent ${PER_CLASS * CLASSES} image\\(s\\) and 1 model\\(s\\)`)));
    // The server keeps them in its own cache, by content hash.
    expect(fs.readdirSync(path.join(server.remoteHome, 'engine-cache', 'blobs'))).toHaveLength(PER_CLASS * CLASSES);
  }, 180_000);

  it('trains scenario 2 over ssh to the local metrics and predictions, sending no image again', async () => {
    const here = await train(local, S2);
    const there = await train(remote, S2);
    expectSameRun(here, there);
    const sent = there.log.filter((l) => l.startsWith('Sent '));
    expect(sent.length).toBeGreaterThan(0);
    for (const line of sent) expect(line).toMatch(/^Sent 0 image\(s\) and 0 model\(s\)/);
    expect(fs.existsSync(path.join(project, 'runs', String(there.run.id), 'checkpoint'))).toBe(true);
  }, 240_000);

  it('advises over ssh as locally (the similarity estimate runs on the server)', async () => {
    const here = await local.call('advise', { model: 'm025' });
    const there = await remote.call('advise', { model: 'm025' });
    expect(there.estimate).toBeTruthy();
    expect(there.scenario).toBe(here.scenario);
    expect(there.estimate!.score).toBeCloseTo(here.estimate!.score, 4);
  }, 120_000);

  /** Kills this process's ssh clients to the test server (as a dropped link or a killed ssh would end them). */
  function killSshClients(): number {
    let killed = 0;
    for (const task of fs.readdirSync(`/proc/${process.pid}/task`)) {
      const children = fs.readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      for (const pid of children.map(Number)) {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (path.basename(argv[0] ?? '') === 'ssh' && argv.includes(String(server.port))) {
          process.kill(pid, 'SIGKILL');
          killed++;
        }
      }
    }
    return killed;
  }

  it('fails a run cleanly when its ssh client is killed, and a resume completes it from the last checkpoint', async () => {
    const config = { ...S2, epochs: 3 };
    const { job, runId } = await remote.call('startTraining', { config });
    let killed = 0;
    const off = remote.on('run.epoch', (e) => {
      if (e.runId === runId && e.metrics.epoch === 1) killed = killSshClients();
    });
    const first = await remote.jobs.wait(job.id);
    off();
    expect(killed).toBe(1);
    expect(first.state).toBe('failed');
    expect(first.error?.message).toMatch(/^The connection to the engine on .*127\.0\.0\.1.* dropped \(ssh ended by SIGKILL\).*train --resume/);
    const failed = await remote.call('getRun', { id: runId });
    expect(failed.state).toBe('failed');
    expect(failed.metrics.map((m) => m.epoch)).toEqual([1]);
    // Nothing in the project is lost.
    expect((await remote.call('openProject', { dir: project })).counts.total).toBe(PER_CLASS * CLASSES);

    const resumed = await remote.call('resumeRun', { id: runId });
    const second = await remote.jobs.wait(resumed.job);
    expect(second.state, JSON.stringify(second.error)).toBe('succeeded');
    const run = await remote.call('getRun', { id: runId });
    expect(run.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(run.result?.log).toContainEqual(expect.stringMatching(/Resumed from the checkpoint after epoch 1/));
    expect((await remote.call('listPredictions', { runId, limit: 500 })).total).toBe(PER_CLASS * CLASSES);
    expect(fs.existsSync(path.join(project, 'runs', String(runId), 'checkpoint'))).toBe(true);
  }, 240_000);

  /** Kills the server's engine processes (started with --stdio under the server's user data folder). */
  function killServerEngines(): number {
    let killed = 0;
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        if (argv.includes('--stdio') && argv.some((a) => a.endsWith('engine-process.js') || a.endsWith('engine-process.ts')) && env.includes(`TRANSFER_STUDIO_HOME=${server.remoteHome}`)) {
          process.kill(Number(pid), 'SIGKILL');
          killed++;
        }
      } catch {
        // a process that ended meanwhile
      }
    }
    return killed;
  }

  it('fails a run cleanly when the engine on the server dies', async () => {
    const { job, runId } = await remote.call('startTraining', { config: { ...S2, epochs: 3 } });
    let killed = 0;
    const off = remote.on('run.epoch', (e) => {
      if (e.runId === runId && e.metrics.epoch === 1) killed = killServerEngines();
    });
    const done = await remote.jobs.wait(job.id);
    off();
    expect(killed).toBe(1);
    expect(done.state).toBe('failed');
    expect(done.error?.message).toMatch(/^The engine on .*127\.0\.0\.1.* stopped unexpectedly \(exit code \d+\)\. Nothing in the project is lost/);
    expect((await remote.call('getRun', { id: runId })).state).toBe('failed');
    // The next call starts a new engine there.
    expect((await remote.call('engineInfo', {})).server?.address).toBe(server.address());
  }, 120_000);

  it('cancels a run on the server, which keeps what it finished and sends it home', async () => {
    const { job, runId } = await remote.call('startTraining', { config: { ...S2, epochs: 3 } });
    const off = remote.on('run.epoch', (e) => {
      if (e.runId === runId && e.metrics.epoch === 1) void remote.call('cancelJob', { id: job.id });
    });
    const done = await remote.jobs.wait(job.id);
    off();
    expect(done.state).toBe('cancelled');
    const run = await remote.call('getRun', { id: runId });
    expect(run.state).toBe('cancelled');
    expect(run.metrics.map((m) => m.epoch)).toEqual([1]);
    // The engine ended the call itself (the connection stayed up): the run folder came home.
    expect(fs.existsSync(path.join(project, 'runs', String(runId), 'checkpoint'))).toBe(true);
  }, 120_000);

  it('saves "Train on" a server after testing the connection, and the studio then runs its engine there', async () => {
    const home = tempDir('ts-ssh-setting-');
    const studio = new Studio({ userDataDir: home, mode: 'test', engineFor: (s) => studioEngine(s, () => forkEngine()) });
    try {
      expect(await studio.call('engineSetting', {})).toEqual({ engine: '', fixed: false });
      await expect(studio.call('setEngineSetting', { engine: 'gpu-box' })).rejects.toMatchObject({ code: 'bad_request', field: 'engine' });
      await expect(studio.call('setEngineSetting', { engine: 'ssh://-oProxyCommand=evil' })).rejects.toMatchObject({ code: 'bad_request' });
      const report = await studio.call('testEngine', { engine: server.address() });
      expect(report).toMatchObject({ version: APP_VERSION, hostname: os.hostname(), backend: { server: { address: server.address() } } });
      expect(report.backend.inference?.runtime).toMatch(/onnxruntime|tfjs/);
      expect(report.freeMemoryBytes).toBeGreaterThan(0);
      expect(report.freeDiskBytes).toBeGreaterThan(0);
      expect(await studio.call('setEngineSetting', { engine: server.address() })).toEqual({ engine: server.address(), fixed: false });
      expect((await studio.call('engineInfo', {})).server?.address).toBe(server.address());
    } finally {
      await studio.dispose();
    }
    // Saved for the next session on this machine.
    const next = new Studio({ userDataDir: home, mode: 'test', engineFor: (s) => studioEngine(s, () => forkEngine()), engineSetting: '' });
    expect(await next.call('engineSetting', {})).toEqual({ engine: '', fixed: true });
    await expect(next.call('setEngineSetting', { engine: server.address() })).rejects.toMatchObject({ code: 'conflict' });
    await next.dispose();
    expect(JSON.parse(fs.readFileSync(path.join(home, 'engine.json'), 'utf8'))).toEqual({ engine: server.address() });
  }, 90_000);

  it('refuses a server engine of another version, naming both versions', async () => {
    const engine = studioEngine(server.address('other'), () => forkEngine());
    try {
      await expect(engine.call('backend', {})).rejects.toMatchObject({
        code: 'engine_failed',
        message: expect.stringMatching(new RegExp(`Transfer Studio 0\\.0\\.0-other, this studio is ${APP_VERSION.replace(/\./g, '\\.')}`)),
      });
    } finally {
      await engine.dispose();
    }
  }, 60_000);

  it('says in one line that the studio is not installed on the server', async () => {
    const engine = new HostEngine(new RemoteEngine(parseSshAddress(`${server.address().replace(/\/[^/]*$/, '')}/no/such/transfer-studio`), APP_VERSION));
    try {
      await expect(engine.call('backend', {})).rejects.toMatchObject({ code: 'engine_failed', message: expect.stringMatching(/^Could not start the engine on .*(not found|No such file).*Is Transfer Studio installed there\?/) });
    } finally {
      await engine.dispose();
    }
  }, 60_000);

  it('says in one line that the server has no room for the engine', async () => {
    const engine = studioEngine(server.address('full'), () => forkEngine());
    try {
      await expect(engine.call('backend', {})).rejects.toMatchObject({ code: 'engine_failed', message: expect.stringMatching(/^Could not start the engine on .*: transfer-studio engine: not enough disk space on the server: \d+ MB free in .*engine-cache, at least \d+ MB needed\.$/) });
    } finally {
      await engine.dispose();
    }
  }, 60_000);

  it('refuses every request naming a path outside its cache', async () => {
    const client = new EngineClient(() => sshEngineChannel(parseSshAddress(server.address()), { version: APP_VERSION }));
    try {
      const refused = { code: 'PATH_REFUSED', message: expect.stringMatching(/only its own cache folder/) };
      await expect(client.call('inspectModel', { modelDir: MODEL_025 })).rejects.toMatchObject(refused);
      await expect(client.call('inspectModel', { modelDir: 'models/../../../../etc' })).rejects.toMatchObject(refused);
      await expect(client.call('classify', { modelDir: `models/${'a'.repeat(64)}`, imagePaths: ['/etc/passwd'] })).rejects.toMatchObject(refused);
      await expect(client.call('cacheRead', { ref: 'projects/k/runs/1', file: '../../../../../etc/passwd', offset: 0, length: 100 })).rejects.toMatchObject(refused);
      await expect(client.call('cacheList', { ref: '/etc' })).rejects.toMatchObject(refused);
      await expect(client.call('cachePutFile', { ref: 'models/../x', file: 'a', offset: 0, bytes: new Uint8Array(1) })).rejects.toMatchObject(refused);
      // The engine is still there and serves its own cache.
      expect((await client.call('cacheMissing', { refs: [`blobs/${'b'.repeat(64)}`] })).missing).toHaveLength(1);
    } finally {
      client.dispose();
    }
  }, 60_000);
});
