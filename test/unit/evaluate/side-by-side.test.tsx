// @vitest-environment jsdom
/**
 * Two runs side by side ("which backbone"): the figures with the run ahead on each, and each class's
 * validation accuracy matched by name, in the pure logic and in Run history's compare view.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { browserApisForMantine } from '../helpers';
import type { RunDetail } from '../../../src/shared/domain';
import { ahead, perClassPairs, sideRows } from '../../../src/renderer/features/evaluate/side-by-side';

function run(id: number, model: string, extra: Partial<RunDetail>): RunDetail {
  return {
    id,
    scenario: 2,
    model,
    state: 'succeeded',
    config: { scenario: 2, model, epochs: 3, batchSize: 8, lr: 0.001, seed: 1 } as unknown as RunDetail['config'],
    backend: null,
    classNames: ['cat', 'dog'],
    baseline: 0.5,
    bestEpoch: 2,
    bestValAcc: null,
    bestValLoss: 0.4,
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:01:00.000Z',
    error: null,
    jobId: null,
    sweepId: null,
    fold: null,
    kind: 'train',
    result: null,
    metrics: [],
    confusion: null,
    ...extra,
  };
}

const mobile = run(1, 'mobilenet_v1_0.25_224', {
  bestValAcc: 0.75,
  finishedAt: '2026-01-01T10:00:30.000Z',
  result: { imagesPerSec: 120.5, frozenParams: 100_000, trainableParams: 118_000 },
  confusion: { epoch: 2, classNames: ['cat', 'dog'], matrix: [[3, 1], [1, 3]] },
});
const resnet = run(2, 'resnet50', {
  bestValAcc: 0.875,
  finishedAt: '2026-01-01T10:05:00.000Z',
  result: { imagesPerSec: 12.25, frozenParams: 8_500_000, trainableParams: 15_000_000 },
  // Classes in another order, and one the other run does not have.
  confusion: { epoch: 3, classNames: ['Dog', 'cat', 'bird'], matrix: [[4, 0, 0], [1, 3, 0], [0, 0, 0]] },
});

describe('side by side', () => {
  it('says which run is ahead on each figure', () => {
    expect(ahead(0.8, 0.7)).toBe('a');
    expect(ahead(30, 300, true)).toBe('a');
    expect(ahead(null, 0.7)).toBeNull();
    expect(ahead(0.7, 0.7)).toBeNull();
    const rows = Object.fromEntries(sideRows(mobile, resnet).map((r) => [r.key, r]));
    expect(rows['model']).toMatchObject({ a: 'mobilenet_v1_0.25_224', b: 'resnet50', ahead: null });
    expect(rows['best val accuracy']).toMatchObject({ a: '75.0%', b: '87.5%', ahead: 'b' });
    expect(rows['training time']).toMatchObject({ ahead: 'a' });
    expect(rows['images / s']).toMatchObject({ a: '120.5', b: '12.3', ahead: 'a' });
    expect(rows['trainable parameters']).toMatchObject({ a: '118.0 k', b: '15.00 M' });
  });

  it('matches classes by name for the per-class accuracy', () => {
    expect(perClassPairs(mobile, resnet)).toEqual([
      { name: 'cat', a: 0.75, b: 0.75, ahead: null },
      { name: 'dog', a: 0.75, b: 1, ahead: 'b' },
      { name: 'bird', a: null, b: null, ahead: null },
    ]);
  });
});

const call = vi.fn();
vi.mock('../../../src/renderer/api/client', () => ({
  api: { call: (...args: unknown[]) => call(...args) as unknown, on: () => () => undefined },
  fileUrl: () => '',
}));
const { RunHistory } = await import('../../../src/renderer/features/evaluate/RunHistory');

beforeAll(browserApisForMantine);
afterEach(cleanup);

describe('Run history compare', () => {
  it('shows the two runs side by side once two are ticked', async () => {
    call.mockImplementation((name: string, input: { id: number }) => Promise.resolve(name === 'getRun' ? (input.id === 1 ? mobile : resnet) : null));
    render(
      <MantineProvider>
        <RunHistory runs={[mobile, resnet]} onOpen={() => undefined} />
      </MantineProvider>,
    );
    for (const box of screen.getAllByTestId('compare-check')) fireEvent.click(box);
    const summary = await waitFor(() => screen.getByTestId('compare-summary'));
    const rows = within(summary).getAllByTestId('side-row').map((r) => [r.textContent, r.getAttribute('data-ahead')]);
    expect(rows).toContainEqual(['best val accuracy75.0%87.5%', 'b']);
    expect(rows).toContainEqual(['modelmobilenet_v1_0.25_224resnet50', '']);
    const perClass = within(screen.getByTestId('compare-per-class')).getAllByTestId('side-row').map((r) => r.textContent);
    expect(perClass).toEqual(['cat75.0%75.0%', 'dog75.0%100.0%', 'bird——']);
  });
});
