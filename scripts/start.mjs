#!/usr/bin/env node
// npm start: build, then open the studio in Electron; where the Electron binary cannot be had
// (machines without access to its download), say so in one line and serve browser mode instead.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

if (run(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']).status !== 0) process.exit(1);

function electronBinary() {
  try {
    const bin = require('electron'); // the package exports the binary's path, or throws when it was never downloaded
    return typeof bin === 'string' && fs.existsSync(bin) ? { bin } : { why: 'its binary is missing' };
  } catch (err) {
    return { why: String(err.message ?? err).split('\n')[0] };
  }
}

/** better-sqlite3 is built for Node; Electron needs a copy built for its own ABI, kept beside it. */
function sqliteForElectron() {
  const version = require('electron/package.json').version;
  const dir = path.join(root, 'node_modules', '.cache', 'transfer-studio', `better-sqlite3-electron-${version}`);
  const binding = path.join(dir, 'build', 'Release', 'better_sqlite3.node');
  if (fs.existsSync(binding)) return binding;
  fs.cpSync(path.join(root, 'node_modules', 'better-sqlite3'), dir, { recursive: true });
  fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  const prebuilt = run(process.execPath, [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', version], { cwd: dir });
  if (prebuilt.status !== 0)
    run('npx', ['node-gyp', 'rebuild', '--release', `--target=${version}`, '--dist-url=https://electronjs.org/headers'], { cwd: dir });
  return fs.existsSync(binding) ? binding : undefined;
}

const electron = electronBinary();
if (electron.bin) {
  const binding = sqliteForElectron();
  const env = { ...process.env, ...(binding ? { TRANSFER_STUDIO_SQLITE_BINDING: binding } : {}) };
  const child = spawn(electron.bin, [root], { stdio: 'inherit', env });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log(`Electron is not available here (${electron.why}); serving the studio in browser mode instead.`);
  const child = spawn(process.execPath, [path.join(root, 'out', 'main', 'cli.js'), 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
