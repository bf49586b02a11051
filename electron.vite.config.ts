import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

// Main-process entries: the Electron shell, the CLI (also browser mode), and the engine process.
const mainEntries: Record<string, string> = {
  index: resolve(__dirname, 'src/main/index.ts'),
  cli: resolve(__dirname, 'src/main/cli.ts'),
};
const engineEntry = resolve(__dirname, 'src/main/training/engine-process.ts');
if (existsSync(engineEntry)) mainEntries['engine-process'] = engineEntry;

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
    plugins: [react()],
  },
});
