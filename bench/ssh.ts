/**
 * The engine over ssh: `npm run bench -- ssh` (or `npx tsx bench/ssh.ts [--count 10000]`).
 * Scenario 1 (MobileNet v1 0.25, one epoch) on Fashion-MNIST written as PNG files, with a real sshd
 * on 127.0.0.1 (test/fixtures/sshd.ts: throwaway keys, this checkout as the server's studio) and the
 * same job on a local engine, in the same run:
 *  - upload: images sent and their img/s and MB/s (the 'upload' phase, before extraction);
 *  - extraction img/s over ssh against the local one (the target: at least 0.8x on loopback), and
 *    the whole run's img/s including the upload;
 *  - a second run over ssh on the same images: images sent (0) and its feature cache hits.
 * Timings depend on the machine's load; nothing asserts on them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainConfigSchema } from '../src/shared/domain';
import type { TrainJob } from '../src/main/engine/protocol';
import { EngineClient, forkEngine } from '../src/main/training/engine-client';
import { RemoteEngine } from '../src/main/training/remote-engine';
import { parseSshAddress } from '../src/main/training/ssh-channel';
import { APP_VERSION } from '../src/main/store/project-store';
import { MODEL_025 } from '../test/fixtures/assets';
import { startSshd } from '../test/fixtures/sshd';
import { removeTempDirs } from '../test/fixtures/temp';
import { arg } from './common';
import { FASHION_CLASSES, fashionPngs } from './fashion-mnist';
import { ensure } from '../test/setup/prerequisites';

const count = Number(arg('--count') ?? 10_000);

async function main(): Promise<void> {
  ensure(['fashion-mnist']);
  const images = (await fashionPngs(path.join(os.tmpdir(), 'ts-bench-fashion-png'), count, 0)).train;
  const bytes = images.reduce((a, i) => a + fs.statSync(i.path).size, 0);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-bench-ssh-'));
  const items = images.map((d, i) => ({ imageId: i + 1, path: d.path, hash: d.hash, label: d.label, split: (i % 10 === 9 ? 'val' : 'train') as 'train' | 'val' }));
  const job = (name: string): TrainJob => ({
    projectDir: tmp,
    runDir: path.join(tmp, 'runs', name),
    cacheDir: path.join(tmp, 'cache'),
    modelDir: MODEL_025,
    modelId: 'mobilenet_v1_0.25_224',
    classNames: FASHION_CLASSES,
    items,
    config: trainConfigSchema.parse({ scenario: 1, model: 'mobilenet_v1_0.25_224', epochs: 1, seed: 1 }),
  });
  const server = await startSshd();
  process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = server.clientEnv['TRANSFER_STUDIO_SSH_OPTIONS'];
  const local = new EngineClient(() => forkEngine());
  const remote = new RemoteEngine(parseSshAddress(server.address()), APP_VERSION);
  try {
    process.stdout.write(`${count} Fashion-MNIST PNGs (${(bytes / 2 ** 20).toFixed(1)} MB), scenario 1, MobileNet v1 0.25 at 224, 1 epoch; ssh to 127.0.0.1\n`);
    const l = await local.call('train', { job: job('local') });
    await remote.call('backend', {}); // the server engine started (its start is not the upload's time)
    const t0 = Date.now();
    let uploadEnd = 0;
    const r = await remote.call('train', { job: job('ssh-1') }, { onEvent: (e) => e.type === 'phase' && e.phase === 'extract' && (uploadEnd = Date.now()) });
    const wholeMs = Date.now() - t0;
    const up = remote.lastUpload!;
    const r2 = await remote.call('train', { job: job('ssh-2') });
    const up2 = remote.lastUpload!;
    const rate = (n: number, ms: number): string => (ms > 0 ? (n / (ms / 1000)).toFixed(0) : '-');
    const lines = [
      `local engine:   ${l.backend.name}, ${l.backend.inference?.runtime ?? 'tfjs'} ${l.backend.inference?.provider ?? ''}; extraction ${rate(count, l.extractMs)} img/s (${(l.extractMs / 1000).toFixed(1)} s)`,
      `upload:         ${up.images} images, ${(up.bytes / 2 ** 20).toFixed(1)} MB in ${(up.ms / 1000).toFixed(1)} s: ${rate(up.images, up.ms)} img/s, ${(up.bytes / 2 ** 20 / (up.ms / 1000)).toFixed(1)} MB/s (model folder included)`,
      `ssh engine:     extraction ${rate(count, r.extractMs)} img/s (${(r.extractMs / 1000).toFixed(1)} s), ${(l.extractMs / r.extractMs).toFixed(2)}x local; whole run with upload ${(wholeMs / 1000).toFixed(1)} s (${rate(count, wholeMs)} img/s)${uploadEnd ? `, extraction started ${((uploadEnd - t0) / 1000).toFixed(1)} s in` : ''}`,
      `second run:     ${up2.images} images sent (${up2.imagesPresent} already there), ${(up2.bytes / 2 ** 20).toFixed(1)} MB; feature cache ${r2.cache.hits} hits, ${r2.cache.misses} misses`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    local.dispose();
    remote.dispose();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    removeTempDirs(); // the server's keys, config and cache
  }
}

await main();
