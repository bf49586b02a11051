#!/usr/bin/env node
// Runs the built CLI (npm run build), or the TypeScript source through tsx in a development checkout.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'out', 'main', 'cli.js');
const entry = existsSync(built) ? [built] : ['--import', 'tsx', path.join(root, 'src', 'main', 'cli', 'index.ts')];
const r = spawnSync(process.execPath, [...entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
