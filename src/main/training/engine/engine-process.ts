/**
 * Entry of the engine process: the only process that loads TensorFlow.js (DESIGN.md). Started by
 * the host as a forked Node child (process.send / process.on('message')) or as an Electron
 * utilityProcess (process.parentPort); speaks the protocol in protocol.ts. Calls run one at a
 * time in arrival order; a 'cancel' aborts the AbortSignal of its call. When the parent goes
 * away the process exits (the wasm thread pool would otherwise keep it alive).
 */
import { initBackend } from './backend';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../models/errors';
import { inspectModel } from './model-layers';
import { classify, EngineJobError, getModel, predict, runScenario1 } from './scenario1';
import { runFinetune } from './scenario-finetune';
import { estimateSimilarity } from './similarity';
import type { EngineErrorData, EngineEvent, EngineToHost, HostToEngine } from '../protocol';

interface ParentPort {
  postMessage(msg: unknown): void;
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
}

// Electron's utilityProcess exposes process.parentPort; plain Node children have process.send.
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function send(msg: EngineToHost): void {
  if (parentPort) parentPort.postMessage(msg);
  else if (process.send) process.send(msg);
}

function toErrorData(e: unknown): EngineErrorData {
  if (e instanceof ModelError) return { code: e.code, message: e.message, details: e.details };
  if (e instanceof EngineJobError) return { code: e.code, message: e.message };
  const err = e as Error;
  return { code: 'ENGINE_ERROR', message: err?.message ?? String(e) };
}

const controllers = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();
let backendPromise: ReturnType<typeof initBackend> | null = null;
const backend = () =>
  (backendPromise ??= initBackend({ log: (m) => send({ kind: 'event', id: 0, event: { type: 'log', message: m } }) }));

async function run(msg: Extract<HostToEngine, { kind: 'call' }>, signal: AbortSignal): Promise<unknown> {
  const emit = (event: EngineEvent) => send({ kind: 'event', id: msg.id, event });
  const info = await backend();
  switch (msg.method) {
    case 'backend':
      return info;
    case 'inspectModel':
      return inspectModel(await getModel(msg.params.modelDir));
    case 'classify':
      return classify(msg.params.modelDir, msg.params.imagePaths, msg.params.topK, msg.params.labelsPath);
    case 'trainScenario1':
      return runScenario1(msg.params.job, info, emit, signal);
    case 'train':
      return msg.params.job.config.scenario === 1 ? runScenario1(msg.params.job, info, emit, signal) : runFinetune(msg.params.job, info, emit, signal);
    case 'estimateSimilarity':
      return estimateSimilarity(msg.params, emit, signal);
    case 'predict':
      return predict(msg.params.runDir, msg.params.items, msg.params.cacheDir, signal, emit);
    case 'stats': {
      const mem = tf.memory();
      return {
        pid: process.pid,
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        rssBytes: process.memoryUsage().rss,
        tensors: mem.numTensors,
        tensorBytes: mem.numBytes,
      };
    }
    case 'crash':
      process.exit(msg.params.code);
  }
  throw new EngineJobError('UNKNOWN_METHOD', `Unknown engine method.`);
}

function onMessage(raw: unknown): void {
  const msg = raw as HostToEngine;
  if (!msg || typeof msg !== 'object') return;
  if (msg.kind === 'cancel') {
    controllers.get(msg.id)?.abort();
    return;
  }
  if (msg.kind !== 'call') return;
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  queue = queue.then(async () => {
    try {
      if (controller.signal.aborted && msg.method !== 'trainScenario1' && msg.method !== 'train') {
        throw new EngineJobError('CANCELLED', 'Cancelled before it started.');
      }
      const result = await run(msg, controller.signal);
      send({ kind: 'result', id: msg.id, result });
    } catch (e) {
      send({ kind: 'error', id: msg.id, error: toErrorData(e) });
    } finally {
      controllers.delete(msg.id);
    }
  });
}

if (parentPort) parentPort.on('message', (e) => onMessage(e.data));
else process.on('message', onMessage);
process.on('disconnect', () => process.exit(0));
send({ kind: 'ready', pid: process.pid });
