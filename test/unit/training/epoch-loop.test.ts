import { describe, expect, it } from 'vitest';
import { loopSeeds, runEpochs, type EpochLoopInput, type EpochTrainer, type LoopState } from '../../../src/main/engine/epoch-loop';

/** A trainer that records what the loop gives it; its validation loss per epoch is scripted. */
function recorder(valLoss: (epoch: number) => number, opts: { failAt?: (positions: Int32Array, call: number) => Error | null; abandon?: boolean } = {}) {
  const steps: { positions: number[]; dropoutSeed: number }[] = [];
  let epoch = 0;
  let calls = 0;
  let abandoned = 0;
  const trainer: EpochTrainer<{ positions: number[] }> = {
    prepare: (positions, e) => {
      epoch = e;
      return { positions: Array.from(positions) };
    },
    step: (b, dropoutSeed) => {
      const failure = opts.failAt?.(Int32Array.from(b.positions), calls++);
      if (failure) throw failure;
      steps.push({ positions: b.positions, dropoutSeed });
      return { loss: 1, correct: b.positions.length, count: b.positions.length };
    },
    validate: async () => ({ loss: valLoss(epoch), acc: 0.5, matrix: [[1, 0], [0, 1]] }),
  };
  if (opts.abandon) trainer.abandonStep = () => void abandoned++;
  return { trainer, steps, abandoned: () => abandoned };
}

const base = { size: 10, batchSize: 4, classNames: ['a', 'b'], config: { epochs: 4, patience: 0, seed: 5 } };

describe('the epoch loop', () => {
  it('steps through a seeded permutation of the training set every epoch, in batches, with one dropout seed per step', async () => {
    const r = recorder(() => 1);
    const result = await runEpochs({ ...base, trainer: r.trainer });
    expect(result.state).toBe('succeeded');
    expect(result.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4]);
    expect(r.steps.map((s) => s.positions.length)).toEqual([4, 4, 2, 4, 4, 2, 4, 4, 2, 4, 4, 2]);
    for (let e = 0; e < 4; e++) expect(r.steps.slice(3 * e, 3 * e + 3).flatMap((s) => s.positions).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(r.steps[0]?.positions).not.toEqual(r.steps[3]?.positions); // another order next epoch
    expect(r.steps.map((s) => s.dropoutSeed)).toEqual(r.steps.map((_, i) => loopSeeds.dropout(5, i + 1)));
    expect(result.seen).toBe(40);
  });

  it('a run resumed from an epoch\'s state draws exactly what the uninterrupted run drew after it', async () => {
    const whole = recorder((e) => 1 / e);
    await runEpochs({ ...base, trainer: whole.trainer });
    let after2: LoopState | undefined;
    const first = recorder((e) => 1 / e);
    await runEpochs({ ...base, config: { ...base.config, epochs: 2 }, trainer: first.trainer, onEpochEnd: (s) => void (after2 = structuredClone(s)) });
    const rest = recorder((e) => 1 / e);
    const resumed = await runEpochs({ ...base, trainer: rest.trainer, resume: after2 });
    expect(rest.steps).toEqual(whole.steps.slice(6));
    expect(resumed.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4]);
    expect(resumed.best?.epoch).toBe(4);
  });

  it('keeps the best epoch by validation loss and stops after `patience` epochs without improvement', async () => {
    const losses = [0.9, 0.5, 0.6, 0.7, 0.4];
    const r = recorder((e) => losses[e - 1] as number);
    const bests: number[] = [];
    const ends: number[] = [];
    const result = await runEpochs({ ...base, config: { epochs: 5, patience: 2, seed: 1 }, trainer: r.trainer, onBest: (e) => void bests.push(e), onEpochEnd: (s) => void ends.push(s.sinceBest) });
    expect(bests).toEqual([1, 2]);
    expect(ends).toEqual([0, 0, 1, 2]); // the last epoch is checkpointed before the loop stops
    expect(result.metrics).toHaveLength(4);
    expect(result.best).toMatchObject({ epoch: 2, loss: 0.5 });
  });

  it('halves the batch and retries the same images when a step runs out of memory, if the trainer can abandon a step', async () => {
    const oom = (positions: Int32Array) => (positions.length > 2 ? new RangeError('Array buffer allocation failed') : null);
    const r = recorder(() => 1, { failAt: oom, abandon: true });
    const lowered: string[] = [];
    const result = await runEpochs({ ...base, config: { ...base.config, epochs: 1 }, trainer: r.trainer, onBatchLowered: (m) => lowered.push(m) });
    expect(lowered).toEqual(['Batch size lowered from 4 to 2: a training step ran out of memory (Array buffer allocation failed).']);
    expect(r.abandoned()).toBe(1);
    expect(result.batchSize).toBe(2);
    expect(r.steps.flatMap((s) => s.positions).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    // Without abandonStep the error ends the training.
    const strict = recorder(() => 1, { failAt: oom });
    await expect(runEpochs({ ...base, trainer: strict.trainer })).rejects.toThrow(/allocation failed/);
    // Another error is not retried.
    const other = recorder(() => 1, { failAt: () => new Error('NaN in the gradients'), abandon: true });
    await expect(runEpochs({ ...base, trainer: other.trainer })).rejects.toThrow(/NaN/);
  });

  it('stops at a batch boundary when cancelled, keeping the finished epochs', async () => {
    const controller = new AbortController();
    const r = recorder(() => 1);
    const input: EpochLoopInput<{ positions: number[] }> = {
      ...base,
      trainer: r.trainer,
      signal: controller.signal,
      onBatch: (p) => p.epoch === 2 && p.batch === 1 && controller.abort(),
    };
    const result = await runEpochs(input);
    expect(result.state).toBe('cancelled');
    expect(result.metrics).toHaveLength(1);
    expect(r.steps).toHaveLength(4);
  });
});
