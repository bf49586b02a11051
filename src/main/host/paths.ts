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

/**
 * The built-in models (read-only, offline): beside app.asar in an installed app (electron-builder's
 * extraResources put resources/models in <resources>/models), else resources/models of the app
 * folder (npm start, the CLI, a build run from the checkout). Null when neither exists.
 */
export function builtInModelsDir(): string | null {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  const candidates = [...(packaged ? [path.join(packaged, 'models')] : []), path.join(appRoot(), 'resources', 'models')];
  return candidates.find((d) => fs.existsSync(d)) ?? null;
}
