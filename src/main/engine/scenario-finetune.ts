/**
 * Scenarios 2, 3 and 4 in the engine process: the plan (scenarios/plan.ts) says what is frozen;
 * the network is cloned from the pretrained one (pretrained weights for 2 and 4, He
 * initialisation for 3) so the cached pretrained model is never changed; the frozen part runs as
 * the folded inference graph (its weights and BatchNorm statistics cannot move); the trainable
 * part (trainable-net.ts) and a new head train in our own loop with two learning rates (the
 * pretrained layers' lrPretrained, default lr/10, and the head's lr).
 *
 * Data streams in batches: from the activation cache (scenario 2 without augmentation: the frozen
 * part's output is computed once per image) or decoded from disk (+ augmentation, + the frozen
 * part) every epoch; the next batch is prepared while the current one trains. Memory does not
 * depend on the number of images. The batch size is fitted to the memory budget before the first
 * step. The best epoch (validation loss) is saved to runDir/model + run.json when it happens, so a
 * cancelled or crashed run keeps its best model; every epoch ends with a checkpoint (checkpoint.ts)
 * that job.resume continues from.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo, ConfusionMatrix, EpochMetrics, TrainResult } from '../../shared/domain';
import { inspectModel } from './model-layers';
// eslint-disable-next-line no-restricted-imports -- the plan builder moves to src/shared/ (issue 20 item 5), then this goes
import { buildPlan, PlanError, type TrainPlan } from '../scenarios/plan';
import { ActivationCache } from './activation-cache';
import { augmentImage, augmentRandom, sampleAugment } from './augment';
import { frozenForward, type FrozenForward } from './frozen-forward';
import { checkpointSettings, loadCheckpoint, saveCheckpoint, type LoopState } from './checkpoint';
import { buildHead, classWeights, majorityBaseline, shuffled } from './head';
import { seededRandom } from '../../shared/random';
import { Learner } from './learner';
import { defaultBudgetBytes, fitBatchSize, isOutOfMemory, stepBytesPerImage } from './memory-budget';
import { classifierModel, disposeWeights, saveLayersModel, writeRunJson } from './model-files';
import type { PreprocessingMode } from '../../shared/domain';
import { preprocessVersion, valueRange } from '../../shared/preprocessing';
import { loadModelInput } from './preprocess';
import type { EngineEvent, TrainItem, TrainJob } from './protocol';
import { EngineJobError, extractMissing, getModel, inputSizeOf, pickCutLayer, validateJob } from './scenario1';
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

interface PreparedBatch {
  data: Float32Array;
  y: Int32Array;
  hashes: string[];
}

/** Everything one run needs to turn item indices into the trainable part's input. */
class BatchSource {
  private failed = new Set<string>();

  constructor(
    private readonly size: number,
    private readonly frozen: FrozenForward | null,
    /** Shape of one row of the trainable part's input (the frozen output, or the image). */
    readonly rowShape: number[],
    private readonly cache: ActivationCache | null,
    private readonly augment: TrainJob['config']['augment'],
    private readonly seed: number,
    private readonly emit: (e: EngineEvent) => void,
    private readonly mode: PreprocessingMode,
  ) {}

