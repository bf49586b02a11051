/**
 * The epoch loop every training runs: scenario 1's head on cached features (head.ts) and
 * scenarios 2-4 (scenario-finetune.ts); ONNX Runtime training steps plug in the same way. Per
 * epoch: the training set in a seeded order, in batches prepared while the previous one trains,
 * one step each (the caller's), progress, cancel at a batch boundary, a batch that runs out of
 * memory retried in halves; then validation, the epoch's metrics, the best epoch (validation loss,
 * else training loss) handed to the caller to keep, a checkpoint hook, and early stopping.
 */
import type { ConfusionMatrix, EpochMetrics, TrainConfig } from '../../shared/domain';
import { seededRandom, shuffled } from '../../shared/random';
import { isOutOfMemory } from './memory-budget';

/**
 * The loop's random draws, one formula each. Each epoch's order has its own generator and each
 * step's dropout its own seed (steps counted over the whole run), so a resumed run draws exactly
 * what an uninterrupted one would.
 */
export const loopSeeds = {
  shuffle: (seed: number, epoch: number): number => seed * 7919 + epoch,
  dropout: (seed: number, step: number): number => seed * 1000003 + step * 7919,
};

/** What the loop keeps between epochs: what a checkpoint saves and a resumed run starts from. */
export interface LoopState {
  epoch: number;
  metrics: EpochMetrics[];
  best: { epoch: number; loss: number; confusion: ConfusionMatrix | null } | null;
  sinceBest: number;
  step: number;
  seen: number;
  batchSize: number;
}

export interface StepOutcome {
  /** Mean loss over the batch's images. */
  loss: number;
  correct: number;
  /** Images the step trained on (a prepared batch may have lost images that could not be read). */
  count: number;
}

export interface Validation {
  loss: number;
  acc: number;
  /** [true class][predicted class] counts. */
  matrix: number[][];
}

/** What trains: the pluggable part of the loop. */
export interface EpochTrainer<Batch> {
  /**
   * The batch of these training-set positions (`epoch` seeds augmentation): reading, decoding, the
   * frozen part. Runs while the previous batch trains.
   */
  prepare(positions: Int32Array, epoch: number): Batch | Promise<Batch>;
  /** One optimisation step. `dropoutSeed` seeds the step's dropout masks. */
  step(batch: Batch, dropoutSeed: number): StepOutcome | Promise<StepOutcome>;
  /**
   * Clears what a failed step left behind (batch statistics). A trainer that has it gets a step
   * that ran out of memory retried with half the batch; without it the error ends the training.
   */
  abandonStep?(): void;
  /** The current weights on the validation set (in batches of `batchSize`), or null without one. */
  validate(batchSize: number): Promise<Validation | null>;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Images stepped through over all epochs, and the total. */
  done: number;
  total: number;
  imagesPerSec: number;
}

export interface EpochLoopInput<Batch> {
  trainer: EpochTrainer<Batch>;
  /** Images in the training set. */
  size: number;
  config: Pick<TrainConfig, 'epochs' | 'patience' | 'seed'>;
  batchSize: number;
  classNames: string[];
  signal?: AbortSignal | undefined;
  /** Where a resumed run goes on from (its checkpoint's state). */
  resume?: LoopState | undefined;
  /** Batches between two yields to the event loop, which let a cancel message in (default 1). */
  yieldEvery?: number;
  onBatch?(p: BatchProgress): void;
  onEpoch?(metrics: EpochMetrics, confusion: ConfusionMatrix): void;
  /** A new best epoch: its weights are the trainer's current ones, to keep now. */
  onBest?(epoch: number): void | Promise<void>;
  /** Every epoch's end, after onBest (a checkpoint). */
  onEpochEnd?(state: LoopState): void | Promise<void>;
  /** The batch size was lowered (the message says why). */
  onBatchLowered?(message: string): void;
}

