// @vitest-environment jsdom
/**
 * The Sweep tab's form: comma lists planned first (the runs and their time shown), then started;
 * a bad value is refused on its field. Its leaderboard: one row per configuration with mean ± sd under k-fold, sorted by
 * validation accuracy, loss or time on a click, the majority baseline beside, and cancel of one
 * running run or of the whole sweep; the mean ± sd of runs' figures.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { browserApisForMantine } from '../helpers';
import type { Leaderboard, LeaderboardRow, TrainConfig } from '../../../src/shared/domain';
import { meanSd } from '../../../src/main/training/sweep-leaderboard';

const config = { scenario: 1, model: 'm' } as unknown as TrainConfig;
const row = (configIndex: number, label: string, acc: number[], loss: number, seconds: number, state: LeaderboardRow['state'] = 'succeeded'): LeaderboardRow => ({
  configIndex,
  label,
  config,
  runs: acc.map((a, k) => ({ id: configIndex * 10 + k, fold: k, state: k === acc.length - 1 ? state : 'succeeded', valAcc: a, valLoss: loss, seconds, error: null })),
  valAcc: meanSd(acc),
  valLoss: meanSd([loss]),
  seconds,
  state,
  cvRunId: null,
  oofAcc: null,
});
const board: Leaderboard = {
  sweep: { id: 3, grid: { scenario: [1], model: ['m'] }, folds: 2, foldSeed: 42, on: 'local', slurm: null, state: 'running', createdAt: '', finishedAt: null, counts: { running: 1, succeeded: 5, failed: 0, cancelled: 0 } },
  baseline: 0.5,
  rows: [row(0, 'lr 0.1', [0.6, 0.7], 0.9, 30), row(1, 'lr 0.01', [0.9, 0.8], 0.4, 50), row(2, 'lr 0.001', [0.7, 0.75], 0.2, 10, 'running')],
};

const call = vi.fn();
vi.mock('../../../src/renderer/api/client', () => ({
  api: { call: (...args: unknown[]) => call(...args) as unknown, on: () => () => undefined },
  fileUrl: () => '',
}));
const { SweepLeaderboard } = await import('../../../src/renderer/features/training/sweep/SweepLeaderboard');
const { SweepForm } = await import('../../../src/renderer/features/training/sweep/SweepForm');

beforeAll(browserApisForMantine);
afterEach(cleanup);

describe('sweep leaderboard', () => {
  it('computes the mean and sample standard deviation', () => {
    expect(meanSd([0.6, 0.7, 0.8])).toEqual({ mean: expect.closeTo(0.7, 10), sd: expect.closeTo(0.1, 10), n: 3 });
    expect(meanSd([0.5])).toEqual({ mean: 0.5, sd: 0, n: 1 });
    expect(meanSd([])).toBeNull();
  });

  it('sorts by accuracy, loss or time, shows the baseline, cancels a run or the sweep', async () => {
    call.mockImplementation((name: string) => Promise.resolve(name === 'sweepLeaderboard' ? board : null));
    render(
      <MantineProvider>
        <SweepLeaderboard sweepId={3} />
      </MantineProvider>,
    );
    const labels = async (): Promise<string[]> => (await waitFor(() => screen.getAllByTestId('leaderboard-row'))).map((r) => r.firstElementChild!.textContent!);
    expect(await labels()).toEqual(['lr 0.01', 'lr 0.001', 'lr 0.1']);
    expect(screen.getAllByTestId('row-acc')[0]!.textContent).toBe('85.0% ± 7.1%');
    expect(screen.getByTestId('sweep-baseline').textContent).toBe('Majority baseline: 50.0%');
    fireEvent.click(screen.getByTestId('sort-loss'));
    expect(await labels()).toEqual(['lr 0.001', 'lr 0.01', 'lr 0.1']);
    fireEvent.click(screen.getByTestId('sort-time'));
    expect(await labels()).toEqual(['lr 0.001', 'lr 0.1', 'lr 0.01']);

    const running = screen.getAllByTestId('leaderboard-run').find((b) => b.getAttribute('data-run-id') === '21')!;
    fireEvent.click(running);
    await waitFor(() => expect(call).toHaveBeenCalledWith('cancelRun', { id: 21 }));
    fireEvent.click(screen.getByTestId('sweep-cancel'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('cancelSweep', { id: 3 }));
  });
});

describe('sweep form', () => {
  it('plans the grid typed, shows the runs with their time, then starts it; a bad value is refused on its field', async () => {
    const plan = {
      runs: [0, 1].map((i) => ({ index: i, configIndex: i, config, fold: null, label: `lr ${i ? 0.01 : 0.1}`, estimateSeconds: 12 })),
      configurations: 2,
      folds: null,
      images: 36,
      estimate: { seconds: 24, source: 'a rough default' },
      grouping: { audited: false, text: 'No audit has looked for near-duplicates in this project.' },
    };
    call.mockImplementation((name: string) =>
      Promise.resolve(name === 'listModels' ? [{ id: 'm025', hidden: false }] : name === 'planSweep' ? plan : name === 'startSweep' ? { sweepId: 7, plan, job: {} } : null),
    );
    const started = vi.fn();
    render(
      <MantineProvider>
        <SweepForm onStarted={started} />
      </MantineProvider>,
    );
    await waitFor(() => expect(call).toHaveBeenCalledWith('listModels', {}));
    fireEvent.change(screen.getByTestId('sweep-lr'), { target: { value: '0.1, fast' } });
    fireEvent.click(screen.getByTestId('sweep-plan'));
    await waitFor(() => screen.getByText('lr: fast is not a number.'));
    fireEvent.change(screen.getByTestId('sweep-lr'), { target: { value: '0.1, 0.01' } });
    fireEvent.change(screen.getByTestId('sweep-seed'), { target: { value: '' } });
    expect(screen.getByTestId('sweep-start')).toHaveProperty('disabled', true);
    fireEvent.click(screen.getByTestId('sweep-plan'));
    await waitFor(() => expect(screen.getAllByTestId('sweep-planned-run')).toHaveLength(2));
    expect(call).toHaveBeenCalledWith('planSweep', { grid: { scenario: [1], lr: [0.1, 0.01], model: ['m025'] }, on: 'local' });
    expect(screen.getByTestId('sweep-planned').textContent).toContain('2 runs: 2 configurations on 36 labelled images · about 24 s');
    expect(screen.getByTestId('sweep-fold-grouping').textContent).toBe('No audit has looked for near-duplicates in this project.');
    fireEvent.click(screen.getByTestId('sweep-start'));
    await waitFor(() => expect(started).toHaveBeenCalledWith(7));
    expect(call).toHaveBeenCalledWith('startSweep', { grid: { scenario: [1], lr: [0.1, 0.01], model: ['m025'] }, on: 'local' });
  });
});
