/**
 * A real electron-builder run, offline: the Linux "dir" target (the unpacked app every installer
 * wraps) with a stand-in Electron distribution and without the native rebuild (both need downloads).
 * Checks what lands in app.asar, what is unpacked beside it, and the built-in model in the app's
 * resources folder. Needs the built app (npm run build).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const built = fs.existsSync(path.join(ROOT, 'out', 'main', 'index.js')) && fs.existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'));
let cli: string | undefined;
try {
  cli = require.resolve('electron-builder/cli.js');
} catch {
  cli = undefined;
}

afterAll(removeTempDirs);

describe.skipIf(!built || !cli || process.platform !== 'linux')('electron-builder --linux dir (stand-in Electron)', () => {
  it('packs the built app into app.asar and unpacks the native addons and WASM files', () => {
    const work = tempDir('ts-installer-');
    const fakeElectron = path.join(work, 'electron-dist');
    fs.mkdirSync(path.join(fakeElectron, 'resources'), { recursive: true });
    fs.writeFileSync(path.join(fakeElectron, 'electron'), '#!/bin/sh\n', { mode: 0o755 });
    const outDir = path.join(work, 'dist');
    const r = spawnSync(
      process.execPath,
      [cli!, '--linux', 'dir', `-c.electronDist=${fakeElectron}`, '-c.npmRebuild=false', `-c.directories.output=${outDir}`],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 240_000 },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const app = path.join(outDir, 'linux-unpacked');
    expect(fs.existsSync(path.join(app, 'transfer-studio'))).toBe(true); // linux.executableName

    const asar = require('@electron/asar') as { listPackage(file: string): string[]; extractFile(file: string, inner: string): Buffer };
    const archive = path.join(app, 'resources', 'app.asar');
    const files = new Set(asar.listPackage(archive).map((f) => f.split(path.sep).join('/')));
    for (const f of ['/out/main/index.js', '/out/renderer/index.html', '/resources/icon.png', '/package.json', '/node_modules/zod/package.json'])
      expect(files.has(f), f).toBe(true);
    for (const f of ['/src', '/test', '/node_modules/electron', '/node_modules/better-sqlite3/deps', '/node_modules/vitest', '/electron-builder.yml'])
      expect(files.has(f), f).toBe(false);
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { main: string; homepage?: string };
    expect(pkg.main).toBe('out/main/index.js');

    const unpacked = path.join(app, 'resources', 'app.asar.unpacked');
    const wasmDir = path.join(unpacked, 'node_modules/@tensorflow/tfjs-backend-wasm');
    expect(fs.existsSync(path.join(unpacked, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    expect(fs.readdirSync(path.join(wasmDir, 'dist')).filter((f) => f.endsWith('.wasm')).length).toBe(3);
    expect(fs.readdirSync(path.join(wasmDir, 'wasm-out')).filter((f) => f.endsWith('.worker.js')).length).toBeGreaterThanOrEqual(3);
    expect(fs.readFileSync(path.join(wasmDir, 'dist/tf-backend-wasm.node.js'), 'utf8')).toContain('PATCH(transfer-studio)');
    const sharpAddon = fs.readdirSync(path.join(unpacked, 'node_modules/@img'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.node'));
    expect(sharpAddon.length).toBeGreaterThanOrEqual(1);
    // The app's own code is not unpacked.
    expect(fs.existsSync(path.join(unpacked, 'out'))).toBe(false);

    // The built-in model beside app.asar, whole (every shard its manifest names), not inside it.
    const builtIn = path.join(app, 'resources', 'models', 'mobilenet_v1_0.25_224');
    const manifest = JSON.parse(fs.readFileSync(path.join(builtIn, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    for (const f of ['studio-model.json', 'SOURCE.txt', 'imagenet_classes.txt', ...manifest.weightsManifest.flatMap((g) => g.paths)]) {
      const src = path.join(ROOT, 'resources', 'models', 'mobilenet_v1_0.25_224', f);
      expect(fs.readFileSync(path.join(builtIn, f)).equals(fs.readFileSync(src)), f).toBe(true);
    }
    expect([...files].some((f) => f.startsWith('/resources/models'))).toBe(false);
  });
});
