/**
 * Picks the fastest TensorFlow.js backend this machine can run, in the order of DESIGN.md:
 * tfjs-node-gpu, tfjs-node (optional packages: their install downloads libtensorflow and may have
 * failed, so they are imported dynamically and any failure just moves on), then WebAssembly,
 * multi-threaded, then the pure JS cpu backend. Runs in the engine process only.
 *
 * Multi-threaded wasm in Node. Stock @tensorflow/tfjs-backend-wasm 4.22 is single-threaded in Node:
 *  1. it reports no thread support when IS_NODE;
 *  2. its pthread workers are started from blob: URLs, which worker_threads refuse (ERR_WORKER_PATH);
 *  3. the C++ side caps the thread pool at logical cores / 2 (1 on a 2-core machine), whatever
 *     setThreadsCount asks for.
 * patches/@tensorflow+tfjs-backend-wasm+4.22.0.patch (applied by patch-package at postinstall)
 * fixes 1 and 2 in dist/tf-backend-wasm.node.js (the package's Node entry): in Node it writes the
 * worker script and the unbundled Emscripten glue (wasm-out/) to real, content-addressed files in
 * the temp folder (temp name + rename) and starts the workers from those; and for 3 it lets the
 * environment variable TFJS_WASM_LOGICAL_CORES stand in for the core count the cap is computed
 * from. This module sets that variable to twice the wanted thread count and calls setThreadsCount.
 * If the patch is missing, wasm still starts single-threaded and BackendInfo says threads: 1.
 * TFJS_WASM_NODE_THREADS=0 turns threads off; ENGINE_BACKEND / ENGINE_THREADS force a choice
 * (benchmarks).
 *
 * Once wasm runs, registerWasmTrainingKernels() (./kernels) adds the convolution gradient kernels
 * stock wasm lacks and faster routes for its slow gradient paths, so convolutions train on wasm.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../../shared/domain';
import { registerWasmTrainingKernels } from './kernels';
import { initOnnxRuntime } from './onnx/runtime';

let current: BackendInfo | null = null;

export interface BackendOptions {
  /** Force one backend (benchmarks, tests); default: the best available. */
  prefer?: BackendInfo['name'];
  /** wasm threads; default: all logical cores. */
  threads?: number;
  /** Log lines (which backends failed and why). */
  log?: (message: string) => void;
}

async function tryNative(pkg: string, name: 'tensorflow', log: (m: string) => void): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ pkg);
    if (await tf.setBackend(name)) {
      await tf.ready();
      return true;
    }
    log(`${pkg} loaded but the "${name}" backend did not start`);
  } catch (e) {
    log(`${pkg} is not available (${(e as Error).message.split('\n')[0]})`);
  }
  return false;
}

async function tryWasm(threads: number, log: (m: string) => void): Promise<BackendInfo | null> {
  try {
    process.env['TFJS_WASM_LOGICAL_CORES'] = String(Math.max(1, threads) * 2);
    const wasm = await import('@tensorflow/tfjs-backend-wasm'); // registers the wasm flags
    if (threads <= 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(Math.max(1, threads));
    if (!(await tf.setBackend('wasm'))) {
      log('the wasm backend did not start');
      return null;
    }
    await tf.ready();
    registerWasmTrainingKernels();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    return { name: 'wasm', simd, threads: wasm.getThreadsCount() };
  } catch (e) {
    log(`wasm backend failed: ${(e as Error).message}`);
    return null;
  }
}

/**
 * Start the best training backend once per process, and ONNX Runtime for the frozen forward passes
 * (./onnx/runtime: `inference` says which provider, or why TensorFlow.js runs them); later calls
 * return the same info.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  if (current) return current;
  const info = await initTraining(options);
  return (current = { ...info, inference: await initOnnxRuntime(options.log) });
}

async function initTraining(options: BackendOptions): Promise<BackendInfo> {
  const log = options.log ?? (() => undefined);
  const envPrefer = process.env['ENGINE_BACKEND'] as BackendInfo['name'] | undefined;
  const prefer = options.prefer ?? envPrefer;
  const envThreads = Number(process.env['ENGINE_THREADS']);
  const threads = options.threads ?? (envThreads > 0 ? envThreads : (os.availableParallelism?.() ?? os.cpus().length));

  if (!prefer || prefer === 'tensorflow-gpu') {
    if (await tryNative('@tensorflow/tfjs-node-gpu', 'tensorflow', log)) {
      return { name: 'tensorflow-gpu', simd: true, threads };
    }
  }
  if (!prefer || prefer === 'tensorflow') {
    if (await tryNative('@tensorflow/tfjs-node', 'tensorflow', log)) {
      return { name: 'tensorflow', simd: true, threads };
    }
  }
  if (!prefer || prefer === 'wasm') {
    const info = await tryWasm(threads, log);
    if (info) return info;
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', simd: false, threads: 1 };
}

export function backendInfo(): BackendInfo | null {
  return current;
}
