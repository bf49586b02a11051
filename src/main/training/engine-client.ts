/**
 * Host side of the engine: EngineClient talks to the engine process through an EngineChannel that
 * the shell's `start` function creates (a forked Node child, see forkEngine, or an Electron
 * utilityProcess wrapped the same way). The process is started lazily on the first call, reused
 * across calls, and started afresh after it dies. A crash fails the calls in flight with
 * ENGINE_CRASHED ("The training engine stopped unexpectedly (exit code X, signal Y)") and never
 * throws into the host. No TensorFlow.js here.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendInfo } from '../../shared/domain';
import type { ModelInspection } from '../models/types';
import type {
  ClassifyResult,
  EngineErrorData,
  EngineEvent,
  EngineMethod,
  EngineMethods,
  EngineStats,
  EngineToHost,
  HostToEngine,
  PredictItem,
  PredictResult,
  Scenario1Job,
  Scenario1Result,
  SimilarityEstimate,
  TrainJob,
  TrainResult,
} from './protocol';

export interface EngineChannel {
  send(msg: HostToEngine): void;
  onMessage(cb: (msg: EngineToHost) => void): void;
  /** Called once when the process is gone (exit code, or the signal that ended it). */
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    /** ENGINE_CRASHED, ENGINE_STOPPED, CANCELLED, or the engine's own codes (MODEL_*, SHARD_*, BAD_JOB, ...). */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface CallOptions {
  signal?: AbortSignal;
  onEvent?: (event: EngineEvent) => void;
}

export interface TrainCallbacks {
  onEvent?: (event: EngineEvent) => void;
  /** Convenience: only the 'progress' events. */
  onProgress?: (progress: Extract<EngineEvent, { type: 'progress' }>) => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?: (event: EngineEvent) => void;
  method: EngineMethod;
}

/** How long a cancelled call may take to reach a safe point before the engine is restarted. */
const CANCEL_GRACE_MS = 30_000;

export class EngineClient {
  private channel: EngineChannel | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stopping = false;
  /** Engine-level log lines (backend selection). */
  onLog: ((message: string) => void) | null = null;

  constructor(private readonly start: () => EngineChannel) {}

  backend(options: CallOptions = {}): Promise<BackendInfo> {
    return this.call('backend', {}, options);
  }

  inspectModel(modelDir: string, options: CallOptions = {}): Promise<ModelInspection> {
    return this.call('inspectModel', { modelDir }, options);
  }

  classify(modelDir: string, imagePaths: string[], options: CallOptions & { topK?: number; labelsPath?: string } = {}): Promise<ClassifyResult[]> {
    const { topK, labelsPath, ...rest } = options;
    return this.call('classify', { modelDir, imagePaths, ...(topK ? { topK } : {}), ...(labelsPath ? { labelsPath } : {}) }, rest);
  }

  /** Resolves with state 'cancelled' (not a rejection) when `signal` fires during the run. */
  trainScenario1(job: Scenario1Job, callbacks: TrainCallbacks = {}, signal?: AbortSignal): Promise<Scenario1Result> {
    return this.call(
      'trainScenario1',
      { job },
      {
        signal,
        cancelResolves: true,
        onEvent: (e) => {
          callbacks.onEvent?.(e);
          if (e.type === 'progress') callbacks.onProgress?.(e);
        },
      },
    );
  }

  /**
   * The job system's entry (TrainingEngine in training-service.ts): any scenario, the engine
   * dispatches on config.scenario. Resolves with state 'cancelled' when `signal` fires.
   */
  train(job: TrainJob, onEvent: (event: EngineEvent) => void, signal?: AbortSignal): Promise<TrainResult> {
    return this.call('train', { job }, { signal, cancelResolves: true, onEvent });
  }

  /** The advisor's similarity estimate for labelled images (features cached in cacheDir when given). */
  estimateSimilarity(params: EngineMethods['estimateSimilarity']['params'], options: CallOptions = {}): Promise<SimilarityEstimate> {
    return this.call('estimateSimilarity', params, options);
  }

  predict(runDir: string, items: PredictItem[], options: CallOptions & { cacheDir?: string } = {}): Promise<PredictResult> {
    const { cacheDir, ...rest } = options;
    return this.call('predict', { runDir, items, ...(cacheDir ? { cacheDir } : {}) }, rest);
  }

  stats(options: CallOptions = {}): Promise<EngineStats> {
    return this.call('stats', {}, options);
  }

  /** Test hook: makes the engine exit with `code`. */
  crashForTest(code = 70): Promise<never> {
    return this.call('crash', { code }, {});
  }

  /** Whether an engine process is currently running. */
  get running(): boolean {
    return this.channel !== null;
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
    channel.onExit((code, signal) => {
      if (this.channel !== channel) return;
      this.channel = null;
      const stopped = this.stopping;
      const err = stopped
        ? new EngineError('ENGINE_STOPPED', 'The training engine was stopped.')
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
    if (msg.kind === 'ready') return;
    if (msg.kind === 'event') {
      if (msg.id === 0 && msg.event.type === 'log') this.onLog?.(msg.event.message);
      this.pending.get(msg.id)?.onEvent?.(msg.event);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'result') p.resolve(msg.result);
    else p.reject(new EngineError(msg.error.code, msg.error.message, msg.error.details ?? {}));
  }

  private call<M extends EngineMethod>(
    method: M,
    params: EngineMethods[M]['params'],
    options: CallOptions & { cancelResolves?: boolean },
  ): Promise<EngineMethods[M]['result']> {
    const { signal, onEvent } = options;
    if (signal?.aborted && !options.cancelResolves) {
      return Promise.reject(new EngineError('CANCELLED', 'Cancelled.'));
    }
    return new Promise<EngineMethods[M]['result']>((resolve, reject) => {
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
        method,
        onEvent,
        resolve: (v) => {
          cleanup();
          resolve(v as EngineMethods[M]['result']);
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
}

/**
 * The engine entry to fork: the built engine-process.js next to this file when there is one
 * (production), else engine-process.ts run through tsx (tests, `npm run cli`).
 */
export function defaultEngineEntry(): { entry: string; execArgv: string[] } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // In the build this code may sit in out/main/chunks/ while the entry is out/main/engine-process.js.
  const js = [path.join(here, 'engine-process.js'), path.join(here, '..', 'engine-process.js')].find((f) => fs.existsSync(f));
  if (js) return { entry: js, execArgv: [] };
  return { entry: path.join(here, 'engine', 'engine-process.ts'), execArgv: ['--import', 'tsx'] };
}

/** An EngineChannel over child_process.fork (plain Node; Electron can use utilityProcess instead). */
export function forkEngine(options: { entry?: string; execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): EngineChannel {
  const def = defaultEngineEntry();
  const child = fork(options.entry ?? def.entry, [], {
    execArgv: options.execArgv ?? def.execArgv,
    env: { ...process.env, ...options.env },
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

export type { EngineErrorData };
