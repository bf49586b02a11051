/**
 * An EngineChannel to an engine on another machine: the system's OpenSSH client runs
 * `transfer-studio engine --stdio` there and carries its frames (src/shared/node/frames.ts) over
 * stdin/stdout. The user's keys, agent, known_hosts and ~/.ssh/config apply; BatchMode means ssh
 * never asks for a password (no terminal to ask on), it fails instead. Extra ssh options come from
 * TRANSFER_STUDIO_SSH_OPTIONS (split on spaces, e.g. `-F /path/to/ssh_config`).
 *
 * The handshake: the engine's first frame ('ready') carries its version; calls wait until it came,
 * and an engine of another version is stopped with both versions named. Every way the channel can
 * end becomes one line saying so (could not connect, not installed, refused to start, dropped).
 */
import { spawn } from 'node:child_process';
import { encodeFrame, FrameReader } from '../../shared/node/frames';
import { StudioError } from '../../shared/errors';
import type { EngineToHost, HostToEngine } from '../engine/protocol';
import type { ChannelFailure, EngineChannel } from './engine-client';

export interface SshAddress {
  /** As the user wrote it: ssh://[user@]host[:port][/path/to/transfer-studio]. */
  address: string;
  user?: string;
  host: string;
  port?: number;
  /** The studio's command on the server: `transfer-studio` on its PATH, or the path given. */
  command: string;
}

/** Parses an engine address; a bad one is a bad_request naming the expected form. */
export function parseSshAddress(text: string): SshAddress {
  const bad = (why: string): never => {
    throw new StudioError('bad_request', `${JSON.stringify(text)} is not an engine address (${why}); expected ssh://[user@]host[:port][/path/to/transfer-studio].`, 'engine');
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad('not a URL');
  }
  if (url.protocol !== 'ssh:') return bad('not ssh://');
  if (url.password) return bad('passwords are never stored: use a key or the ssh agent');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const user = decodeURIComponent(url.username);
  // Nothing that ssh could read as an option.
  if (!host || host.startsWith('-') || !/^[A-Za-z0-9_.:%-]+$/.test(host)) return bad('no valid host');
  if (user && (user.startsWith('-') || /[\s@]/.test(user))) return bad('the user name is not valid');
  const command = decodeURIComponent(url.pathname);
  return {
    address: text,
    host,
    ...(user ? { user } : {}),
    ...(url.port ? { port: Number(url.port) } : {}),
    command: command === '' || command === '/' ? 'transfer-studio' : command,
  };
}

/** The address without the command path, for messages: user@host:port. */
export function sshTarget(a: SshAddress): string {
  return `${a.user ? `${a.user}@` : ''}${a.host}${a.port ? `:${a.port}` : ''}`;
}

/** One word for the remote shell (ssh hands the command line to the login shell there). */
export const shellQuote = (s: string): string => (/^[A-Za-z0-9_./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The ssh command line that starts the engine on the server. */
export function sshArgs(a: SshAddress, extraOptions: readonly string[] = sshOptionsFromEnv()): string[] {
  return sshCommandArgs(a, `${shellQuote(a.command)} engine --stdio`, extraOptions);
}

/** The ssh command line that runs `remoteCommand` (one shell line, its words already quoted) on the server. */
export function sshCommandArgs(a: SshAddress, remoteCommand: string, extraOptions: readonly string[] = sshOptionsFromEnv()): string[] {
  return [
    '-T',
    '-o', 'BatchMode=yes',
    // A dead link is noticed within about a minute, not at the next TCP timeout.
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=4',
    ...extraOptions,
    ...(a.port ? ['-p', String(a.port)] : []),
    ...(a.user ? ['-l', a.user] : []),
    '--',
    a.host,
    remoteCommand,
  ];
}

export function sshOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env['TRANSFER_STUDIO_SSH_OPTIONS'] ?? '').split(/\s+/).filter(Boolean);
}

/** The last lines ssh and the remote engine wrote to stderr (kept for the failure message). */
const STDERR_LINES = 20;

export interface SshChannelOptions {
  /** This studio's version: the engine must report the same. */
  version: string;
  /** The ssh executable (default `ssh` on PATH). */
  ssh?: string;
  extraOptions?: readonly string[];
  /** Every stderr line (the remote engine's log, ssh's messages). */
  onStderr?: (line: string) => void;
}

