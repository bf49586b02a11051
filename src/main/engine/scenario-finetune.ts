/**
 * Scenarios 2, 3 and 4 in the engine process: the job's train plan (planTraining) says what is
 * frozen; the network is cloned from the pretrained one (pretrained weights for 2 and 4, He
 * initialisation for 3) so the cached pretrained model is never changed; the frozen part runs as
 * the folded inference graph (its weights and BatchNorm statistics cannot move); the trainable
 * part (trainable-net.ts) and a new head train in the shared epoch loop (epoch-loop.ts) with two
 * learning rates (the pretrained layers' lrPretrained, default lr/10, and the head's lr).
 *
 * Three parts: the network (setUpNetwork), the data (finetune-data.ts: activation cache or the
 * full forward, batches prepared while the current one trains) and the loop. The batch size is
 * fitted to the memory budget before the first step. The best epoch (validation loss) is saved to
 * runDir/model + run.json when it happens, so a cancelled or crashed run keeps its best model;
 * every epoch ends with a checkpoint (checkpoint.ts) that job.resume continues from.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { inferenceLabel, type BackendInfo, type InferenceInfo, type TrainResult } from '../../shared/domain';
import type { RunRecord, RunRecordFields } from '../../shared/run-record';
import type { TrainPlan } from '../../shared/train-plan';
import { checkpointSettings, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { runEpochs, type EpochTrainer, type LoopState, type Validation } from './epoch-loop';
import { prepareFinetuneData, type PreparedBatch } from './finetune-data';
import { frozenForward, type FrozenForward } from './frozen-forward';
import { buildHead, classWeights, majorityBaseline } from './head';
import { EngineJobError } from './job-error';
import { Learner } from './learner';
import { defaultBudgetBytes, fitBatchSize, stepBytesPerImage } from './memory-budget';
import { onnxTrainer, tfjsStepLearner, type StepLearner } from './step-learner';
import { getModel, inputSizeOf } from './model-cache';
import { classifierModel, disposeWeights, recordOfJob, saveLayersModel, writeRunRecord } from './model-files';
import { requireLayer } from './model-layers';
import type { EngineEvent, TrainItem, TrainJob } from './protocol';
import { validateJob } from './train-job';
import { heInitialise, NotACutError, trainableNet, UnsupportedLayerError, type TrainableNet } from './trainable-net';

/**
 * A fresh copy of the architecture with its own variables; pretrained weights copied unless He
 * init, which still keeps the fixed input normalisation (Keras' Normalization: ImageNet's channel
 * statistics, part of the preprocessing rather than of what the network learnt).
 */
export async function cloneNetwork(model: tf.LayersModel, init: TrainPlan['init']): Promise<tf.LayersModel> {
  const topology = model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'];
  const clone = (await tf.models.modelFromJSON({ modelTopology: topology })) as tf.LayersModel;
  if (init === 'pretrained') clone.setWeights(model.getWeights());
  else for (const l of model.layers) if (l.getClassName() === 'Normalization') clone.getLayer(l.name).setWeights(l.getWeights());
  return clone;
}

/** Values per image the trainable layers produce at this input size (for the memory estimate). */
function activationElements(layers: readonly tf.layers.Layer[], declaredSize: number, size: number): number {
  const scale = (size / declaredSize) ** 2;
  let total = 0;
  for (const l of layers) {
    const s = l.outputShape;
    const dims = ((Array.isArray(s[0]) ? s[0] : s) as (number | null)[]).slice(1).map((d) => d ?? 1);
    total += dims.reduce((a, b) => a * b, 1) * (dims.length === 3 ? scale : 1);
  }
  return Math.ceil(total);
}

/** A backend without a gradient kernel training needs: a clear job error instead of tfjs' internal message. */
function cannotTrainError(e: unknown, backend: BackendInfo): EngineJobError | null {
  const kernel = /Kernel '(\w+)' not registered for backend/.exec(e instanceof Error ? e.message : '')?.[1];
  if (!kernel) return null;
  return new EngineJobError(
    'BACKEND_CANNOT_TRAIN',
    `The ${backend.name} backend has no ${kernel} kernel, which training these layers needs. Scenario 1 (feature extraction) works on it; scenarios 2-4 need a backend with convolution gradients.`,
  );
}

