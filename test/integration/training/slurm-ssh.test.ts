/**
 * A sweep on Slurm from a machine outside the cluster: the Slurm commands run on the login node
 * over ssh and the bundles live in its work folder (slurm-ssh.ts). The "login node" is a real sshd
 * on 127.0.0.1 (test/fixtures/sshd.ts) in front of a real one-node cluster (test/fixtures/slurm.ts);
 * only its sessions know the cluster (SLURM_CONF set by sshd), this process does not. Seeded, a run
 * through the login node gives the same metrics as the same run submitted here; cancelling over
 * ssh leaves squeue empty; hostile words and hostile files of the login node are not trusted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient, forkEngine } from '../../../src/main/training/engine-client';
import { SlurmExecutor, slurmExecutorFor } from '../../../src/main/training/slurm-executor';
import { bundleDirOf, LIMITS } from '../../../src/main/training/run-bundle';
import { sshRunner, sshWorkdir } from '../../../src/main/training/slurm-ssh';
import type { CommandRunner } from '../../../src/main/training/slurm-commands';
import { parseSshAddress, type SshAddress } from '../../../src/main/training/ssh-channel';
import type { TrainingEvents } from '../../../src/main/training/training-service';
import type { SweepTask } from '../../../src/main/training/sweep-executor';
import type { ProjectStore } from '../../../src/main/store/project-store';
import * as runs from '../../../src/main/store/runs';
import { stratifiedSplit } from '../../../src/main/store/images';
import { scenario1Tasks } from '../../fixtures/sweep-tasks';
import { writeDigits } from '../../fixtures/digits';
import { slurmUnavailable, startSlurm, type SlurmCluster } from '../../fixtures/slurm';
import { startSshd, type SshServer } from '../../fixtures/sshd';
import { importAll, newStore, removeTempDirs, tempDir, testContext } from '../helpers';

const unavailable = slurmUnavailable();

describe.skipIf(unavailable !== null)(`sweeps on a Slurm cluster through its login node over ssh${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let cluster: SlurmCluster;
  let server: SshServer;
  let login: SshAddress;
  let store: ProjectStore;
  let engine: EngineClient;
  const sshOptions = process.env['TRANSFER_STUDIO_SSH_OPTIONS'];
  const logs: { runId: number; message: string }[] = [];
  const events: TrainingEvents = { progress: () => undefined, epoch: () => undefined, log: (e) => logs.push(e) };
  /** Every command the runner sent to the login node. */
  const sent: string[] = [];

  beforeAll(async () => {
    const [c] = await Promise.all([
      startSlurm(),
      (async () => {
        const src = tempDir('ts-slurm-ssh-src-');
        await writeDigits(src, 8, 3);
        store = newStore();
        await importAll(store, { source: src });
        stratifiedSplit(store.db, 0.25, 1);
      })(),
    ]);
    cluster = c;
    server = await startSshd({}, { SLURM_CONF: cluster.env['SLURM_CONF']! });
    process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = server.clientEnv['TRANSFER_STUDIO_SSH_OPTIONS'];
    login = parseSshAddress(server.address());
    engine = new EngineClient(() => forkEngine());
  }, 60_000);

  afterAll(async () => {
    if (sshOptions === undefined) delete process.env['TRANSFER_STUDIO_SSH_OPTIONS'];
    else process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = sshOptions;
    engine?.dispose();
    await server?.stop();
    await cluster?.stop();
    store?.close();
    removeTempDirs();
  });

  const tasks = (seeds: number[]): Promise<SweepTask[]> => scenario1Tasks(store, engine, seeds);

  const recording = (runner: CommandRunner): CommandRunner => (cmd, args) => {
    sent.push(cmd);
    return runner(cmd, args);
  };
  const overSsh = (remote: string, extra: Partial<ConstructorParameters<typeof SlurmExecutor>[0]> = {}): SlurmExecutor =>
    new SlurmExecutor({
      workdir: remote,
      access: sshWorkdir(login, remote, tempDir('ts-slurm-ssh-mirror-')),
      runner: recording(sshRunner(login)),
      studioCommand: [login.command],
      partition: cluster.partition,
      events,
      pollMs: 200,
      ...extra,
    });
  const metricsOf = (runId: number): ReturnType<typeof runs.runDetail>['metrics'] => runs.runDetail(store.db, runId).metrics;

  it('passes every word to the login node as one argument: a hostile value runs nothing', async () => {
    expect(process.env['SLURM_CONF']).toBeUndefined();
    const marker = path.join(tempDir('ts-slurm-ssh-marker-'), 'injected');
    const words = [`a'b; touch ${marker}`, `$(touch ${marker})`, '`touch ' + marker + '`', 'x\ny', '-n', ''];
    const r = await sshRunner(login)('printf', ['%s|', ...words]);
    expect(r).toMatchObject({ code: 0, stdout: words.map((w) => `${w}|`).join('') });
    expect(fs.existsSync(marker)).toBe(false);
    // Only the login node's sessions know the cluster.
    expect((await sshRunner(login)('sinfo', ['-h', '-o', '%P'])).stdout.trim()).toBe(`${cluster.partition}*`);
    expect(() => slurmExecutorFor({ workdir: 'relative/work', login: server.address() }, { training: { events } })).toThrow(/must be an absolute path/);
  });

  it('trains through the login node with the same metrics as the same run submitted here; the bundles are the login node\'s', async () => {
    const remote = tempDir('ts-slurm-ssh-login-work-');
    const [there, here] = [await tasks([1]), await tasks([1])];
    const slurm = overSsh(remote);
    const [outcomes, local] = await Promise.all([
      slurm.run(store, there, testContext()),
      new SlurmExecutor({ workdir: tempDir('ts-slurm-ssh-local-work-'), partition: cluster.partition, env: cluster.env, events, pollMs: 200 }).run(store, here, testContext()),
    ]);
    expect(outcomes.get(there[0]!.runId), JSON.stringify(logs.slice(-5))).toEqual({ state: 'succeeded' });
    expect(local.get(here[0]!.runId)).toEqual({ state: 'succeeded' });
    expect(sent).toEqual(expect.arrayContaining(['sbatch', 'squeue']));
    const [a, b] = [metricsOf(there[0]!.runId), metricsOf(here[0]!.runId)];
    expect(a.map((m) => m.epoch)).toEqual([1, 2]);
    a.forEach((m, e) => {
      expect(m.valAcc).toBe(b[e]!.valAcc);
      expect(m.trainLoss).toBeCloseTo(b[e]!.trainLoss, 5);
    });
    expect(runs.runDetail(store.db, there[0]!.runId).confusion?.matrix).toEqual(runs.runDetail(store.db, here[0]!.runId).confusion?.matrix);
    // The bundle ran in the login node's folder: images there once by content hash, its status written there.
    expect(fs.readdirSync(path.join(remote, 'images'))).toHaveLength(24);
    expect(fs.existsSync(path.join(bundleDirOf(remote, store, there[0]!.runId), 'status.json'))).toBe(true);
    expect(fs.existsSync(path.join(store.runDir(there[0]!.runId), 'run.json'))).toBe(true);
  }, 60_000);

  it('cancelling over ssh leaves squeue empty', async () => {
    const ts = await tasks([4, 5]);
    const controller = new AbortController();
    const slurm = overSsh(tempDir('ts-slurm-ssh-login-work-'), { studioCommand: ['/bin/sh', '-c', 'sleep 60'] });
    const running = setInterval(() => {
      if (slurm.lastJobId && cluster.run('squeue', ['-h', '-j', slurm.lastJobId, '-o', '%T']).includes('RUNNING')) {
        clearInterval(running);
        controller.abort();
      }
    }, 100);
    const outcomes = await slurm.run(store, ts, testContext(controller)).finally(() => clearInterval(running));
    expect([...outcomes.values()]).toEqual([{ state: 'cancelled' }, { state: 'cancelled' }]);
    expect(sent).toContain('scancel');
    expect(cluster.run('squeue', ['-h']).trim()).toBe('');
  }, 30_000);

  it('brings the login node\'s files back as they are: a link stays a link, a file over the limit is not read; thousands of paths go in groups', async () => {
    const remote = tempDir('ts-slurm-ssh-hostile-');
    fs.mkdirSync(path.join(remote, 'b', 'result'), { recursive: true });
    fs.writeFileSync(path.join(remote, 'b', 'status.json'), '{"ok": true}');
    fs.writeFileSync(path.join(remote, 'b', 'progress.json'), Buffer.alloc(LIMITS.progress + 1, 32));
    fs.symlinkSync('/etc/passwd', path.join(remote, 'b', 'result', 'stolen'));
    const mirror = tempDir('ts-slurm-ssh-mirror-');
    const access = sshWorkdir(login, remote, mirror);
    await access.pull(['b/status.json', 'b/progress.json', 'b/result', 'b/absent'], { deep: true, maxBytes: LIMITS.progress });
    expect(fs.readFileSync(path.join(mirror, 'b', 'status.json'), 'utf8')).toBe('{"ok": true}');
    expect(fs.statSync(path.join(mirror, 'b', 'progress.json')).size).toBe(LIMITS.progress + 1);
    expect(fs.readFileSync(path.join(mirror, 'b', 'progress.json')).every((x) => x === 0)).toBe(true);
    expect(fs.readlinkSync(path.join(mirror, 'b', 'result', 'stolen'))).toBe('link-on-the-login-node');
    expect(fs.existsSync(path.join(mirror, 'b', 'absent'))).toBe(false);
    // Thousands of paths (a large sweep's tasks) do not fit one remote command line (128 KB on Linux): sent in groups.
    fs.rmSync(path.join(mirror, 'b', 'status.json'));
    const many = Array.from({ length: 3000 }, (_, i) => `b/absent-${String(i).padStart(40, '0')}`);
    await access.pull([...many, 'b/status.json'], { maxBytes: LIMITS.progress });
    expect(fs.readFileSync(path.join(mirror, 'b', 'status.json'), 'utf8')).toBe('{"ok": true}');
  });
});