  /**
   * CPU side (disk, decoding, augmentation): runs while the previous batch trains. `augmentAt`
   * (training only) seeds each image's augmentation by epoch and position in the training set.
   */
  async prepare(items: readonly TrainItem[], useCache: boolean, augmentAt: { epoch: number; positions: ArrayLike<number> } | null): Promise<PreparedBatch> {
    if (useCache && this.cache) {
      const dim = this.rowShape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(items.length * dim);
      const hashes = items.map((i) => i.hash);
      await this.cache.read(hashes, data);
      return { data, y: Int32Array.from(items, (i) => i.label), hashes };
    }
    const pixels = this.size * this.size * 3;
    const decoded = await Promise.all(
      items.map(async (item, k) => {
        if (this.failed.has(item.path)) return null;
        try {
          const img = await loadModelInput(item, this.size, this.mode);
          if (!this.augment || !augmentAt) return { item, img };
          const params = sampleAugment(this.augment, augmentRandom(this.seed, augmentAt.epoch, augmentAt.positions[k] as number));
          return { item, img: augmentImage(img, this.size, params, valueRange(this.mode)) };
        } catch (e) {
          this.failed.add(item.path);
          this.emit({ type: 'log', message: `Skipped ${item.path}: it could not be decoded (${(e as Error).message})` });
          return null;
        }
      }),
    );
    const ok = decoded.filter((d) => d !== null);
    const images = new Float32Array(ok.length * pixels);
    ok.forEach((d, i) => images.set(d.img, i * pixels));
    // The frozen part runs here too (ONNX Runtime or TensorFlow.js), while the previous batch trains.
    const data = this.frozen && ok.length ? await this.frozen.runBatch(images, ok.length, this.size, true) : images;
    return { data, y: Int32Array.from(ok, (d) => d.item.label), hashes: ok.map((d) => d.item.hash) };
  }