/** What trains and what stays frozen, built from the clone; everything in it is pushed to `disposables`. */
async function setUpNetwork(
  job: TrainJob,
  clone: tf.LayersModel,
  size: number,
  emit: (e: EngineEvent) => void,
  disposables: { dispose(): void }[],
): Promise<{ net: TrainableNet; head: tf.Sequential; frozen: FrozenForward | null; bnMode: 'batch' | 'inference' }> {
  const { config, plan } = job;
  // Scenario 3 has no statistics worth keeping: its BatchNorm learns them from batches.
  const bnMode = config.trainBatchNorm || config.scenario === 3 ? 'batch' : 'inference';
  let net: TrainableNet;
  try {
    // The graph from the freeze boundary's output (a cut: every path crosses it) to the cut layer.
    net = trainableNet(clone, { from: plan.freezeTo, to: plan.cutLayer, mode: bnMode, ...(config.scenario === 3 ? { statsMomentum: 0.9 } : {}) });
  } catch (e) {
    if (e instanceof UnsupportedLayerError) throw new EngineJobError('UNSUPPORTED_LAYER', e.message);
    if (e instanceof NotACutError) throw new EngineJobError('NOT_A_CUT_POINT', e.message);
    throw e;
  }
  disposables.push(net);
  if (plan.init === 'he') heInitialise(net.layers, config.seed);
  // Pretrained frozen weights are the model's own: their ONNX form is cached per machine.
  const frozen: FrozenForward | null = plan.freezeTo
    ? await frozenForward(clone, plan.freezeTo, { pool: 'none', inputSize: size, cacheAs: plan.init === 'pretrained' ? job.modelId : null, log: (message) => emit({ type: 'log', message }) })
    : null;
  if (frozen) disposables.push(frozen);
  const head = buildHead(net.outputDim, job.classNames.length, config);
  disposables.push({ dispose: () => disposeWeights(head) });
  return { net, head, frozen, bnMode };
}

