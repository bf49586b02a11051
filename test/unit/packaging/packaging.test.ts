/**
 * The installer configuration (electron-builder.yml), checked without building: loaded and
 * schema-validated by electron-builder's own code, targets, the files that go into the app,
 * the files that must be unpacked from the asar (matched against what is really in
 * node_modules, with electron-builder's own matcher), the icon, and the npm scripts.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Configuration } from 'app-builder-lib';
import type { FilterStats } from 'builder-util';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description?: string;
  main: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

let builderInstalled = true;
try {
  require.resolve('app-builder-lib/out/util/config/config');
} catch {
  builderInstalled = false;
}

type ConfigModule = typeof import('app-builder-lib/out/util/config/config');
type MatcherModule = typeof import('app-builder-lib/out/fileMatcher');
type UtilModule = typeof import('builder-util');

/** Every file under `dir` (relative to ROOT, '/' separators) whose name matches. */
function filesUnder(dir: string, name: RegExp): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return (fs.readdirSync(abs, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => name.test(path.basename(f)) && fs.statSync(path.join(abs, f)).isFile())
    .map((f) => `${dir}/${f.split(path.sep).join('/')}`);
}

describe.skipIf(!builderInstalled)('electron-builder configuration', () => {
  let config: Configuration;
  let matcher: MatcherModule;

  /** electron-builder's own filter for a file pattern list ('files' or 'asarUnpack'). */
  function filterFor(name: 'files' | 'asarUnpack'): (rel: string) => boolean {
    const matchers = matcher.getFileMatchers(config, name, '/app', {
      macroExpander: (s) => s,
      customBuildOptions: {},
      globalOutDir: path.join(ROOT, 'dist'),
      defaultSrc: ROOT,
    });
    expect(matchers, `${name} has patterns`).not.toBeNull();
    const filter = matchers![0]!.createFilter();
    const fileStat = { isDirectory: () => false } as unknown as FilterStats;
    return (rel) => filter(path.join(ROOT, ...rel.split('/')), fileStat);
  }

  /** electron-builder's filter for the production dependencies copied into the app (the excludes of `files`). */
  function nodeModulesFilter(): (rel: string) => boolean {
    const { getNodeModuleFileMatcher } = matcher as unknown as {
      getNodeModuleFileMatcher(appDir: string, to: string, expand: (s: string) => string, options: object, packager: object): { createFilter(): (file: string, stat: FilterStats) => boolean };
    };
    const { DebugLogger } = require('builder-util') as UtilModule;
    const filter = getNodeModuleFileMatcher(ROOT, '/app', (s) => s, {}, { config, debugLogger: new DebugLogger(false) }).createFilter();
    const fileStat = { isDirectory: () => false } as unknown as FilterStats;
    return (rel) => filter(path.join(ROOT, ...rel.split('/')), fileStat);
  }

  beforeAll(async () => {
    const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as ConfigModule;
    const { DebugLogger } = require('builder-util') as UtilModule;
    matcher = require('app-builder-lib/out/fileMatcher') as MatcherModule;
    config = await getConfig(ROOT, null, null);
    // Throws with the schema's own message on an unknown key or a wrong type.
    await validateConfiguration(config, new DebugLogger(false));
  });

  it('is the file electron-builder finds, and its schema validation rejects a broken config', async () => {
    expect(fs.existsSync(path.join(ROOT, 'electron-builder.yml'))).toBe(true);
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as ConfigModule;
    const { DebugLogger } = require('builder-util') as UtilModule;
    const broken = { ...config, linux: { targets: ['deb'] } } as unknown as Configuration;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/Invalid configuration object/);
  });

  it('names the app and builds AppImage + deb, NSIS and DMG', () => {
    expect(config.appId).toMatch(/^[a-z0-9.-]+$/);
    expect(config.productName).toBe('Transfer Studio');
    const targets = (t: unknown): string[] =>
      (Array.isArray(t) ? t : [t]).map((x: unknown) => (typeof x === 'string' ? x : (x as { target: string }).target));
    expect(targets(config.linux?.target).sort()).toEqual(['AppImage', 'deb']);
    expect(targets(config.win?.target)).toEqual(['nsis']);
    expect(targets(config.mac?.target)).toEqual(['dmg']);
    // The .deb target refuses to build without a homepage and a maintainer.
    expect(config.linux?.maintainer).toMatch(/<.+@.+>/);
    expect((config.extraMetadata as { homepage?: string } | undefined)?.homepage).toBeTruthy();
  });

  it('packages for the pinned Electron and rebuilds native modules for its ABI', () => {
    expect(config.electronVersion).toBe(pkg.optionalDependencies?.electron);
    expect(config.npmRebuild).toBe(true);
    expect(config.asar).toBe(true);
    expect((config.extraMetadata as { main?: string }).main).toBe(pkg.main);
  });

  it('packages the built app and resources, not the sources, source maps or the Electron package', () => {
    const included = filterFor('files');
    for (const f of ['out/main/index.js', 'out/main/cli.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'out/renderer/assets/index-abc.js', 'resources/icon.png', 'package.json'])
      expect(included(f), f).toBe(true);
    // The built-in model is not in the asar: extraResources puts it beside it (next test).
    for (const f of ['src/main/cli/index.ts', 'test/unit/packaging.test.ts', 'out/main/index.js.map', 'resources/models/mobilenet_v1_0.25_224/model.json']) expect(included(f), f).toBe(false);
    const modules = nodeModulesFilter();
    for (const f of ['node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'node_modules/better-sqlite3/lib/index.js', 'node_modules/sharp/lib/index.js'])
      expect(modules(f), f).toBe(true);
    // Electron is an optional dependency of the project, never a file of the app; nor are native build leftovers.
    for (const f of ['node_modules/electron/dist/electron', 'node_modules/electron/index.js', 'node_modules/better-sqlite3/deps/sqlite3/sqlite3.c', 'node_modules/better-sqlite3/build/Release/obj/x.o'])
      expect(modules(f), f).toBe(false);
  });

  it('ships the built-in model as extra resources, in <resources>/models where the app looks for it', () => {
    const extra = (config.extraResources ?? []) as { from: string; to: string }[];
    expect(extra).toContainEqual(expect.objectContaining({ from: 'resources/models', to: 'models' }));
    const dir = path.join(ROOT, 'resources', 'models', 'mobilenet_v1_0.25_224');
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'studio-model.json'), 'utf8')) as { id: string; source: string };
    expect(meta).toMatchObject({ id: 'mobilenet_v1_0.25_224', source: 'built-in' });
    for (const f of ['SOURCE.txt', 'model.json', 'group29-shard1of1', 'imagenet_classes.txt']) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
  });

  it('unpacks from the asar every native addon and WASM file really in node_modules', () => {
    const unpacked = filterFor('asarUnpack');
    const mustUnpack = [
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      ...filesUnder('node_modules/@tensorflow/tfjs-backend-wasm', /\.wasm$/),
      ...filesUnder('node_modules/@tensorflow/tfjs-backend-wasm/wasm-out', /\.worker\.js$/),
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js',
      ...filesUnder('node_modules/@img', /\.(node|so(\.\d+)*|dylib|dll)$/),
      ...filesUnder('node_modules/@tensorflow/tfjs-node', /\.(node|so(\.\d+)*|dll|dylib)$/),
      ...filesUnder('node_modules/@tensorflow/tfjs-node-gpu', /\.(node|so(\.\d+)*|dll|dylib)$/),
    ];
    expect(filesUnder('node_modules/@tensorflow/tfjs-backend-wasm', /\.wasm$/).length).toBeGreaterThanOrEqual(3);
    expect(filesUnder('node_modules/@img', /\.node$/).length).toBeGreaterThanOrEqual(1);
    for (const f of mustUnpack) {
      expect(fs.existsSync(path.join(ROOT, f)), `${f} exists`).toBe(true);
      expect(unpacked(f), f).toBe(true);
    }
    // The patched entry (patch-package) is the one unpacked.
    expect(fs.readFileSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js'), 'utf8')).toContain('PATCH(transfer-studio)');
    // The app's own code stays in the asar.
    expect(unpacked('out/main/index.js')).toBe(false);
    expect(unpacked('node_modules/zod/index.js')).toBe(false);
  });

  it('has a 512x512 PNG icon', async () => {
    const icon = path.join(ROOT, String(config.icon));
    expect(fs.existsSync(icon)).toBe(true);
    const meta = await sharp(icon).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 512]);
  });
});

describe('package.json for installers', () => {
  it('has the metadata and scripts electron-builder needs', () => {
    expect(pkg.name).toMatch(/^[a-z0-9-]+$/);
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(pkg.description).toBeTruthy();
    // electron-builder refuses Electron or itself among production dependencies.
    for (const name of ['electron', 'electron-builder', '@electron/rebuild']) expect(pkg.dependencies[name], name).toBeUndefined();
    expect(pkg.devDependencies['electron-builder']).toBeDefined();
    expect(pkg.scripts.dist).toMatch(/npm run build && electron-builder/);
    for (const os of ['linux', 'win', 'mac']) expect(pkg.scripts[`dist:${os}`]).toMatch(new RegExp(`electron-builder --${os}`));
  });
});