export function sshEngineChannel(a: SshAddress, options: SshChannelOptions): EngineChannel {
  const where = sshTarget(a);
  const child = spawn(options.ssh ?? 'ssh', sshArgs(a, options.extraOptions), { stdio: ['pipe', 'pipe', 'pipe'] });
  let ready = false;
  let failure: ChannelFailure | undefined;
  const held: Buffer[] = [];
  const messageCbs: ((msg: EngineToHost) => void)[] = [];
  const exitCbs: ((code: number | null, signal: string | null, failure?: ChannelFailure) => void)[] = [];
  const tail: string[] = [];
  let exited = false;

  const fail = (code: ChannelFailure['code'], message: string): void => {
    failure ??= { code, message };
    child.kill('SIGTERM');
  };
  const lastLine = (): string => (tail.filter((l) => l.trim()).at(-1) ?? '').trim().replace(/\.$/, '');

  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > STDERR_LINES) tail.shift();
      options.onStderr?.(line);
    }
  });

  const reader = new FrameReader();
  child.stdout.on('data', (chunk: Buffer) => {
    let messages: unknown[];
    try {
      messages = reader.push(chunk);
    } catch (e) {
      fail(ready ? 'ENGINE_CRASHED' : 'ENGINE_START_FAILED', `The engine on ${where} sent something that is not the engine protocol: ${(e as Error).message}`);
      return;
    }
    for (const raw of messages) {
      const msg = raw as EngineToHost;
      if (!ready) {
        if (msg.kind !== 'ready') {
          fail('ENGINE_START_FAILED', `The engine on ${where} did not start with its handshake.`);
          return;
        }
        if (msg.version !== options.version) {
          fail(
            'ENGINE_START_FAILED',
            `The engine on ${where} is Transfer Studio ${msg.version ?? '(no version)'}, this studio is ${options.version}: install the same version on the server.`,
          );
          return;
        }
        ready = true;
        for (const frame of held.splice(0)) child.stdin.write(frame);
      }
      for (const cb of messageCbs) cb(msg);
    }
  });

  const finish = (code: number | null, signal: string | null): void => {
    if (exited) return;
    exited = true;
    if (partial) tail.push(partial);
    const detail = lastLine();
    if (!failure && !ready) {
      const hint =
        code === 127
          ? ` Is Transfer Studio installed there? Give its path after the host: ssh://${where}/path/to/transfer-studio.`
          : code === 255
            ? ' (ssh could not connect or log in: check the address, your key and known_hosts with `ssh ' + where + '`.)'
            : '';
      failure = { code: 'ENGINE_START_FAILED', message: `Could not start the engine on ${where}: ${detail || `ssh exited with code ${code ?? 'none'}, signal ${signal ?? 'none'}`}.${hint}` };
    }
    // ssh exits 255 on its own errors (the link), else with the remote command's status (the engine).
    const what =
      signal || code === 255 || code === null
        ? `The connection to the engine on ${where} dropped (ssh ${signal ? `ended by ${signal}` : `exited with code ${code ?? 'none'}`}${detail ? `: ${detail}` : ''})`
        : `The engine on ${where} stopped unexpectedly (exit code ${code}${detail ? `: ${detail}` : ''})`;
    failure ??= { code: 'ENGINE_CRASHED', message: `${what}. Nothing in the project is lost; a training run continues from its last checkpoint with train --resume.` };
    for (const cb of exitCbs) cb(code, signal, failure);
  };
  child.on('exit', (code, signal) => finish(code, signal));
  child.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') failure ??= { code: 'ENGINE_START_FAILED', message: `The ssh client (${options.ssh ?? 'ssh'}) was not found: install OpenSSH to use an engine on another machine.` };
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) finish(child.exitCode, child.signalCode);
  });
  // A write after the connection dropped: the exit reports it.
  child.stdin.on('error', () => undefined);

  return {
    send: (msg: HostToEngine) => {
      if (exited) throw new Error(`the connection to ${where} is closed`);
      const frame = encodeFrame(msg);
      if (ready) child.stdin.write(frame);
      else held.push(frame);
    },
    onMessage: (cb) => messageCbs.push(cb),
    onExit: (cb) => exitCbs.push(cb),
    kill: () => {
      child.kill('SIGTERM');
    },
  };
}
