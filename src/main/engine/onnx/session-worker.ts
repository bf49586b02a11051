/** The worker side of session-thread.ts: owns one InferenceSession and answers run requests in order. */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { ownsBuffer, type FromSession, type NamedTensor, type SessionInit, type ToSession } from './session-thread';

const port = parentPort;
if (!port) throw new Error('session-worker.ts runs as a worker thread (session-thread.ts starts it).');
const init = workerData as SessionInit;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

try {
  const session = await ort.InferenceSession.create(init.model, init.options);
  port.on('message', (m: ToSession) => {
    if (m.kind === 'release') {
      void session.release().finally(() => port.postMessage({ kind: 'released', id: m.id } satisfies FromSession));
      return;
    }
    if (m.kind === 'runNamed') {
      let run: Promise<ort.InferenceSession.ReturnType>;
      try {
        run = session.run(Object.fromEntries(Object.entries(m.feeds).map(([name, t]) => [name, new ort.Tensor('float32', t.data, t.dims)])), m.outputs);
      } catch (e) {
        port.postMessage({ kind: 'error', id: m.id, message: message(e) } satisfies FromSession);
        return;
      }
      void run.then(
        (r) => {
          const outputs: Record<string, NamedTensor> = {};
          for (const name of m.outputs) {
            const t = r[name] as ort.Tensor;
            const data = t.data as Float32Array;
            outputs[name] = { data: ownsBuffer(data) ? data : data.slice(), dims: t.dims.map(Number) };
          }
          // The feeds go back too: the caller refills them (a training batch is 19 MB of fresh pages otherwise).
          const inputs = Object.fromEntries(Object.entries(m.feeds).flatMap(([name, t]) => (ownsBuffer(t.data) ? [[name, t.data]] : [])));
          const transfer = [...new Set([...Object.values(outputs).map((o) => o.data), ...Object.values(inputs)].map((d) => d.buffer as ArrayBuffer))];
          port.postMessage({ kind: 'outputs', id: m.id, outputs, inputs } satisfies FromSession, transfer);
        },
        (e: unknown) => port.postMessage({ kind: 'error', id: m.id, message: message(e) } satisfies FromSession),
      );
      return;
    }
    try {
      const out = session.run({ input: new ort.Tensor('float32', m.input, m.dims) });
      void out.then(
        (r) => {
          const t = r['output'] as ort.Tensor;
          const out = t.data as Float32Array;
          const data = ownsBuffer(out) ? out : out.slice(); // a view into a shared buffer: copied, then moved
          port.postMessage({ kind: 'output', id: m.id, data, dims: t.dims.map(Number) } satisfies FromSession, [data.buffer as ArrayBuffer]);
        },
        (e: unknown) => port.postMessage({ kind: 'error', id: m.id, message: message(e) } satisfies FromSession),
      );
    } catch (e) {
      port.postMessage({ kind: 'error', id: m.id, message: message(e) } satisfies FromSession);
    }
  });
  port.postMessage({ kind: 'ready' } satisfies FromSession);
} catch (e) {
  port.postMessage({ kind: 'failed', message: message(e) } satisfies FromSession);
}
