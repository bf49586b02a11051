/**
 * Entry of the engine process: the only process that loads TensorFlow.js (DESIGN.md). Started by
 * the host as a forked Node child (process.send / process.on('message')), as an Electron
 * utilityProcess (process.parentPort), or with --stdio on a server (`transfer-studio engine
 * --stdio` over ssh: frames on stdin/stdout); speaks the protocol in protocol.ts (transport.ts).
 * Calls run one at a time in arrival order (a `beside` method at once); a 'cancel' aborts the
 * AbortSignal of its call. When the host goes away the process exits (the wasm thread pool would
 * otherwise keep it alive): on 'disconnect' or stdin's end, or through the watchdog thread (a
 * forked or utility engine) when the main thread is too busy to see that event.
 *
 * With --stdio the engine serves a host on another machine: it reads and writes only its cache
 * folder (remote-cache.ts; TRANSFER_STUDIO_ENGINE_CACHE, limit TRANSFER_STUDIO_ENGINE_CACHE_BYTES),
 * every path of a call is resolved there or refused, and its 'ready' says its version
 * (TRANSFER_STUDIO_ENGINE_VERSION, given by the command that starts it; tests make a server report
 * another with TRANSFER_STUDIO_TEST_ENGINE_VERSION) and its machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import { initBackend } from './backend';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../../shared/domain';
import { ModelError } from '../../shared/model-errors';
import { inspectModel } from './model-layers';
import { classify } from './classify';
import { EngineJobError } from './job-error';
import { getModel } from './model-cache';
import { predict } from './predict';
import { runScenario1 } from './scenario1';
import { planTraining } from './train-job';
import { runFinetune } from './scenario-finetune';
import { exportClassifierOnnx } from './classifier-onnx';
import { estimateSimilarity } from './similarity';
import { gradCam } from './grad-cam';
import { embeddingMapOfSource, labelNextRetrain, neighbours, outOfSample } from './audit-methods';
import { engineTransport } from './transport';
import { setFileWait } from './preprocess';
import { RemoteCache } from './remote-cache';
import { watchParent } from './parent-watchdog';
import {
  engineMethods,
  isEngineMethod,
  mapParamPaths,
  type EngineMachine,
  type EngineErrorData,
  type EngineEvent,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type EngineToHost,
  type HostToEngine,
} from './protocol';

const transport = engineTransport();
const send = (msg: EngineToHost): void => transport.send(msg);

/** Bytes a server engine's disk must have free to start (runs, checkpoints and caches need room). */
const MIN_FREE_DISK_BYTES = 200 * 1024 * 1024;
const DEFAULT_CACHE_LIMIT_BYTES = 20 * 1024 ** 3;

/** A server engine's cache, or null for an engine of this machine; exits with one line when it cannot serve. */
function openServerCache(): RemoteCache | null {
  if (transport.kind !== 'stdio') return null;
  const root = process.env['TRANSFER_STUDIO_ENGINE_CACHE'];
  const fail = (line: string): never => {
    process.stderr.write(`transfer-studio engine: ${line}\n`);
    process.exit(3);
  };
  if (!root) return fail('TRANSFER_STUDIO_ENGINE_CACHE is not set (start the engine with `transfer-studio engine --stdio`).');
  const limit = Number(process.env['TRANSFER_STUDIO_ENGINE_CACHE_BYTES'] || DEFAULT_CACHE_LIMIT_BYTES);
  try {
    fs.mkdirSync(root, { recursive: true });
    const st = fs.statfsSync(root);
    const free = st.bavail * st.bsize;
    const needed = Number(process.env['TRANSFER_STUDIO_ENGINE_MIN_FREE_BYTES'] || MIN_FREE_DISK_BYTES);
    if (free < needed) fail(`not enough disk space on the server: ${Math.round(free / 2 ** 20)} MB free in ${root}, at least ${Math.round(needed / 2 ** 20)} MB needed.`);
    return new RemoteCache(root, limit, (line) => process.stderr.write(`${line}\n`));
  } catch (e) {
    return fail(`cannot use the cache folder ${root}: ${(e as Error).message}`);
  }
}
const serverCache = openServerCache();
if (serverCache) setFileWait((file) => serverCache.arrival(file));

function machine(): EngineMachine {
  let freeDiskBytes: number | undefined;
  if (serverCache) {
    const st = fs.statfsSync(serverCache.root);
    freeDiskBytes = st.bavail * st.bsize;
  }
  return {
    hostname: os.hostname(),
    platform: process.platform,
    arch: process.arch,
    cpus: os.cpus().length,
    totalMemoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    ...(freeDiskBytes === undefined ? {} : { freeDiskBytes }),
  };
}

