/**
 * `transfer-studio run-bundle BUNDLE_DIR` (internal: what a Slurm array task runs on a compute
 * node): trains the run bundle with this machine's engine (run-bundle-exec.ts) and exits 0 when
 * it succeeded, 1 otherwise; the bundle's status.json says why. SIGTERM (scancel, the time limit)
 * stops the run and is recorded as cancelled.
 */
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import { EngineClient, forkEngine } from '../training/engine-client';
import { executeBundle } from '../training/run-bundle-exec';
import { bundlePaths } from '../training/run-bundle';
import type { Command } from './command';

export const runBundleCommands: Command[] = [
  {
    name: 'run-bundle',
    args: 'BUNDLE_DIR',
    summary: 'Internal: train one run bundle of a sweep on this machine (what a Slurm array task runs).',
    hidden: true,
    positionals: { required: ['BUNDLE_DIR'] },
    run() {
      return Promise.reject(new StudioError('internal', 'run-bundle runs standalone'));
    },
    async standalone({ args }) {
      const dir = path.resolve(args[0]!);
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      const engine = new EngineClient(() => forkEngine({ start: { onnxCacheDir: path.join(bundlePaths(dir).cache, 'onnx') } }));
      try {
        const status = await executeBundle(dir, engine, controller.signal, (line) => process.stderr.write(`${line}\n`));
        process.stderr.write(`run-bundle ${dir}: ${status.state}${status.message ? `: ${status.message}` : ''}\n`);
        return status.state === 'succeeded' ? 0 : 1;
      } finally {
        engine.dispose();
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
    },
  },
];
