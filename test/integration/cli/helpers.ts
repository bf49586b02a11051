/** The CLI as a user runs it: a child process, its exit code, stdout, stderr and the final --json object. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const SHARED = path.resolve(ROOT, '../shared');
export const MODELS = path.join(SHARED, 'models');
export const MODEL_025 = path.join(MODELS, 'mobilenet_v1_0.25_224');

export interface CliResult {
  code: number;
  out: string;
  err: string;
  /** The last stdout line parsed as JSON (the --json object), if it is JSON. */
  json: Record<string, unknown> | undefined;
}

/**
 * Runs `transfer-studio ...args` from the source. Asynchronous (not spawnSync) so that servers
 * in the test process, such as a model mirror, keep answering while the CLI runs.
 */
export function cli(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main/cli/index.ts'), ...args], {
      env: { ...process.env, TRANSFER_STUDIO_HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.once('error', reject);
    child.once('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, out, err, json });
    });
  });
}

const made: string[] = [];
export function tempDir(prefix = 'ts-cli-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/**
 * A model mirror on 127.0.0.1 serving files under `root` (<root>/<model id>/model.json, like the
 * publisher); `mutate` may change or drop (null) a file to break a download.
 */
export async function serveFolder(root: string, mutate?: (rel: string, data: Buffer) => Buffer | null): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(rel);
    const file = path.join(root, rel);
    let data: Buffer | null = null;
    if (!rel.split('/').includes('..') && fs.existsSync(file) && fs.statSync(file).isFile()) data = fs.readFileSync(file);
    if (data && mutate) data = mutate(rel, data);
    if (!data) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A local port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