/** The server cache, for its own methods; an engine of this machine has none. */
function cache(): RemoteCache {
  if (!serverCache) throw new EngineJobError('UNKNOWN_METHOD', 'Only an engine started with --stdio (a server engine) has a cache.');
  return serverCache;
}

function toErrorData(e: unknown): EngineErrorData {
  if (e instanceof ModelError) return { code: e.code, message: e.message, details: e.details };
  if (e instanceof EngineJobError) return { code: e.code, message: e.message, ...(e.field === undefined ? {} : { field: e.field }) };
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
  planTraining: async ({ modelDir, config }) => planTraining(inspectModel(await getModel(modelDir, { evict: false })), config),
  classify: ({ modelDir, imagePaths, topK, labelsPath }) => classify(modelDir, imagePaths, topK, labelsPath),
  train: async ({ job }, { signal, emit, backend }) => {
    // Every run's log says what it runs on and how that was chosen, whichever call started the engine.
    emit({ type: 'backend', backend });
    for (const message of backendLog) emit({ type: 'log', message });
    // A server engine waits for the one whose connection dropped to leave the run folder.
    const release = serverCache ? await serverCache.holdRun(job.runDir) : () => undefined;
    try {
      return await (job.config.scenario === 1 ? runScenario1(job, backend, emit, signal) : runFinetune(job, backend, emit, signal));
    } finally {
      release();
    }
  },
  estimateSimilarity: (params, { signal, emit }) => estimateSimilarity(params, emit, signal),
  predict: ({ runDir, items, cacheDir, views }, { signal, emit }) => predict(runDir, items, cacheDir, signal, emit, views),
  gradCam: (params, { signal, emit }) => gradCam(params, signal, emit),
  exportOnnx: ({ runDir, out }) => exportClassifierOnnx(runDir, out),
  outOfSample: (params, { signal, emit }) => outOfSample(params, signal, emit),
  featureNeighbours: (params, { signal, emit }) => neighbours(params, signal, emit),
  embeddingMap: (params, { signal, emit }) => embeddingMapOfSource(params, signal, emit),
  labelNext: (params, { signal, emit }) => labelNextRetrain(params, signal, emit),
  cacheMissing: (params) => cache().missing(params),
  cachePutBlobs: (params) => cache().putBlobs(params),
  cachePutFile: (params) => cache().putFile(params),
  cacheCommit: (params) => cache().commit(params),
  cacheList: (params) => cache().list(params),
  cacheRead: (params) => cache().read(params),
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
  // A server engine resolves every path inside its cache (or refuses the call) before it runs.
  const local = serverCache ? mapParamPaths(method, params, (p, role) => serverCache.resolve(p, role)) : params;
  return handlers[method](local, ctx);
}

const controllers = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

function onMessage(raw: HostToEngine): void {
  const msg = raw;
  if (!msg || typeof msg !== 'object') return;
  if (msg.kind === 'cancel') {
    controllers.get(msg.id)?.abort();
    return;
  }
  if (msg.kind !== 'call') return;
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  const run = async (): Promise<void> => {
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
  };
  if (isEngineMethod(msg.method) && engineMethods[msg.method].beside) void run();
  else queue = queue.then(run);
}

/** How long the calls of a host that went away may take to stop at a safe point (a checkpoint) before the process exits. */
const CLOSE_GRACE_MS = 10_000;

transport.onMessage(onMessage);
transport.onClose((reason) => {
  if (transport.kind === 'ipc') process.exit(0);
  // A server engine whose connection dropped: its run stops at the next batch and keeps its checkpoint.
  process.stderr.write(`transfer-studio engine: ${reason}; stopping.\n`);
  for (const c of controllers.values()) c.abort();
  serverCache?.giveUpWaiting();
  setTimeout(() => process.exit(0), CLOSE_GRACE_MS).unref();
  void queue.then(() => process.exit(0));
});
// A server engine stops at its next safe point when its connection drops (a checkpoint kept), so
// only a forked or utility engine has the watchdog that kills it when its parent is gone.
if (transport.kind !== 'stdio') watchParent();
const version = process.env['TRANSFER_STUDIO_TEST_ENGINE_VERSION'] || process.env['TRANSFER_STUDIO_ENGINE_VERSION'];
send({ kind: 'ready', pid: process.pid, ...(version ? { version } : {}), machine: machine() });
