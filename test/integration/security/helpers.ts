/**
 * Browser mode as an attacker on this machine meets it: the real `transfer-studio serve` in its own
 * process, raw HTTP written to its socket, a WebSocket client. Needs the built UI (npm run build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import type { WireEvent, WireResponse } from '../../../src/shared/api';
import { serveAddress } from '../../fixtures/serve-address';
import { cliEntry } from '../../fixtures/cli';
import { ROOT } from '../reliability/helpers';

export { ROOT };

export interface Served {
  proc: ChildProcess;
  port: number;
  token: string;
  url: string;
  stderr: () => string;
  /** Sends `signal` and resolves with the exit code once the process has ended. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `transfer-studio serve [DIR] --json`: through bin/transfer-studio.js (`viaBin`), else as the CLI fixture does (cliEntry); in `cwd` if given. */
export async function serve(home: string, dir?: string, opts: { viaBin?: boolean; cwd?: string } = {}): Promise<Served> {
  if (!fs.existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) throw new Error('Build first: npm run build');
  const entry = opts.viaBin ? [path.join(ROOT, 'bin', 'transfer-studio.js')] : cliEntry();
  const proc = spawn(process.execPath, [...entry, 'serve', ...(dir ? [dir] : []), '--json'], {
    env: { ...process.env, TRANSFER_STUDIO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const { url, port, stderr } = await serveAddress(proc, 'serve');
  return {
    proc,
    port,
    url,
    token: new URL(url).searchParams.get('token')!,
    stderr,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      }),
  };
}

/** Writes `request` as is to the server's socket; resolves with everything it answers until it closes. */
export function raw(port: number, request: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, timeoutMs);
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (got) resolve(got);
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.write(request);
  });
}

/** The status code of a raw HTTP answer ("HTTP/1.1 400 Bad Request..." -> 400), or 0 for none. */
export const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

/** A GET with the given headers, `Connection: close`; the status code. */
export async function get(port: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; answer: string }> {
  const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  const answer = await raw(port, lines.join('\r\n') + '\r\n\r\n');
  return { status: statusOf(answer), answer };
}

export function header(answer: string, name: string): string | undefined {
  const head = answer.split('\r\n\r\n')[0]!;
  return head
    .split('\r\n')
    .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    ?.slice(name.length + 1)
    .trim();
}

export const origin = (port: number): string => `http://127.0.0.1:${port}`;

export function connect(port: number, token: string | undefined, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws${token === undefined ? '' : `?token=${token}`}`, { origin: origin(port), headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

let nextId = 1;
/** One request over the socket; resolves with its response (events are passed over). */
export function rpc(ws: WebSocket, name: string, input: unknown): Promise<WireResponse> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const on = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(String(data)) as WireResponse | WireEvent;
      if ('id' in msg && msg.id === id) {
        ws.off('message', on);
        ws.off('close', closed);
        resolve(msg);
      }
    };
    const closed = (code: number): void => reject(new Error(`socket closed (${code}) before answering ${name}`));
    ws.on('message', on);
    ws.once('close', closed);
    ws.send(JSON.stringify({ id, name, input }));
  });
}

/** Waits for the job.finished event of job `id`. */
export function jobFinished(ws: WebSocket, id: string): Promise<{ state: string; result: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve) => {
    const on = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(String(data)) as WireEvent;
      const job = msg.payload as { id: string; state: string; result: unknown };
      if ('event' in msg && msg.event === 'job.finished' && job.id === id) {
        ws.off('message', on);
        resolve(job);
      }
    };
    ws.on('message', on);
  });
}

export { removeTempDirs, tempDir } from '../helpers';

/** Local addresses of the listening TCP sockets on `port` (Linux /proc/net/tcp and tcp6), e.g. ['127.0.0.1']. */
export function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // 0A: LISTEN
      const [addr, portHex] = cols[1]!.split(':');
      if (parseInt(portHex!, 16) !== port) continue;
      if (addr!.length === 8) out.push([3, 2, 1, 0].map((i) => parseInt(addr!.slice(i * 2, i * 2 + 2), 16)).join('.'));
      else out.push(addr === '00000000000000000000000000000000' ? '::' : `ipv6:${addr}`);
    }
  }
  return out;
}
