/**
 * The engine never outlives the process that started it. When the parent exits, the IPC channel
 * closes and 'disconnect' ends the engine, but only once its main thread gets to the event: a
 * main thread inside one long synchronous call (a model being built, a large TensorFlow.js op)
 * would run on as an orphan, for minutes. So a worker thread, with an event loop of its own,
 * polls the parent and kills this process when it is gone: reparented (the parent id changed, on
 * POSIX) or no longer running (Windows keeps the id).
 */
import { Worker } from 'node:worker_threads';

const POLL_MS = 250;

// Plain JavaScript, run as an eval'd worker: no file to bundle or transpile.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const gone = () => {
  if (process.ppid !== workerData.ppid) return true;
  try { process.kill(workerData.ppid, 0); return false; } catch (err) { return err.code === 'ESRCH'; }
};
setInterval(() => { if (gone()) process.kill(process.pid, 'SIGKILL'); }, workerData.pollMs);
`;

/** Starts the watchdog (it does not keep the process alive on its own). */
export function watchParent(): void {
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { ppid: process.ppid, pollMs: POLL_MS } });
  worker.unref();
}
