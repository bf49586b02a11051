/**
 * What the engine may spend on one model or one training step: most of the wasm heap on the wasm
 * backend (capped at 4 GB; an allocation past it aborts the module, which no catch can undo), else
 * half the machine's memory up to 16 GB. The host checks a model against the largest budget any
 * backend has (it does not know which one the engine will run); the engine against its own.
 */
import os from 'node:os';

const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** The engine's budget on `backend` (a TensorFlow.js backend name); without one, the largest of them. */
export function engineBudgetBytes(backend?: string): number {
  if (backend === 'wasm') return WASM_HEAP_BYTES * 0.75;
  return Math.min(os.totalmem() / 2, 16 * 1024 ** 3);
}