  /** GPU/wasm side: the input tensor of the trainable part. */
  tensor(b: PreparedBatch): tf.Tensor4D {
    return tf.tensor4d(b.data, [b.y.length, ...(this.rowShape as [number, number, number])]);
  }
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

function planFor(job: TrainJob, layers: ReturnType<typeof inspectModel>['layers'], cutLayer: string): TrainPlan {
  try {
    return buildPlan(layers, { scenario: job.config.scenario, cutLayer, freezeTo: job.config.freezeTo });
  } catch (e) {
    if (e instanceof PlanError) throw new EngineJobError(e.code, e.message);
    throw e;
  }
}

export async function runFinetune(job: TrainJob, backend: BackendInfo, emit: (e: EngineEvent) => void, signal?: AbortSignal): Promise<TrainResult> {
  validateJob(job);
  const config = job.config;
  const scenario = config.scenario;
  const loaded = await getModel(job.modelDir);
  const cutLayer = pickCutLayer(loaded, config.cutLayer);
  const plan = planFor(job, inspectModel(loaded).layers, cutLayer);
  const declaredSize = inputSizeOf(loaded.model);
  const size = job.tuning?.inputSize ?? declaredSize;
  const clone = await cloneNetwork(loaded.model, plan.init);
  const disposables: { dispose(): void }[] = [];
  try {
    // Scenario 3 has no statistics worth keeping: its BatchNorm learns them from batches.
    const bnMode = config.trainBatchNorm || scenario === 3 ? 'batch' : 'inference';
    let net: TrainableNet;
    try {
      // The graph from the freeze boundary's output (a cut: every path crosses it) to the cut layer.
      net = trainableNet(clone, { from: plan.freezeTo, to: cutLayer, mode: bnMode, ...(scenario === 3 ? { statsMomentum: 0.9 } : {}) });
    } catch (e) {
      if (e instanceof UnsupportedLayerError) throw new EngineJobError('UNSUPPORTED_LAYER', e.message);
      if (e instanceof NotACutError) throw new EngineJobError('NOT_A_CUT_POINT', e.message);
      throw e;
    }
    disposables.push(net);
    const trainLayers = net.layers;
    if (plan.init === 'he') heInitialise(trainLayers, config.seed);
    // Pretrained frozen weights are the model's own: their ONNX form is cached per machine.
    const frozen: FrozenForward | null = plan.freezeTo
      ? await frozenForward(clone, plan.freezeTo, { pool: 'none', inputSize: size, cacheAs: plan.init === 'pretrained' ? job.modelId : null, log: (message) => emit({ type: 'log', message }) })
      : null;
    if (frozen) disposables.push(frozen);
    const rowShape = frozen ? frozen.outputShape : [size, size, 3];
    const rowDim = rowShape.reduce((a, b) => a * b, 1);
    const head = buildHead(net.outputDim, job.classNames.length, config);
    disposables.push({ dispose: () => disposeWeights(head) });
    const augment = config.augment;
    emit({
      type: 'log',
      message:
        `Scenario ${scenario}: ${loaded.name}, ${plan.freezeTo ? `frozen up to ${plan.freezeTo} (${plan.frozenParams} parameters, ${frozen?.kind})` : 'nothing frozen'}, ` +
        `${plan.trainableParams} trainable parameters up to ${cutLayer} (${plan.init === 'he' ? 'He initialised' : 'pretrained'}, BatchNorm ${bnMode === 'batch' ? 'trained on batch statistics' : 'in inference mode'}), ` +
        `head on ${net.outputDim} features; input ${size}x${size}; augmentation ${augment ? Object.entries(augment).filter(([, on]) => on).map(([k]) => k).join('+') || 'none' : 'off'}; backend ${backend.name} x${backend.threads}`,
    });

    // Batch size against memory, before the first step.
    const budget = job.tuning?.memoryBudgetBytes ?? defaultBudgetBytes(backend.name);
    const perImage = stepBytesPerImage(activationElements(trainLayers, declaredSize, size), rowDim);
    const fit = fitBatchSize(config.batchSize, perImage, budget);
    if ('error' in fit) throw new EngineJobError('OUT_OF_MEMORY', fit.error);
    let batchSize = fit.batchSize;
    const batchReductions: string[] = [];
    if (fit.message) {
      batchReductions.push(fit.message);
      emit({ type: 'log', message: fit.message });
    }

    // Activation cache (scenario 2): validation always (never augmented), training when not augmented.
    const train = job.items.filter((i) => i.split === 'train');
    const val = job.items.filter((i) => i.split === 'val');
    let cache: ActivationCache | null = null;
    let cacheStats = { hits: 0, misses: 0 };
    let extractMs = 0;
    if (frozen) {
      cache = await ActivationCache.open(
        path.join(job.cacheDir, 'activations'),
        { modelId: job.modelId, cutLayer: plan.freezeTo ?? '', pool: 'none', inputSize: size, preprocess: preprocessVersion(loaded.preprocessing) },
        rowDim,
      );
      const wanted = new Map<string, { hash: string; path: string }>();
      for (const it of augment ? val : job.items) wanted.set(it.hash, { hash: it.hash, path: it.path });
      const missing = [...wanted.values()].filter((t) => !cache?.has(t.hash));
      cacheStats = { hits: wanted.size - missing.length, misses: missing.length };
      emit({ type: 'phase', phase: 'extract' });
      const t0 = performance.now();
      const ex = await extractMissing(frozen, size, missing, cache, signal, emit, loaded.preprocessing);
      extractMs = performance.now() - t0;
      for (const f of ex.failed) emit({ type: 'log', message: `Left out ${f}: it could not be decoded.` });
    }
    const usable = (items: TrainItem[], cached: boolean) => (cached && cache ? items.filter((i) => cache.has(i.hash)) : items);
    const trainCached = Boolean(cache && !augment);
    const trainItems = usable(train, trainCached);
    const valItems = usable(val, Boolean(cache));
    const source = new BatchSource(size, frozen, rowShape, cache, augment, config.seed, emit, loaded.preprocessing);

    // Pretrained layers learn slower than the new head (scenario 3 has nothing pretrained).
    const k = job.classNames.length;
    const weightsT = config.classWeights ? tf.tensor1d(classWeights(Int32Array.from(trainItems, (i) => i.label), k)) : null;
    if (weightsT) disposables.push(weightsT);
    const learner = new Learner(net, head, config, scenario === 3 ? config.lr : (config.lrPretrained ?? config.lr / 10), weightsT);
    disposables.push(learner);
    emit({ type: 'log', message: `Learning rates: ${learner.netLr} for the ${scenario === 3 ? 'network' : 'pretrained layers'}, ${config.lr} for the head; batch ${batchSize}; ${trainCached ? 'epochs read the activation cache' : 'the full forward runs every epoch'}.` });

    const full = classifierModel(clone, cutLayer, head);
    const modelFiles: string[] = [];
    const runJson = (state: string, bestEpoch: number | null) => ({
      scenario,
      modelId: job.modelId,
      modelDir: path.resolve(job.modelDir),
      cutLayer,
      freezeTo: plan.freezeTo,
      inputSize: size,
      scaling: valueRange(loaded.preprocessing),
      preprocessing: loaded.preprocessing,
      preprocess: preprocessVersion(loaded.preprocessing),
      classNames: job.classNames,
      featureDim: net.outputDim,
      /** The whole trained classifier is runDir/model; prediction runs it (no separate head). */
      classifier: 'model',
      backend,
      bestEpoch,
      state,
      savedAt: new Date().toISOString(),
    });

    const evaluate = async (): Promise<{ loss: number; acc: number; matrix: number[][] }> => {
      const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
      let lossSum = 0;
      let n = 0;
      for (let s = 0; s < valItems.length; s += batchSize) {
        const b = await source.prepare(valItems.slice(s, s + batchSize), Boolean(cache), null);
        if (b.y.length === 0) continue;
        const x = source.tensor(b);
        const ev = learner.evaluate(x, b.y);
        x.dispose();
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

    const n = trainItems.length;
    const metrics: EpochMetrics[] = [];
    let best: LoopState['best'] = null;
    let sinceBest = 0;
    let state: 'succeeded' | 'cancelled' = 'succeeded';
    let step = 0;
    let seen = 0;
    let firstEpoch = 1;
    const settings = checkpointSettings(config, { modelId: job.modelId, cutLayer, freezeTo: plan.freezeTo, inputSize: size });
    if (job.resume) {
      const ckpt = await loadCheckpoint(job.runDir);
      if (!ckpt) throw new EngineJobError('BAD_JOB', `There is no checkpoint to resume in ${job.runDir}.`);
      if (ckpt.file.settings !== settings) {
        ckpt.weights.forEach((w) => w.dispose());
        throw new EngineJobError('BAD_JOB', `The checkpoint in ${job.runDir} was trained with other settings; only its number of epochs or patience may change.`);
      }
      full.setWeights(ckpt.weights);
      ckpt.weights.forEach((w) => w.dispose());
      metrics.push(...ckpt.file.metrics);
      ({ best, sinceBest, step, batchSize } = ckpt.file);
      firstEpoch = ckpt.file.epoch + 1;
      emit({ type: 'log', message: `Resumed from the checkpoint after epoch ${ckpt.file.epoch} (best so far: epoch ${best?.epoch ?? '-'}); the optimiser's averages start afresh.` });
    }
    emit({ type: 'phase', phase: 'train' });
    // Where training starts from (the new head untrained): what every epoch has to improve on.
    const initial = firstEpoch === 1 && valItems.length ? await evaluate() : null;
    if (initial) emit({ type: 'log', message: `Before training: validation loss ${initial.loss.toFixed(4)}, accuracy ${(100 * initial.acc).toFixed(1)}%.` });
    const tTrain = performance.now();
    let stepMs = 0;
    outer: for (let epoch = firstEpoch; epoch <= config.epochs; epoch++) {
      const te = performance.now();
      // One generator per epoch: a resumed run shuffles its later epochs as an uninterrupted one would.
      const order = shuffled(n, seededRandom(config.seed * 7919 + epoch));
      const slice = (p: number, bs: number) => {
        const idx = order.subarray(p, Math.min(n, p + bs));
        return source.prepare(Array.from(idx, (i) => trainItems[i] as TrainItem), trainCached, { epoch, positions: idx });
      };
      let lossSum = 0;
      let correct = 0;
      let counted = 0;
      let p = 0;
      let batchNo = 0;
      const steps0 = performance.now();
      let next = n > 0 ? slice(0, batchSize) : null;
      while (p < n && next) {
        if (signal?.aborted) {
          state = 'cancelled';
          break outer;
        }
        const b = await next;
        const bs = batchSize;
        next = p + bs < n ? slice(p + bs, batchSize) : null;
        const dropSeed = config.seed * 1000003 + ++step * 7919;
        try {
          if (b.y.length > 0) {
            const x = source.tensor(b);
            try {
              const r = learner.step(x, b.y, dropSeed);
              lossSum += r.loss * b.y.length;
              correct += r.correct;
              counted += b.y.length;
            } finally {
              x.dispose();
            }
          }
        } catch (e) {
          learner.abandonStep();
          if (!isOutOfMemory(e) || batchSize <= 1) throw cannotTrainError(e, backend) ?? e;
          batchSize = Math.floor(batchSize / 2);
          const message = `Batch size lowered from ${bs} to ${batchSize}: a training step ran out of memory (${(e as Error).message.split('\n')[0]}).`;
          batchReductions.push(message);
          emit({ type: 'log', message });
          next?.catch(() => undefined); // prepared for the old batch size: dropped
          next = slice(p, batchSize); // the same images again, in smaller batches
          continue;
        }
        p += bs;
        batchNo++;
        seen += b.y.length;
        emit({
          type: 'progress',
          done: (epoch - 1) * n + Math.min(p, n),
          total: config.epochs * n,
          epoch,
          epochs: config.epochs,
          batch: batchNo,
          batches: Math.ceil(n / batchSize),
          imagesPerSec: seen / Math.max(1e-3, (performance.now() - tTrain) / 1000),
        });
        await new Promise<void>((r) => setImmediate(r)); // let cancel messages in
      }
      stepMs += performance.now() - steps0;
      const ev = valItems.length ? await evaluate() : null;
      const m: EpochMetrics = {
        epoch,
        trainLoss: counted ? lossSum / counted : NaN,
        trainAcc: counted ? correct / counted : NaN,
        valLoss: ev ? ev.loss : null,
        valAcc: ev ? ev.acc : null,
        durationMs: performance.now() - te,
      };
      metrics.push(m);
      const confusion: ConfusionMatrix | null = ev ? { epoch, classNames: job.classNames, matrix: ev.matrix } : null;
      emit({ type: 'epoch', metrics: m, confusion: confusion ?? { epoch, classNames: job.classNames, matrix: [] } });
      const monitored = m.valLoss ?? m.trainLoss;
      const improved = !best || monitored < best.loss;
      if (improved) {
        best = { epoch, loss: monitored, confusion };
        sinceBest = 0;
        // The best model so far, on disk at once (a cancel or a crash keeps it).
        modelFiles.splice(0, modelFiles.length, ...(await saveLayersModel(full, path.join(job.runDir, 'model'))));
        modelFiles.push(await writeRunJson(job.runDir, runJson('checkpoint', epoch)));
      } else {
        sinceBest++;
      }
      await saveCheckpoint(job.runDir, full, { epoch, metrics, best, sinceBest, step, seen, batchSize }, settings);
      if (!improved && config.patience > 0 && sinceBest >= config.patience) break;
    }
    if (best) await writeRunJson(job.runDir, runJson(state, best.epoch));
    const trainSeconds = (performance.now() - tTrain) / 1000;
    await cache?.close();
    return {
      state,
      backend: frozen ? { ...backend, inference: frozen.inference } : backend,
      scenario,
      epochsRun: metrics.length,
      bestEpoch: best?.epoch ?? null,
      baseline: majorityBaseline(Int32Array.from(valItems, (i) => i.label), k),
      cache: cacheStats,
      extractMs,
      trainMs: trainSeconds * 1000,
      modelFiles,
      metrics,
      confusion: best?.confusion ?? null,
      cutLayer,
      freezeTo: plan.freezeTo,
      featureDim: net.outputDim,
      frozenKind: frozen?.kind ?? 'none',
      frozenParams: plan.frozenParams,
      trainableParams: plan.trainableParams,
      batchSize,
      stepBytesPerImage: perImage,
      batchReductions,
      imagesPerSec: seen / Math.max(1e-3, trainSeconds),
      stepImagesPerSec: seen / Math.max(1e-3, stepMs / 1000),
      frozenPart: frozen ? (trainCached ? 'cached' : 'full') : 'none',
      initialValLoss: initial?.loss ?? null,
    };
  } finally {
    for (const d of disposables) d.dispose();
    disposeWeights(clone);
  }
}
