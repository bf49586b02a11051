import { resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';
import { cspMetaTag } from './src/main/host/csp';

/** The built index.html carries the renderer's CSP as a meta tag (Electron's file:// page sees no header). */
const cspMeta: Plugin = {
  name: 'transfer-studio-csp',
  apply: 'build',
  transformIndexHtml: (html) => html.replace(/(<meta charset[^>]*>)/i, `$1\n    ${cspMetaTag()}`),
};

// electron-vite reads Electron's version from its package to pick build targets. Electron is an
// optional dependency (its binary download fails on machines without outside access), so fall back
// to the version pinned in package.json.
if (!process.env.ELECTRON_MAJOR_VER && !existsSync(resolve(__dirname, 'node_modules/electron/package.json'))) {
  const pinned = (JSON.parse(readFileSync(resolve(__dirname, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> }).optionalDependencies.electron!;
  process.env.ELECTRON_MAJOR_VER = pinned.replace(/^\D*/, '').split('.')[0];
}

// Main-process entries: the Electron shell, the CLI (also browser mode), the engine process, the
// engine's ONNX Runtime session thread and the audit's alignment search threads
// (src/shared/node/entry-script.ts finds them beside the bundle).
const mainEntries: Record<string, string> = {
  index: resolve(__dirname, 'src/main/index.ts'),
  cli: resolve(__dirname, 'src/main/cli/index.ts'),
  'engine-process': resolve(__dirname, 'src/main/engine/engine-process.ts'),
  'onnx-session-worker': resolve(__dirname, 'src/main/engine/onnx/session-worker.ts'),
  'alignment-worker': resolve(__dirname, 'src/main/audit/alignment-worker.ts'),
};

export default defineConfig({
  main: {
    build: { rollupOptions: { input: mainEntries } },
  },
  preload: {
    // A sandboxed preload must be one CommonJS file.
    build: { rollupOptions: { input: { index: resolve(__dirname, 'src/preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } } },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    build: { rollupOptions: { input: resolve(__dirname, 'src/renderer/index.html') } },
    plugins: [react(), cspMeta],
  },
});
