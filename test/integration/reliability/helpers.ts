/**
 * Fault tests with real processes: the CLI started as a user starts it, killed with real signals
 * (SIGKILL: nothing of the product gets a chance to clean up), and the project read back from disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const MODEL_025 = path.join(ROOT, 'test/assets/models/mobilenet_v1_0.25_224');
/** tsx by its file URL: a process may run in another folder, where `--import tsx` would not resolve. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface Cli {
  proc: ChildProcess;
  /** Resolves when the process has ended: its exit code (null when a signal ended it), stdout and stderr. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

/** `transfer-studio ...args` from the source, in its own process. */
export function startCli(home: string, args: string[]): Cli {
  const proc = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'src/main/cli/index.ts'), ...args], {
    env: { ...process.env, TRANSFER_STUDIO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += String(d)));
  proc.stderr!.on('data', (d: Buffer) => (err += String(d)));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { proc, done };
}

/** Runs a CLI command to its end; returns its exit code and the --json object of its last line. */
export async function runCli(home: string, args: string[]): Promise<{ code: number | null; json: Record<string, unknown>; err: string }> {
  const r = await startCli(home, [...args, '--json']).done;
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  } catch {
    // not JSON: the assertions on json say so
  }
  return { code: r.code, json, err: r.err };
}

/** Polls `probe` every 50 ms until it returns a value that is not undefined; fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A read-only look at a project's database while (or after) another process writes it. */
export function query<T>(project: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path.join(project, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** Pids of the live children of `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid && alive(Number(entry))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export { removeTempDirs, tempDir } from '../helpers';
