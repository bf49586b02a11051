/**
 * One ONNX Runtime inference session on a worker thread of the engine process.
 * onnxruntime-node runs a session on the calling thread (its async `run` is a blocking call behind
 * setImmediate). On the engine's main thread a forward pass would therefore stall everything else
 * for its whole duration: the next batch's decoding could not hand its pixels over and would not
 * overlap the forward. On its own thread the forward runs beside decoding. A batch can be handed
 * over (its buffer transferred, no copy); results always are.
 */
import type { Worker } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { startWorker } from '../../../shared/node/entry-script';

/** A named float32 tensor crossing to or from the session's thread. */
export interface NamedTensor {
  data: Float32Array;
  dims: number[];
}

export type ToSession =
  | { kind: 'run'; id: number; input: Float32Array; dims: number[] }
  | { kind: 'runNamed'; id: number; feeds: Record<string, NamedTensor>; outputs: string[] }
  | { kind: 'release'; id: number };
export type FromSession =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'output'; id: number; data: Float32Array; dims: number[] }
  | { kind: 'outputs'; id: number; outputs: Record<string, NamedTensor>; inputs: Record<string, Float32Array> }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'released'; id: number };

/** Whether `a` is its buffer's only tenant, so the buffer can be transferred with it. */
export const ownsBuffer = (a: ArrayBufferView): boolean => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;

export interface SessionInit {
  model: Uint8Array;
  options: Ort.InferenceSession.SessionOptions;
}

export class SessionThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: FromSession) => void; reject: (e: Error) => void }>();
  private gone: Error | null = null;

  private constructor(private readonly worker: Worker) {
    // The thread keeps the process alive only while a request waits (an idle, undisposed session must not).
    worker.unref();
    worker.on('message', (m: FromSession) => {
      if (!('id' in m)) return;
      this.pending.get(m.id)?.resolve(m);
      this.pending.delete(m.id);
      if (!this.pending.size) worker.unref();
    });
    const fail = (e: Error) => {
      this.gone = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(new Error(`The ONNX Runtime thread failed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`The ONNX Runtime thread ended (exit code ${code}).`)));
  }

  /**
   * A session on its own thread; rejects with ONNX Runtime's own message when it refuses the model.
   * `init.model` may be handed over (its buffer detached): the caller must not use it afterwards.
   */
  static open(init: SessionInit): Promise<SessionThread> {
    // The model bytes move to the worker when they own their buffer (a VGG16 is half a gigabyte:
    // no second copy while the session is built); a view into a shared buffer is copied.
    const { model } = init;
    const worker = startWorker('onnx-session-worker', import.meta.url, 'session-worker.ts', { workerData: init, ...(ownsBuffer(model) ? { transferList: [model.buffer as ArrayBuffer] } : {}) });
    return new Promise((resolve, reject) => {
      const early = (e: Error) => reject(new Error(e.message));
      worker.once('error', early);
      worker.once('message', (m: FromSession) => {
        worker.off('error', early);
        if (m.kind === 'ready') resolve(new SessionThread(worker));
        else {
          reject(new Error(m.kind === 'failed' ? m.message : `unexpected first message ${m.kind}`));
          void worker.terminate();
        }
      });
    });
  }

  /**
   * Runs one batch. With `handOver`, `input`'s buffer moves to the session's thread (no copy) and
   * the caller must not use it afterwards; else the thread gets a copy.
   */
  async run(input: Float32Array, dims: number[], handOver = false): Promise<{ data: Float32Array; dims: number[] }> {
    const m = await this.request((id) => ({ kind: 'run', id, input, dims }), handOver && ownsBuffer(input) ? [input.buffer as ArrayBuffer] : []);
    if (m.kind === 'output') return { data: m.data, dims: m.dims };
    throw new Error(m.kind === 'error' ? m.message : `unexpected answer ${m.kind}`);
  }

  /**
   * Runs a model of several named inputs and outputs (a training step). The feeds' buffers move to
   * the session's thread (the caller must not use them afterwards): pass copies of what it keeps.
   * They come back after the run as `inputs` (each feed that owned its buffer), to be filled again.
   */
  async runNamed(feeds: Record<string, NamedTensor>, outputs: string[]): Promise<{ outputs: Record<string, NamedTensor>; inputs: Record<string, Float32Array> }> {
    const transfer = [...new Set(Object.values(feeds).flatMap((t) => (ownsBuffer(t.data) ? [t.data.buffer as ArrayBuffer] : [])))];
    const m = await this.request((id) => ({ kind: 'runNamed', id, feeds, outputs }), transfer);
    if (m.kind === 'outputs') return { outputs: m.outputs, inputs: m.inputs };
    throw new Error(m.kind === 'error' ? m.message : `unexpected answer ${m.kind}`);
  }

  async release(): Promise<void> {
    if (!this.gone) await this.request((id) => ({ kind: 'release', id }), []).catch(() => undefined);
    await this.worker.terminate();
  }

  private request(make: (id: number) => ToSession, transfer: ArrayBuffer[]): Promise<FromSession> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      try {
        this.worker.postMessage(make(id), transfer);
      } catch (e) {
        // Not sendable (a detached buffer, say): this request fails, the session stays usable.
        this.pending.delete(id);
        if (!this.pending.size) this.worker.unref();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }
}
