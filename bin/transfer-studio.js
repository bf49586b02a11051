#!/usr/bin/env node
// Runs the built CLI (npm run build), or the TypeScript source through tsx in a development
// checkout, in this very process: Ctrl-C and kill reach the CLI itself, which cancels its jobs and
// closes the project's database before it exits (a child process would be left running).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'out', 'main', 'cli.js');
const cli = existsSync(built)
  ? await import(pathToFileURL(built).href)
  : await (await import('tsx/esm/api')).tsImport(pathToFileURL(path.join(root, 'src', 'main', 'cli', 'index.ts')).href, import.meta.url);
process.exitCode = await cli.main(process.argv.slice(2));