export async function runFinetune(job: TrainJob, backend: BackendInfo, emit: (e: EngineEvent) => void, signal?: AbortSignal): Promise<TrainResult> {
  validateJob(job);
  const { config, plan } = job;
  const { scenario } = config;
  const { cutLayer } = plan;
  const loaded = await getModel(job.modelDir);
  requireLayer(loaded.model, cutLayer);
  const declaredSize = inputSizeOf(loaded.model);
  const size = job.tuning?.inputSize ?? declaredSize;
  const clone = await cloneNetwork(loaded.model, plan.init);
  const disposables: { dispose(): void }[] = [];
  const log = (message: string) => emit({ type: 'log', message });
  try {
    // ---- the network
    const { net, head, frozen, bnMode } = await setUpNetwork(job, clone, size, emit, disposables);
    const rowShape = frozen ? frozen.outputShape : [size, size, 3];
    const augment = config.augment;
    log(
      `Scenario ${scenario}: ${loaded.name}, ${plan.freezeTo ? `frozen up to ${plan.freezeTo} (${plan.frozenParams} parameters, ${frozen?.kind})` : 'nothing frozen'}, ` +
        `${plan.trainableParams} trainable parameters up to ${cutLayer} (${plan.init === 'he' ? 'He initialised' : 'pretrained'}, BatchNorm ${bnMode === 'batch' ? 'trained on batch statistics' : 'in inference mode'}), ` +
        `head on ${net.outputDim} features; input ${size}x${size}; augmentation ${augment ? Object.entries(augment).filter(([, on]) => on).map(([k]) => k).join('+') || 'none' : 'off'}; backend ${backend.name} x${backend.threads}`,
    );
    // The training steps on ONNX Runtime when it loads and every layer has a training graph, else TensorFlow.js.
    const onnx = await onnxTrainer(clone, { from: plan.freezeTo, to: cutLayer, rowShape, bnMode, ...(scenario === 3 ? { statsMomentum: 0.9 } : {}) });
    const training: InferenceInfo = 'reason' in onnx ? { runtime: 'tfjs', reason: onnx.reason } : onnx.info;
    if ('reason' in onnx) log(`Training steps on TensorFlow.js: ${onnx.reason}.`);
    // Batch size against memory, before the first step.
    const budget = job.tuning?.memoryBudgetBytes ?? defaultBudgetBytes('reason' in onnx ? backend.name : undefined);
    const perImage = 'reason' in onnx ? stepBytesPerImage(activationElements(net.layers, declaredSize, size), rowShape.reduce((a, b) => a * b, 1)) : onnx.bytesPerImage;
    const fit = fitBatchSize(config.batchSize, perImage, budget);
    if ('error' in fit) throw new EngineJobError('OUT_OF_MEMORY', fit.error);
    const batchReductions: string[] = [];
    if (fit.message) {
      batchReductions.push(fit.message);
      log(fit.message);
    }

    // ---- the data
    const data = await prepareFinetuneData(job, frozen, size, rowShape, loaded.preprocessing, emit, signal);
    const { source, trainItems, valItems, trainCached } = data;
    // Pretrained layers learn slower than the new head (scenario 3 has nothing pretrained).
    const k = job.classNames.length;
    const weightsT = config.classWeights ? tf.tensor1d(classWeights(Int32Array.from(trainItems, (i) => i.label), k)) : null;
    if (weightsT) disposables.push(weightsT);
    const netLr = scenario === 3 ? config.lr : (config.lrPretrained ?? config.lr / 10);
    log(`Learning rates: ${netLr} for the ${scenario === 3 ? 'network' : 'pretrained layers'}, ${config.lr} for the head; batch ${fit.batchSize}; ${trainCached ? 'epochs read the activation cache' : 'the full forward runs every epoch'}.`);

    // ---- the loop
    const full = classifierModel(clone, cutLayer, head);
    const modelFiles: string[] = [];
    const runRecord = (state: RunRecord['state'], bestEpoch: number | null): RunRecordFields => ({
      ...recordOfJob(job, loaded.preprocessing),
      scenario,
      classifier: 'model',
      cutLayer,
      freezeTo: plan.freezeTo,
      inputSize: size,
      featureDim: net.outputDim,
      backend: trainedBackend,
      bestEpoch,
      state,
    });
    const validate = async (batchSize: number): Promise<Validation> => {
      const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
      let lossSum = 0;
      let n = 0;
      for (let s = 0; s < valItems.length; s += batchSize) {
        const b = await source.prepare(valItems.slice(s, s + batchSize), Boolean(data.cache), null);
        if (b.y.length === 0) continue;
        const ev = await learner.evaluate(b);
        lossSum += ev.lossSum;
        b.y.forEach((t, i) => {
          const row = matrix[t] as number[];
          row[ev.predicted[i] as number] = (row[ev.predicted[i] as number] ?? 0) + 1;
        });
        n += b.y.length;
      }
      const correct = matrix.reduce((a, row, i) => a + (row[i] ?? 0), 0);
      return { loss: n ? lossSum / n : NaN, acc: n ? correct / n : NaN, matrix };
    };
    const trainer: EpochTrainer<PreparedBatch> = {
      prepare: (positions, epoch) => source.prepare(Array.from(positions, (i) => trainItems[i] as TrainItem), trainCached, { epoch, positions }),
      step: async (b, dropoutSeed) => {
        if (b.y.length === 0) return { loss: 0, correct: 0, count: 0 }; // every image of the batch failed to decode
        return { ...(await learner.step(b, dropoutSeed)), count: b.y.length };
      },
      abandonStep: () => learner.abandonStep(),
      validate: async (batchSize) => (valItems.length ? validate(batchSize) : null),
    };

    const settings = checkpointSettings(config, { modelId: job.modelId, cutLayer, freezeTo: plan.freezeTo, inputSize: size });
    let resume: LoopState | undefined;
    if (job.resume) {
      const ckpt = await loadCheckpoint(job.runDir);
      if (!ckpt) throw new EngineJobError('BAD_JOB', `There is no checkpoint to resume in ${job.runDir}.`);
      if (ckpt.file.settings !== settings) {
        ckpt.weights.forEach((w) => w.dispose());
        throw new EngineJobError('BAD_JOB', `The checkpoint in ${job.runDir} was trained with other settings; only its number of epochs or patience may change.`);
      }
      full.setWeights(ckpt.weights);
      ckpt.weights.forEach((w) => w.dispose());
      const { settings: _settings, ...state } = ckpt.file;
      resume = state;
      log(`Resumed from the checkpoint after epoch ${state.epoch} (best so far: epoch ${state.best?.epoch ?? '-'}); the optimiser's averages start afresh.`);
    }
    // Made after a resume has loaded its weights: the ONNX learner copies them into its own vectors.
    let learner: StepLearner;
    if ('reason' in onnx) learner = tfjsStepLearner(new Learner(net, head, config, netLr, weightsT), source);
    else {
      const created = await onnx.learner({ head, config, netLr, classWeights: weightsT ? (weightsT.dataSync() as Float32Array) : null, batchSize: resume?.batchSize ?? fit.batchSize, recycle: (spent) => source.recycle(spent) });
      if ('reason' in created) {
        log(`Training steps on TensorFlow.js: ${created.reason}.`);
        Object.assign(training, { runtime: 'tfjs', reason: created.reason, provider: undefined, threads: undefined, version: undefined });
        learner = tfjsStepLearner(new Learner(net, head, config, netLr, weightsT), source);
      } else {
        learner = created;
        log(`Training steps on ${inferenceLabel(training)}.`);
      }
    }
    disposables.push(learner);
    const trainedBackend: BackendInfo = { ...backend, training };
    // The live screen shows what trains from now on (the run's record keeps it too).
    emit({ type: 'backend', backend: frozen ? { ...trainedBackend, inference: frozen.inference } : trainedBackend });
    emit({ type: 'phase', phase: 'train' });
    // Where training starts from (the new head untrained): what every epoch has to improve on.
    const initial = !resume && valItems.length ? await validate(fit.batchSize) : null;
    if (initial) log(`Before training: validation loss ${initial.loss.toFixed(4)}, accuracy ${(100 * initial.acc).toFixed(1)}%.`);
    let loop;
    try {
      loop = await runEpochs({
        trainer,
        size: trainItems.length,
        config,
        batchSize: fit.batchSize,
        classNames: job.classNames,
        signal,
        resume,
        onBatch: (p) => emit({ type: 'progress', ...p }),
        onEpoch: (metrics, confusion) => emit({ type: 'epoch', metrics, confusion }),
        // The best model so far, on disk at once (a cancel or a crash keeps it).
        onBest: async (epoch) => {
          learner.writeBack();
          modelFiles.splice(0, modelFiles.length, ...(await saveLayersModel(full, path.join(job.runDir, 'model'))));
          modelFiles.push(await writeRunRecord(job.runDir, runRecord('checkpoint', epoch)));
        },
        onEpochEnd: async (state) => {
          learner.writeBack();
          await saveCheckpoint(job.runDir, full, state, settings);
        },
        onBatchLowered: (message) => {
          batchReductions.push(message);
          log(message);
        },
      });
    } catch (e) {
      throw (training.runtime === 'tfjs' ? cannotTrainError(e, backend) : null) ?? e;
    }
    if (loop.best) await writeRunRecord(job.runDir, runRecord(loop.state, loop.best.epoch));
    await data.cache?.close();
    return {
      state: loop.state,
      backend: frozen ? { ...trainedBackend, inference: frozen.inference } : trainedBackend,
      scenario,
      epochsRun: loop.metrics.length,
      bestEpoch: loop.best?.epoch ?? null,
      baseline: majorityBaseline(Int32Array.from(valItems, (i) => i.label), k),
      cache: data.cacheStats,
      extractMs: data.extractMs,
      trainMs: loop.trainMs,
      modelFiles,
      metrics: loop.metrics,
      confusion: loop.best?.confusion ?? null,
      cutLayer,
      freezeTo: plan.freezeTo,
      featureDim: net.outputDim,
      frozenKind: frozen?.kind ?? 'none',
      frozenParams: plan.frozenParams,
      trainableParams: plan.trainableParams,
      batchSize: loop.batchSize,
      stepBytesPerImage: perImage,
      batchReductions,
      imagesPerSec: loop.seen / Math.max(1e-3, loop.trainMs / 1000),
      stepImagesPerSec: loop.seen / Math.max(1e-3, loop.stepMs / 1000),
      frozenPart: frozen ? (trainCached ? 'cached' : 'full') : 'none',
      initialValLoss: initial?.loss ?? null,
    };
  } finally {
    for (const d of disposables) d.dispose();
    disposeWeights(clone);
  }
}
