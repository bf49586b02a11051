/**
 * The model library's temporary folders (a model copied and validated before it is renamed into
 * place, a .keras archive unpacked): each is named with the process's id, removed when the process
 * exits however it exits through Node (a second Ctrl-C calls process.exit, which skips every
 * finally), and one left by a process that was killed outright is removed by the next process that
 * installs a model, once its owner is gone.
 */
import fs from 'node:fs';
import path from 'node:path';

const live = new Set<string>();
let hooked = false;

function removeLive(): void {
  for (const dir of live) fs.rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** A new temporary folder in `root` (created), removed at exit unless released first. */
export function makeTempFolder(root: string, purpose: 'install' | 'unpack', name = ''): string {
  if (!hooked) {
    process.on('exit', removeLive);
    hooked = true;
  }
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, `.${purpose}-${process.pid}-${name ? `${name}-` : ''}`));
  live.add(dir);
  return dir;
}

/** Removes a temporary folder (or forgets it, once it was renamed into place). */
export function releaseTempFolder(dir: string, remove = true): void {
  live.delete(dir);
  if (remove) fs.rmSync(dir, { recursive: true, force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

// Also the names earlier versions used (.<id>.<pid>.<time>.tmp).
const TEMP_NAME = /^\.(?:install|unpack)-(\d+)-|^\..+\.(\d+)\.\d+\.tmp$/;

/** Removes the temporary folders in `root` whose process is gone (killed while it installed a model). */
export function sweepStaleTempFolders(root: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    const pid = Number(m?.[1] ?? m?.[2] ?? NaN);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}
