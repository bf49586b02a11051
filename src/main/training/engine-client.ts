/**
 * Host side of the engine: EngineClient talks to the engine process through an EngineChannel that
 * the shell's `start` function creates (a forked Node child, see forkEngine, or an Electron
 * utilityProcess wrapped the same way). The process is started lazily on the first call, reused
 * across calls, and started afresh after it dies. A crash fails the calls in flight with
 * ENGINE_CRASHED ("The training engine stopped unexpectedly (exit code X, signal Y)") and never
 * throws into the host. No TensorFlow.js here.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import {
  engineMethods,
  engineStartEnv,
  type CallOptions,
  type Engine,
  type EngineErrorCode,
  type EngineEvent,
  type EngineMethod,
  type EngineParams,
  type EngineProcessErrorCode,
  type EngineResult,
  type EngineStart,
  type EngineToHost,
  type HostToEngine,
} from '../engine/protocol';
import { entryScript } from '../../shared/node/entry-script';

export interface EngineChannel {
  send(msg: HostToEngine): void;
  onMessage(cb: (msg: EngineToHost) => void): void;
  /**
   * Called once when the process is gone (exit code, or the signal that ended it); `failure` when
   * the channel knows why in words (an ssh connection that dropped, a server that refused to start).
   */
  onExit(cb: (code: number | null, signal: string | null, failure?: ChannelFailure) => void): void;
  kill(): void;
}

export interface ChannelFailure {
  code: Exclude<EngineProcessErrorCode, 'ENGINE_STOPPED'>;
  message: string;
}

/** What the engine said when it started (its version and machine: what "Test connection" shows). */
export type EngineReady = Extract<EngineToHost, { kind: 'ready' }>;

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** The call's field at fault ('config.freezeTo'), when the engine named one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?: (event: EngineEvent) => void;
}

/** How long a cancelled call may take to reach a safe point before the engine is restarted. */
const CANCEL_GRACE_MS = 30_000;

export class EngineClient implements Engine {
  private channel: EngineChannel | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stopping = false;
  private ready: EngineReady | null = null;

  constructor(private readonly start: () => EngineChannel) {}

