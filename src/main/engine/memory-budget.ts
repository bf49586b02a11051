/**
 * Batch size against memory. The wasm heap is capped at 4 GB and an allocation past it aborts the
 * module (or hangs its threads), which no catch can undo: so the batch size is chosen before the
 * first step from an estimate of the training step's memory (activations of the trainable layers,
 * kept for the backward pass, plus their gradients), and halved until it fits the budget. A step
 * that still fails with an allocation error halves the batch again (backends that throw cleanly).
 */
import type { BackendInfo } from '../../shared/domain';
import { engineBudgetBytes } from '../../shared/node/memory-budget';

/**
 * Float32 tensors alive per activation element in one training step (conv out, BatchNorm's affine
 * ops, the activation, their gradients in the backward pass). MobileNet v1 at 224 has 3.9M
 * activation elements per image at alpha 0.25, 11.5M at 0.75, about 15M at 1.0. Measured on wasm,
 * scenario 4, alpha 0.75: peak RSS 1.13 GB at batch 4 and 3.03 GB at batch 16, i.e. 158 MB per
 * image = 3.4 tensors per element; 4.5 keeps a third in reserve, because an allocation past the
 * 4 GB heap aborts the module and no catch can undo that.
 */
const LIVE_TENSORS_PER_ELEMENT = 4.5;

/**
 * The same for an ONNX Runtime training graph (onnx/train/train-graph.ts): its memory planner keeps
 * the forward's outputs (not relu6's pre-activations: its derivative reads the output) and reuses
 * the backward's buffers. Measured, scenario 4, MobileNet v1 0.25 at 224, batch 32: peak RSS 0.81 GB
 * for 3.9M elements per image (about 1.6 tensors per element with the process' own); 3 leaves room
 * for networks whose backward keeps more (swish and the other activations keep their input).
 */
export const ORT_TENSORS_PER_ELEMENT = 3;

/** Bytes one image costs in a training step whose trainable layers produce `elements` values per image. */
export function stepBytesPerImage(elements: number, inputElements: number, tensorsPerElement = LIVE_TENSORS_PER_ELEMENT): number {
  return 4 * (elements * tensorsPerElement + inputElements * 2);
}

/** What the engine may spend on one step: most of the wasm heap, or half the machine's memory (also without a backend: ONNX Runtime's native memory). */
export function defaultBudgetBytes(backend?: BackendInfo['name']): number {
  return engineBudgetBytes(backend);
}

export interface BatchFit {
  batchSize: number;
  /** Set when the batch was lowered: the message for the run log. */
  message: string | null;
}

/** The largest batch <= requested (halving) whose estimate fits the budget; batch 1 must fit, else an error message. */
export function fitBatchSize(requested: number, bytesPerImage: number, budgetBytes: number, fixedBytes = 0): BatchFit | { error: string } {
  const gb = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GB`;
  let bs = requested;
  while (bs > 1 && fixedBytes + bs * bytesPerImage > budgetBytes) bs = Math.floor(bs / 2);
  if (fixedBytes + bs * bytesPerImage > budgetBytes) {
    return { error: `One image needs about ${gb(fixedBytes + bytesPerImage)} to train, more than the ${gb(budgetBytes)} this engine may use: freeze more layers (scenario 2) or use a smaller model.` };
  }
  if (bs === requested) return { batchSize: bs, message: null };
  return {
    batchSize: bs,
    message: `Batch size lowered from ${requested} to ${bs}: a training step at batch ${requested} would need about ${gb(fixedBytes + requested * bytesPerImage)}, more than the ${gb(budgetBytes)} available.`,
  };
}

/** Errors that mean "this batch did not fit" (thrown by backends that fail cleanly). */
export function isOutOfMemory(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /out of memory|memory access out of bounds|Cannot allocate|failed to allocate|Array buffer allocation failed|Invalid typed array length|RangeError: .*memory/i.test(m);
}
