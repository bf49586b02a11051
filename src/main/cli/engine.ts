/**
 * `transfer-studio engine --stdio`: the engine itself, speaking its protocol as frames on
 * stdin/stdout (what the studio on another machine starts over ssh). Nothing else is written to
 * stdout; logs go to stderr. The engine process gets its cache folder (<user data>/engine-cache,
 * TRANSFER_STUDIO_HOME moves it), its size limit and this studio's version for the handshake.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import { defaultUserDataDir } from '../host/paths';
import { APP_VERSION } from '../store/project-store';
import { defaultEngineEntry } from '../training/engine-client';
import { engineStartEnv } from '../engine/protocol';
import type { Command } from './command';
import { numberOption } from './options';

export const engineCommands: Command[] = [
  {
    name: 'engine',
    args: '--stdio [--cache-limit GB]',
    summary: 'The engine over stdin/stdout (what ssh starts on a server for --engine ssh://...); its cache of images and models is bounded by --cache-limit (default 20 GB).',
    options: { stdio: { type: 'boolean' }, 'cache-limit': { type: 'string' } },
    positionals: { required: [] },
    run() {
      return Promise.reject(new StudioError('internal', 'engine runs standalone'));
    },
    async standalone({ values }) {
      if (values.stdio !== true) throw new StudioError('bad_request', 'engine needs --stdio (the only transport a terminal can give it).', 'stdio');
      const limitGb = numberOption(values['cache-limit'], 'cache-limit', 20);
      if (!(limitGb > 0)) throw new StudioError('bad_request', `--cache-limit must be a positive number of GB, not ${String(values['cache-limit'])}`, 'cache-limit');
      const { entry, execArgv } = defaultEngineEntry();
      const child = spawn(process.execPath, [...execArgv, entry, '--stdio'], {
        stdio: 'inherit',
        env: {
          ...process.env,
          ...engineStartEnv({ onnxCacheDir: path.join(defaultUserDataDir(), 'models', '.onnx') }),
          TRANSFER_STUDIO_ENGINE_CACHE: path.join(defaultUserDataDir(), 'engine-cache'),
          TRANSFER_STUDIO_ENGINE_CACHE_BYTES: String(Math.round(limitGb * 1024 ** 3)),
          TRANSFER_STUDIO_ENGINE_VERSION: APP_VERSION,
        },
      });
      // The engine ends itself when stdin closes; a signal to this process goes to it too.
      const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
      process.on('SIGTERM', forward);
      process.on('SIGINT', forward);
      return new Promise<number>((resolve) => {
        child.on('error', (e) => {
          process.stderr.write(`transfer-studio engine: could not start the engine process: ${e.message}\n`);
          resolve(1);
        });
        child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      });
    },
  },
];
