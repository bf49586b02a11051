/**
 * A run's whole trained classifier (runDir/model: the pretrained part up to the cut, pooling and
 * the head, or the fine-tuned network) as one ONNX model file for export: the same fold plan up to
 * the softmax that prediction runs (BatchNorm folded, inference mode), emitted by the ONNX emitter.
 * Input "input" [batch, size, size, 3] float32 NHWC, preprocessed as the run's family expects;
 * output "output" [batch, classes], the class probabilities.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { folderIOHandler, readModelFolder } from '../../shared/node/model-folder';
import { ModelError } from '../../shared/model-errors';
import { buildFoldPlan, FoldPlanError } from './frozen/plan';
import { emitOnnx, OnnxUnsupportedError } from './onnx/emit';
import { EngineJobError } from './job-error';
import { readRunRecord } from './model-files';
import './keras/normalization'; // EfficientNet's saved classifiers contain Keras' Normalization

export interface OnnxExportResult {
  bytes: number;
  nodes: number;
  inputSize: number;
  classes: number;
}

/** Writes the classifier of the run in `runDir` as the ONNX file `out`. */
export async function exportClassifierOnnx(runDir: string, out: string): Promise<OnnxExportResult> {
  const run = await readRunRecord(runDir);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(folderIOHandler(await readModelFolder(path.join(runDir, 'model'))));
  } catch (e) {
    if (e instanceof ModelError) throw new EngineJobError('RUN_NOT_FOUND', `The run's saved classifier cannot be read: ${e.message}`);
    throw e;
  }
  try {
    const last = model.layers[model.layers.length - 1]?.name ?? '';
    const plan = buildFoldPlan(model, last);
    const bytes = emitOnnx(plan, { pool: 'none', inputSize: run.inputSize, description: `Transfer Studio classifier (${model.name}), ${run.classNames.length} classes, ${run.inputSize}x${run.inputSize}` });
    await fs.writeFile(out, bytes);
    return { bytes: bytes.length, nodes: plan.nodes.length, inputSize: run.inputSize, classes: run.classNames.length };
  } catch (e) {
    if (e instanceof OnnxUnsupportedError || e instanceof FoldPlanError) throw new EngineJobError('UNSUPPORTED_TOPOLOGY', `This classifier cannot be written as ONNX: ${e.message}.`);
    throw e;
  } finally {
    model.dispose();
  }
}
