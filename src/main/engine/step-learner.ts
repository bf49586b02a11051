/**
 * Scenarios 2-4's choice of what runs the training steps: ONNX Runtime (learner-onnx.ts) when it is
 * loaded and every layer of the trainable part has a training graph, else TensorFlow.js with the
 * reason (the run's log and record say it). The steps run on the provider the frozen part runs on,
 * with its intra-op threads (ENGINE_THREADS, default every core).
 */
import type * as tf from '@tensorflow/tfjs';
import type { InferenceInfo, TrainConfig } from '../../shared/domain';
import type { BatchSource, PreparedBatch } from './finetune-data';
import { ORT_TENSORS_PER_ELEMENT, stepBytesPerImage } from './memory-budget';
import { OnnxUnsupportedError } from './onnx/emit';
import { initOnnxRuntime, onnxRuntime } from './onnx/runtime';
import type { Learner } from './learner';
import { OnnxLearner } from './learner-onnx';
import { activationElements, buildTrainPlan } from './onnx/train/train-plan';

/** One training step and validation batch, whichever runtime runs them. */
export interface StepLearner {
  step(b: PreparedBatch, dropoutSeed: number): Promise<{ loss: number; correct: number }>;
  evaluate(b: PreparedBatch): Promise<{ lossSum: number; predicted: Int32Array }>;
  /** Clears what a failed step left behind. */
  abandonStep(): void;
  /** The trained weights into the model's variables (before it is saved). */
  writeBack(): void;
  dispose(): void;
}

export interface OnnxTrainerOptions {
  from: string | null;
  to: string;
  /** One row of the part's input, NHWC. */
  rowShape: number[];
  bnMode: 'inference' | 'batch';
  statsMomentum?: number;
}

export interface OnnxTrainer {
  info: InferenceInfo;
  /** The memory estimate of one image in a step (the batch is fitted with it). */
  bytesPerImage: number;
  /** `recycle` takes each batch's buffer back once its step is done (BatchSource.recycle). */
  learner(args: { head: tf.Sequential; config: TrainConfig; netLr: number; classWeights: Float32Array | null; batchSize: number; recycle?: (spent: Float32Array) => void }): Promise<StepLearner | { reason: string }>;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/** The ONNX Runtime trainer for the part `options` of `model`, or why the steps run on TensorFlow.js. */
export async function onnxTrainer(model: tf.LayersModel, options: OnnxTrainerOptions): Promise<OnnxTrainer | { reason: string }> {
  const info = await initOnnxRuntime();
  const rt = await onnxRuntime();
  if (!rt) return { reason: info.reason ?? 'onnxruntime is not available' };
  let plan;
  try {
    plan = buildTrainPlan(model, { from: options.from, to: options.to, inputShape: options.rowShape, mode: options.bnMode, ...(options.statsMomentum !== undefined ? { statsMomentum: options.statsMomentum } : {}) });
  } catch (e) {
    if (e instanceof OnnxUnsupportedError) return { reason: `no ONNX training graph for this network (${e.message})` };
    throw e;
  }
  const inputElements = options.rowShape.reduce((a, b) => a * b, 1);
  return {
    info,
    bytesPerImage: stepBytesPerImage(activationElements(plan), inputElements, ORT_TENSORS_PER_ELEMENT),
    learner: async ({ head, config, netLr, classWeights, batchSize, recycle }) => {
      let learner: OnnxLearner;
      try {
        learner = await OnnxLearner.create({ provider: rt.provider, threads: rt.threads, plan, head, config, netLr, classWeights, bnMode: options.bnMode, batchSize, rowShape: options.rowShape });
      } catch (e) {
        if (e instanceof OnnxUnsupportedError) return { reason: `no ONNX training graph for this network (${e.message})` };
        return { reason: `ONNX Runtime refused the training graph (${firstLine(e)})` };
      }
      return {
        step: async (b, seed) => {
          const { loss, correct, spent } = await learner.step(b.data, b.y, seed);
          if (spent) recycle?.(spent);
          return { loss, correct };
        },
        evaluate: (b) => learner.evaluate(b.data, b.y),
        abandonStep: () => learner.abandonStep(),
        writeBack: () => learner.writeBack(),
        dispose: () => learner.dispose(),
      };
    },
  };
}

/** TensorFlow.js' Learner behind the same interface (its optimisers update the model's own variables). */
export function tfjsStepLearner(learner: Learner, source: BatchSource): StepLearner {
  const withTensor = <T>(b: PreparedBatch, f: (x: tf.Tensor) => T): T => {
    const x = source.tensor(b);
    try {
      return f(x);
    } finally {
      x.dispose();
    }
  };
  return {
    step: (b, seed) => Promise.resolve(withTensor(b, (x) => learner.step(x, b.y, seed))),
    evaluate: (b) => Promise.resolve(withTensor(b, (x) => learner.evaluate(x, b.y))),
    abandonStep: () => learner.abandonStep(),
    writeBack: () => undefined,
    dispose: () => learner.dispose(),
  };
}
