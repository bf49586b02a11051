/**
 * Entry of the engine process: the only process that loads TensorFlow.js (DESIGN.md). Started by
 * the host as a forked Node child (process.send / process.on('message')) or as an Electron
 * utilityProcess (process.parentPort); speaks the protocol in protocol.ts. Calls run one at a
 * time in arrival order; a 'cancel' aborts the AbortSignal of its call. When the parent goes
 * away the process exits (the wasm thread pool would otherwise keep it alive): on 'disconnect',
 * or through the watchdog thread when the main thread is too busy to see that event.
 */
import { initBackend } from './backend';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../../shared/domain';
import { ModelError } from '../../shared/model-errors';
import { inspectModel } from './model-layers';
import { classify, EngineJobError, getModel, predict, runScenario1 } from './scenario1';
import { runFinetune } from './scenario-finetune';
import { exportClassifierOnnx } from './classifier-onnx';
import { estimateSimilarity } from './similarity';
import { gradCam } from './grad-cam';
import { embeddingMapOfSource, labelNextRetrain, neighbours, outOfSample } from './audit-methods';
import { watchParent } from './parent-watchdog';
import {
  engineMethods,
  isEngineMethod,
  type EngineErrorData,
  type EngineEvent,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type EngineToHost,
  type HostToEngine,
} from './protocol';

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

/** What a handler gets besides its params: the call's signal, its event stream, the backend. */
interface CallContext {
  signal: AbortSignal;
  emit(event: EngineEvent): void;
  backend: BackendInfo;
}

type Handlers = { [M in EngineMethod]: (params: EngineParams<M>, ctx: CallContext) => Promise<EngineResult<M>> | EngineResult<M> };

const handlers: Handlers = {
  backend: (_params, { backend }) => backend,
  inspectModel: async ({ modelDir }) => inspectModel(await getModel(modelDir)),
  classify: ({ modelDir, imagePaths, topK, labelsPath }) => classify(modelDir, imagePaths, topK, labelsPath),
  train: ({ job }, { signal, emit, backend }) => {
    // Every run's log says what it runs on and how that was chosen, whichever call started the engine.
    emit({ type: 'backend', backend });
    for (const message of backendLog) emit({ type: 'log', message });
    return job.config.scenario === 1 ? runScenario1(job, backend, emit, signal) : runFinetune(job, backend, emit, signal);
  },
  estimateSimilarity: (params, { signal, emit }) => estimateSimilarity(params, emit, signal),
  predict: ({ runDir, items, cacheDir }, { signal, emit }) => predict(runDir, items, cacheDir, signal, emit),
  gradCam: (params, { signal, emit }) => gradCam(params, signal, emit),
  exportOnnx: ({ runDir, out }) => exportClassifierOnnx(runDir, out),
  outOfSample: (params, { signal, emit }) => outOfSample(params, signal, emit),
  featureNeighbours: (params, { signal, emit }) => neighbours(params, signal, emit),
  embeddingMap: (params, { signal, emit }) => embeddingMapOfSource(params, signal, emit),
  labelNext: (params, { signal, emit }) => labelNextRetrain(params, signal, emit),
  stats: () => {
    const mem = tf.memory();
    return {
      pid: process.pid,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      rssBytes: process.memoryUsage().rss,
      tensors: mem.numTensors,
      tensorBytes: mem.numBytes,
    };
  },
};

/** The backend's selection: the fallbacks tried (why each failed) and what was chosen. */
const backendLog: string[] = [];
let backendPromise: Promise<BackendInfo> | null = null;
const backend = (): Promise<BackendInfo> =>
  (backendPromise ??= initBackend({ log: (m) => backendLog.push(m) }).then((info) => {
    backendLog.push(`Backend: TensorFlow.js ${info.name}${info.simd ? ' with SIMD' : ''}, ${info.threads} thread${info.threads === 1 ? '' : 's'}.`);
    return info;
  }));

function dispatch<M extends EngineMethod>(method: M, params: EngineParams<M>, ctx: CallContext): Promise<EngineResult<M>> | EngineResult<M> {
  return handlers[method](params, ctx);
}

const controllers = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

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
      if (!isEngineMethod(msg.method)) throw new EngineJobError('UNKNOWN_METHOD', `The engine has no method ${JSON.stringify(msg.method)}.`);
      if (controller.signal.aborted && !engineMethods[msg.method].cancelResolves) {
        throw new EngineJobError('CANCELLED', 'Cancelled before it started.');
      }
      const ctx: CallContext = { signal: controller.signal, emit: (event) => send({ kind: 'event', id: msg.id, event }), backend: await backend() };
      const result = await dispatch(msg.method, msg.params, ctx);
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
watchParent();
send({ kind: 'ready', pid: process.pid });