  /**
   * Calls an engine method; its events (progress, log lines) go to `onEvent`. Fails with an
   * EngineError; a method whose table entry says `cancelResolves` (train) resolves with its
   * cancelled result when `signal` fires, the others reject with CANCELLED.
   */
  call<M extends EngineMethod>(method: M, params: EngineParams<M>, options: CallOptions = {}): Promise<EngineResult<M>> {
    const { signal, onEvent } = options;
    const cancelResolves = engineMethods[method].cancelResolves === true;
    if (signal?.aborted && !cancelResolves) {
      return Promise.reject(new EngineError('CANCELLED', 'Cancelled.'));
    }
    return new Promise<EngineResult<M>>((resolve, reject) => {
      let channel: EngineChannel;
      try {
        channel = this.ensure();
      } catch (e) {
        reject(new EngineError('ENGINE_START_FAILED', `The training engine could not be started: ${(e as Error).message}`));
        return;
      }
      const id = this.nextId++;
      let timer: NodeJS.Timeout | null = null;
      const onAbort = () => {
        try {
          channel.send({ kind: 'cancel', id });
        } catch {
          // the process is gone; onExit rejects the call
        }
        // A call stuck in one long TensorFlow.js op cannot see the cancel: restart the engine.
        timer = setTimeout(() => {
          if (this.pending.has(id) && this.channel === channel) {
            this.stopping = true;
            channel.kill();
          }
        }, CANCEL_GRACE_MS);
        timer.unref?.();
      };
      const cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      this.pending.set(id, {
        ...(onEvent ? { onEvent } : {}),
        resolve: (v) => {
          cleanup();
          resolve(v as EngineResult<M>);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        channel.send({ kind: 'call', id, method, params } as HostToEngine);
      } catch (e) {
        this.pending.delete(id);
        cleanup();
        reject(new EngineError('ENGINE_CRASHED', `The training engine could not be reached: ${(e as Error).message}`));
      }
      if (signal?.aborted) onAbort();
    });
  }

  /** Whether an engine process is currently running. */
  get running(): boolean {
    return this.channel !== null;
  }

  /** The engine process's id once it has said it is ready (diagnostics, and fault tests that kill it). */
  get pid(): number | null {
    return this.ready?.pid ?? null;
  }

  /** What the running engine said when it started, or null. */
  get readyInfo(): EngineReady | null {
    return this.ready;
  }

  /** Stop the engine process (pending calls fail with ENGINE_STOPPED). */
  dispose(): void {
    if (!this.channel) return;
    this.stopping = true;
    this.channel.kill();
  }

  private ensure(): EngineChannel {
    if (this.channel) return this.channel;
    const channel = this.start();
    this.channel = channel;
    this.stopping = false;
    channel.onMessage((msg) => this.onMessage(msg));
    channel.onExit((code, signal, failure) => {
      if (this.channel !== channel) return;
      this.channel = null;
      this.ready = null;
      const stopped = this.stopping;
      const err = stopped
        ? new EngineError('ENGINE_STOPPED', 'The training engine was stopped.')
        : failure
          ? new EngineError(failure.code, failure.message, { exitCode: code, signal })
          : new EngineError(
            'ENGINE_CRASHED',
            `The training engine stopped unexpectedly (exit code ${code ?? 'none'}, signal ${signal ?? 'none'}).`,
            { exitCode: code, signal },
          );
      const calls = [...this.pending.values()];
      this.pending.clear();
      for (const p of calls) p.reject(err);
    });
    return channel;
  }

  private onMessage(msg: EngineToHost): void {
    if (msg.kind === 'ready') {
      this.ready = msg;
      return;
    }
    if (msg.kind === 'event') {
      const p = this.pending.get(msg.id);
      try {
        p?.onEvent?.(msg.event);
      } catch (err) {
        // The caller could not take the event (saving an epoch to a full disk, say): thrown from
        // here it would end the process. The call fails with it and the engine stops its work.
        this.pending.delete(msg.id);
        try {
          this.channel?.send({ kind: 'cancel', id: msg.id });
        } catch {
          // the process is gone already
        }
        p?.reject(err instanceof Error ? err : new Error(String(err)));
      }
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'result') p.resolve(msg.result);
    else p.reject(new EngineError(msg.error.code, msg.error.message, msg.error.details ?? {}, msg.error.field));
  }
}

/** The engine entry to fork (entry-script.ts: the built engine-process.js, else the .ts through tsx). */
export function defaultEngineEntry(): { entry: string; execArgv: string[] } {
  return entryScript('engine-process', import.meta.url, path.join('..', 'engine', 'engine-process.ts'));
}

/** An EngineChannel over child_process.fork (plain Node; Electron can use utilityProcess instead). */
export function forkEngine(options: { entry?: string; execArgv?: string[]; env?: NodeJS.ProcessEnv; start?: EngineStart } = {}): EngineChannel {
  const def = defaultEngineEntry();
  const child = fork(options.entry ?? def.entry, [], {
    execArgv: options.execArgv ?? def.execArgv,
    env: { ...process.env, ...options.env, ...engineStartEnv(options.start ?? {}) },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  const exitCbs: ((code: number | null, signal: string | null) => void)[] = [];
  const fire = (code: number | null, signal: string | null) => {
    if (exited) return;
    exited = true;
    for (const cb of exitCbs) cb(code, signal);
  };
  child.on('exit', (code, signal) => fire(code, signal));
  child.on('error', () => {
    if (child.exitCode !== null || child.signalCode !== null || !child.connected) fire(child.exitCode, child.signalCode);
  });
  return {
    send: (msg) => {
      if (!child.connected) throw new Error('engine process is not connected');
      child.send(msg);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as EngineToHost)),
    onExit: (cb) => exitCbs.push(cb),
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}

/** The part of Electron's UtilityProcess the channel needs (typed structurally: no electron import here). */
export interface UtilityProcessLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/**
 * An EngineChannel over an Electron utilityProcess, e.g.
 * `new EngineClient(() => utilityProcessChannel(utilityProcess.fork(enginePath)))`.
 * Exit code 0 after kill() is reported as stopped by the client, anything else as a crash.
 */
export function utilityProcessChannel(proc: UtilityProcessLike): EngineChannel {
  return {
    send: (msg) => proc.postMessage(msg),
    onMessage: (cb) => proc.on('message', (m) => cb(m as EngineToHost)),
    onExit: (cb) => proc.on('exit', (code) => cb(code, null)),
    kill: () => {
      proc.kill();
    },
  };
}

