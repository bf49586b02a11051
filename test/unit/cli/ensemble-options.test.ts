import { describe, expect, it } from 'vitest';
import { ensembleLines } from '../../../src/main/cli/ensemble';
import { runOrRuns, runsOption } from '../../../src/main/cli/options';
import type { EnsembleSummary } from '../../../src/shared/domain';

describe('predict/export --runs', () => {
  it('takes two runs or more, each once, and not with --run', () => {
    expect(runsOption('3,4, 5')).toEqual([3, 4, 5]);
    expect(runsOption(undefined)).toBeUndefined();
    expect(() => runsOption('3')).toThrow('--runs takes two runs or more (an ensemble); for one run use --run 3');
    expect(() => runsOption('3,x')).toThrow('--runs must be a run number, not x');
    expect(() => runsOption('3,4,3')).toThrow('--runs lists run 3 twice');
    expect(() => runsOption(true)).toThrow(/separated by commas/);
    expect(runOrRuns({ run: '2' })).toEqual({ runId: 2 });
    expect(() => runOrRuns({ run: '2', runs: '3,4' })).toThrow('--run and --runs cannot be combined');
  });

  it("prints each member's and the ensemble's validation scores and the gain over the best member", () => {
    const s = {
      runs: [3, 5],
      images: 40,
      views: ['identity', 'flip'],
      members: [
        { runId: 3, accuracy: 0.75, loss: 0.6 },
        { runId: 5, accuracy: 0.8, loss: 0.5 },
      ],
      best: { runId: 5, accuracy: 0.8, loss: 0.5 },
      ensemble: { accuracy: 0.825, loss: 0.45 },
      gain: { accuracy: 0.025, loss: 0.05 },
    } as EnsembleSummary;
    expect(ensembleLines(s)).toEqual([
      'Ensemble of runs 3, 5 on 40 validation image(s), predictions TTA over 2 views (identity, flip):',
      '  run 3      accuracy  75.0%  loss 0.6000',
      '  run 5      accuracy  80.0%  loss 0.5000  (best member)',
      '  ensemble   accuracy  82.5%  loss 0.4500',
      'Gain over the best member (run 5): accuracy +2.5 points, loss -0.0500',
    ]);
    expect(ensembleLines({ ...s, best: null, ensemble: null, gain: null })[0]).toMatch(/no validation image has a prediction from every member/);
  });
});
