/** The ensembles a sweep suggests (predict --sweep, the Export screen): its best N runs, or a configuration's fold models. */
import { describe, expect, it } from 'vitest';
import type { Leaderboard, LeaderboardRow, LeaderboardRun, RunState } from '../../../src/shared/domain';
import { bestOfSweep, foldsOfSweep, sweepEnsembles } from '../../../src/shared/sweep-ensembles';

const run = (id: number, valAcc: number | null, state: RunState = 'succeeded', fold: number | null = null, valLoss = 0.5): LeaderboardRun => ({ id, fold, state, valAcc, valLoss, seconds: 1, error: null });
const row = (configIndex: number, runs: LeaderboardRun[], oofAcc: number | null = null): LeaderboardRow =>
  ({ configIndex, label: `lr ${configIndex}`, config: {} as LeaderboardRow['config'], runs, valAcc: null, valLoss: null, seconds: null, state: 'succeeded', cvRunId: oofAcc === null ? null : 99, oofAcc });
const board = (folds: number | null, rows: LeaderboardRow[]): Leaderboard =>
  ({ sweep: { id: 7, folds, state: 'succeeded' } as Leaderboard['sweep'], baseline: 0.5, rows });

describe('sweep ensembles', () => {
  it('best N: succeeded runs by validation accuracy, then loss; refused on a k-fold sweep or when too few ran', () => {
    const b = board(null, [row(0, [run(1, 0.8), run(2, 0.9)]), row(1, [run(3, 0.9, 'succeeded', null, 0.3), run(4, 0.95, 'failed'), run(5, null)])]);
    expect(bestOfSweep(b, 2).runs).toEqual([3, 2]);
    expect(bestOfSweep(b, 3).label).toMatch(/^Sweep 7: best 3 by validation accuracy \(runs 3 90\.0%, 2 90\.0%, 1 80\.0%\)/);
    expect(() => bestOfSweep(b, 4)).toThrow(/3 run\(s\) that succeeded .* fewer than the 4/);
    expect(() => bestOfSweep(b, 1)).toThrow(/2 or more/);
    expect(() => bestOfSweep(board(3, []), 2)).toThrow(/3-fold: .*--folds C/);
    expect(sweepEnsembles(b).map((e) => e.runs)).toEqual([[3, 2, 1]]);
  });

  it('fold models: a configuration numbered from 1, only when all its folds succeeded', () => {
    const b = board(2, [row(0, [run(1, 0.8, 'succeeded', 0), run(2, 0.7, 'succeeded', 1)], 0.75), row(1, [run(3, 0.8, 'succeeded', 0), run(4, null, 'failed', 1)])]);
    expect(foldsOfSweep(b, 1)).toEqual({ runs: [1, 2], label: 'Sweep 7: the 2 fold models of #1 lr 0 (out-of-fold 75.0%)' });
    expect(() => foldsOfSweep(b, 2)).toThrow(/has 1 of its 2 fold models: run the rest with sweep --resume 7/);
    expect(() => foldsOfSweep(b, 3)).toThrow(/configurations 1 to 2, not 3/);
    expect(() => foldsOfSweep(board(null, []), 1)).toThrow(/no folds/);
    expect(sweepEnsembles(b).map((e) => e.runs)).toEqual([[1, 2]]);
  });
});
