/**
 * How the engine process talks to its host: one of three transports of the same protocol, picked
 * at start. An Electron utilityProcess has process.parentPort; a forked Node child has the IPC
 * channel (process.send); `--stdio` (transfer-studio engine --stdio, what ssh starts on a server)
 * speaks frames (src/shared/node/frames.ts) on stdin/stdout. With stdio, stdout carries frames and
 * nothing else: console output and any stray stdout write go to stderr.
 */
import { encodeFrame, FrameReader } from '../../shared/node/frames';
import type { EngineToHost, HostToEngine } from './protocol';

export interface EngineTransport {
  readonly kind: 'parent-port' | 'ipc' | 'stdio';
  send(msg: EngineToHost): void;
  onMessage(cb: (msg: HostToEngine) => void): void;
  /** The host is gone (IPC disconnected, stdin closed or out of step). */
  onClose(cb: (reason: string) => void): void;
}

interface ParentPort {
  postMessage(msg: unknown): void;
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
}

function parentPortTransport(port: ParentPort): EngineTransport {
  return {
    kind: 'parent-port',
    send: (msg) => port.postMessage(msg),
    onMessage: (cb) => port.on('message', (e) => cb(e.data as HostToEngine)),
    // The utility process is killed with its parent.
    onClose: () => undefined,
  };
}

function ipcTransport(): EngineTransport {
  return {
    kind: 'ipc',
    send: (msg) => process.send?.(msg),
    onMessage: (cb) => process.on('message', (m) => cb(m as HostToEngine)),
    onClose: (cb) => process.on('disconnect', () => cb('the host disconnected')),
  };
}

function stdioTransport(): EngineTransport {
  const out = process.stdout;
  const writeFrame = out.write.bind(out) as (chunk: Buffer) => boolean;
  // Nothing but frames on stdout: everything else that would print there goes to stderr.
  out.write = ((chunk: unknown, ...rest: unknown[]) => (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof out.write;
  for (const name of ['log', 'info', 'debug'] as const) console[name] = (...args: unknown[]) => console.error(...args);
  const reader = new FrameReader();
  const messageCbs: ((msg: HostToEngine) => void)[] = [];
  const closeCbs: ((reason: string) => void)[] = [];
  const close = (reason: string): void => {
    for (const cb of closeCbs.splice(0)) cb(reason);
  };
  process.stdin.on('data', (chunk: Buffer) => {
    let messages: unknown[];
    try {
      messages = reader.push(chunk);
    } catch (e) {
      close((e as Error).message);
      return;
    }
    for (const m of messages) for (const cb of messageCbs) cb(m as HostToEngine);
  });
  process.stdin.on('end', () => close('stdin closed'));
  process.stdin.on('error', (e) => close(`stdin failed: ${e.message}`));
  out.on('error', (e) => close(`stdout failed: ${e.message}`));
  // With the connection gone stderr is gone too: a log line then has nowhere to go, and its EPIPE
  // must not end the process before the run has stopped at a safe point.
  process.stderr.on('error', () => undefined);
  return {
    kind: 'stdio',
    send: (msg) => {
      writeFrame(encodeFrame(msg));
    },
    onMessage: (cb) => messageCbs.push(cb),
    onClose: (cb) => closeCbs.push(cb),
  };
}

/** The transport this process was started with. */
export function engineTransport(argv: readonly string[] = process.argv): EngineTransport {
  if (argv.includes('--stdio')) return stdioTransport();
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  return port ? parentPortTransport(port) : ipcTransport();
}