export interface EpochLoopResult {
  state: 'succeeded' | 'cancelled';
  /** Every finished epoch's, a resumed run's earlier ones included. */
  metrics: EpochMetrics[];
  best: LoopState['best'];
  /** The batch size at the end (lower than asked when a step ran out of memory). */
  batchSize: number;
  /** Images stepped through in this call. */
  seen: number;
  /** Time in the loop, and the part of it spent in batches (steps and preparation not hidden behind them). */
  trainMs: number;
  stepMs: number;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runEpochs<Batch>(input: EpochLoopInput<Batch>): Promise<EpochLoopResult> {
  const { trainer, size: n, config, classNames, signal, resume } = input;
  const yieldEvery = input.yieldEvery ?? 1;
  const metrics: EpochMetrics[] = [...(resume?.metrics ?? [])];
  let best: LoopState['best'] = resume?.best ?? null;
  let sinceBest = resume?.sinceBest ?? 0;
  let step = resume?.step ?? 0;
  let batchSize = resume?.batchSize ?? input.batchSize;
  let seen = 0;
  let state: EpochLoopResult['state'] = 'succeeded';
  const tTrain = performance.now();
  let stepMs = 0;
  outer: for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= config.epochs; epoch++) {
    const te = performance.now();
    const order = shuffled(n, seededRandom(loopSeeds.shuffle(config.seed, epoch)));
    const prepare = (p: number, bs: number): Promise<Batch> => Promise.resolve(trainer.prepare(order.subarray(p, Math.min(n, p + bs)), epoch));
    let lossSum = 0;
    let correct = 0;
    let counted = 0;
    let p = 0;
    let batchNo = 0;
    const steps0 = performance.now();
    let next: Promise<Batch> | null = n > 0 ? prepare(0, batchSize) : null;
    while (p < n && next) {
      if (signal?.aborted) {
        next.catch(() => undefined); // prepared for nothing
        state = 'cancelled';
        break outer;
      }
      const batch = await next;
      const bs = batchSize;
      next = p + bs < n ? prepare(p + bs, batchSize) : null;
      let r: StepOutcome;
      try {
        r = await trainer.step(batch, loopSeeds.dropout(config.seed, ++step));
      } catch (e) {
        if (!trainer.abandonStep) throw e;
        trainer.abandonStep();
        if (!isOutOfMemory(e) || batchSize <= 1) throw e;
        batchSize = Math.floor(batchSize / 2);
        input.onBatchLowered?.(`Batch size lowered from ${bs} to ${batchSize}: a training step ran out of memory (${(e as Error).message.split('\n')[0]}).`);
        next?.catch(() => undefined); // prepared for the old batch size: dropped
        next = prepare(p, batchSize); // the same images again, in smaller batches
        continue;
      }
      lossSum += r.loss * r.count;
      correct += r.correct;
      counted += r.count;
      p += bs;
      batchNo++;
      seen += r.count;
      input.onBatch?.({
        epoch,
        epochs: config.epochs,
        batch: batchNo,
        batches: Math.ceil(n / batchSize),
        done: (epoch - 1) * n + Math.min(p, n),
        total: config.epochs * n,
        imagesPerSec: seen / Math.max(1e-3, (performance.now() - tTrain) / 1000),
      });
      if (batchNo % yieldEvery === 0) await nextTurn(); // let cancel messages in
    }
    stepMs += performance.now() - steps0;
    const ev = await trainer.validate(batchSize);
    const m: EpochMetrics = {
      epoch,
      trainLoss: counted ? lossSum / counted : NaN,
      trainAcc: counted ? correct / counted : NaN,
      valLoss: ev ? ev.loss : null,
      valAcc: ev ? ev.acc : null,
      durationMs: performance.now() - te,
    };
    metrics.push(m);
    const confusion: ConfusionMatrix | null = ev ? { epoch, classNames, matrix: ev.matrix } : null;
    input.onEpoch?.(m, confusion ?? { epoch, classNames, matrix: [] });
    const monitored = m.valLoss ?? m.trainLoss;
    const improved = !best || monitored < best.loss;
    if (improved) {
      best = { epoch, loss: monitored, confusion };
      sinceBest = 0;
      await input.onBest?.(epoch);
    } else {
      sinceBest++;
    }
    await input.onEpochEnd?.({ epoch, metrics, best, sinceBest, step, seen, batchSize });
    if (!improved && config.patience > 0 && sinceBest >= config.patience) break;
    await nextTurn();
  }
  return { state, metrics, best, batchSize, seen, trainMs: performance.now() - tTrain, stepMs };
}
