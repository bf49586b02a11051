import { describe, expect, it } from 'vitest';
import type { ProjectCounts } from '../../../src/shared/domain';
import { buildConfig, dataFacts, defaultsFor, paramSplit, placement, recommend } from '../../../src/renderer/features/training/wizard-logic';

const counts = (classes: [string, number, number][], unlabelled = 0): ProjectCounts => ({
  total: classes.reduce((a, [, t, v]) => a + t + v, 0) + unlabelled,
  unlabelled,
  bySplit: { train: classes.reduce((a, [, t]) => a + t, 0), val: classes.reduce((a, [, , v]) => a + v, 0), test: 0 },
  byClass: classes.map(([name, train, val], i) => ({ id: i + 1, name, color: '#000000', position: i, train, val, test: 0, total: train + val })),
});

describe('wizard: data facts', () => {
  it('counts, the majority baseline and warnings', () => {
    const f = dataFacts(counts([['a', 40, 10], ['b', 6, 2], ['c', 20, 0]], 5));
    expect(f).toMatchObject({ labelled: 78, train: 66, val: 12, unlabelled: 5, smallest: 8, blocking: false });
    expect(f.baseline).toBeCloseTo(50 / 78);
    expect(f.warnings.join('\n')).toMatch(/"b" has only 8 images/);
    expect(f.warnings.join('\n')).toMatch(/"c" has no validation images/);
    expect(f.warnings.join('\n')).toMatch(/5 images are unlabelled/);
  });

  it('blocks training without validation images or a second class', () => {
    expect(dataFacts(counts([['a', 40, 0], ['b', 30, 0]])).blocking).toBe(true);
    expect(dataFacts(counts([['a', 40, 5]])).blocking).toBe(true);
  });
});

describe('wizard: scenario', () => {
  it('maps size x similarity to the four scenarios', () => {
    expect(recommend(50, 0.8)).toBe(1);
    expect(recommend(50, 0.2)).toBe(2);
    expect(recommend(5000, 0.2)).toBe(3);
    expect(recommend(5000, 0.8)).toBe(4);
    expect(placement(1000, 0.5)).toEqual({ x: 0.5, y: 0.5 });
  });
});

describe('wizard: settings', () => {
  it('builds a valid config from the defaults of every scenario (with a boundary for scenario 2)', () => {
    for (const s of [1, 2, 3, 4] as const) {
      const r = buildConfig(s, { ...defaultsFor(s), freezeTo: 'conv_pw_5_relu' });
      expect(r.errors).toBeNull();
      expect(r.config!.scenario).toBe(s);
    }
    expect(buildConfig(4, defaultsFor(4)).config!.lrPretrained).toBeLessThan(buildConfig(4, defaultsFor(4)).config!.lr);
  });

  it('reports field errors by their path', () => {
    const r = buildConfig(2, { ...defaultsFor(2), lr: '', batchSize: 0, hidden: '64, x', epochs: 2.5 });
    expect(r.config).toBeNull();
    expect(Object.keys(r.errors!).sort()).toEqual(['batchSize', 'epochs', 'freezeTo', 'head.hidden', 'lr']);
    expect(r.errors!.lr).toBe('A number is required.');
  });

  it('splits parameters at the freeze boundary', () => {
    const layers = [
      { name: 'a', params: 10 },
      { name: 'b', params: 20 },
      { name: 'c', params: 30 },
      { name: 'd', params: 40 },
    ];
    expect(paramSplit(layers, 'b')).toEqual({ frozen: 30, trainable: 70 });
    expect(paramSplit(layers, 'c', 'c')).toEqual({ frozen: 60, trainable: 0 });
    expect(paramSplit(layers, null)).toEqual({ frozen: 0, trainable: 100 });
  });
});
