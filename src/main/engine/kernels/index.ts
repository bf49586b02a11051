/**
 * Training kernels for the wasm backend: registerWasmTrainingKernels() registers the three
 * convolution gradient kernels stock @tensorflow/tfjs-backend-wasm 4.22 lacks
 * (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput)
 * and wraps three slow stock kernels with fast routes (fast-paths.ts). After it, tf.grad /
 * model.fit / optimizer.minimize through conv2d, depthwiseConv2d and their fused forms work on wasm.
 * Call once after the wasm backend is set up (backend.ts does); idempotent; no-op if wasm's
 * kernels are not registered (wasm package not loaded).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilter } from './conv2d-backprop-filter';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './depthwise-backprop';
import { batchMatMulTransposeFirst, conv2dBackpropInputPointwise, tileAsBroadcast } from './fast-paths';

const BACKEND = 'wasm';
let registered = false;

/** Replace (or add) a kernel for wasm, keeping the stock setupFunc so a re-initialised backend still binds it. */
function put(kernelName: string, kernelFunc: tf.KernelFunc, stock?: tf.KernelConfig): void {
  if (tf.getKernel(kernelName, BACKEND)) tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, ...(stock?.setupFunc ? { setupFunc: stock.setupFunc } : {}) });
}

function wrap(kernelName: string, fast: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const stock = tf.getKernel(kernelName, BACKEND);
  if (!stock) throw new Error(`wasm training kernels: the wasm backend has no '${kernelName}' kernel to wrap`);
  put(kernelName, fast(stock.kernelFunc), stock);
}

/** Returns false when the wasm backend's kernels are not registered (nothing to extend). */
export function registerWasmTrainingKernels(): boolean {
  if (registered) return true;
  if (!tf.getKernel('Conv2D', BACKEND)) return false;
  put('Conv2DBackpropFilter', conv2dBackpropFilter);
  put('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter);
  put('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput);
  wrap('BatchMatMul', batchMatMulTransposeFirst);
  wrap('Conv2DBackpropInput', conv2dBackpropInputPointwise);
  wrap('Tile', tileAsBroadcast);
  registered = true;
  return true;
}
