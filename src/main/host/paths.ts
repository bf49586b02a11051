/** Where things live outside a project: the per-machine user data folder and the app's own files. */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Recent projects and the model cache; Electron passes app.getPath('userData') instead. */
export function defaultUserDataDir(): string {
  if (process.env.TRANSFER_STUDIO_HOME) return path.resolve(process.env.TRANSFER_STUDIO_HOME);
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'transfer-studio');
}

/** The folder holding package.json, from source (src/main/...) or from the build (out/main/...). */
export function appRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Cannot find the application folder (package.json).');
    dir = up;
  }
  return dir;
}

export function rendererDir(): string {
  return path.join(appRoot(), 'out', 'renderer');
}
