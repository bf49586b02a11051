import { describe, expect, it } from 'vitest';
import type { ProjectCounts } from '../../../src/shared/domain';
import { dataFacts } from '../../../src/renderer/features/training/wizard/data-facts';
import { buildConfig, defaultsFor } from '../../../src/renderer/features/training/wizard/form';

const counts = (classes: [string, number, number][], unlabelled = 0): ProjectCounts => ({
  total: classes.reduce((a, [, t, v]) => a + t + v, 0) + unlabelled,
  unlabelled,
  bySplit: { train: classes.reduce((a, [, t]) => a + t, 0), val: classes.reduce((a, [, , v]) => a + v, 0), test: 0 },
  byClass: classes.map(([name, train, val], i) => ({ id: i + 1, name, color: '#000000', position: i, train, val, test: 0, total: train + val })),
});

describe('wizard: data facts', () => {
  it('counts, the majority baseline and warnings', () => {
    const f = dataFacts(counts([['a', 40, 10], ['b', 6, 2], ['c', 20, 0]], 5));
    expect(f).toMatchObject({ labelled: 78, train: 66, val: 12, unlabelled: 5, blocking: false });
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

describe('wizard: settings', () => {
  it('builds a valid config from the defaults of every scenario (with a boundary for scenario 2)', () => {
    for (const s of [1, 2, 3, 4] as const) {
      const r = buildConfig(s, { ...defaultsFor(s), model: 'mobilenet_v1_0.25_224', freezeTo: 'conv_pw_5_relu' });
      expect(r.errors).toBeNull();
      expect(r.config!.scenario).toBe(s);
    }
    const four = buildConfig(4, { ...defaultsFor(4), model: 'm' }).config!;
    expect(four.lrPretrained).toBeLessThan(four.lr);
  });

  it('reports field errors by their path', () => {
    const r = buildConfig(2, { ...defaultsFor(2), model: 'm', lr: '', batchSize: 0, hidden: '64, x', epochs: 2.5 });
    expect(r.config).toBeNull();
    expect(Object.keys(r.errors!).sort()).toEqual(['batchSize', 'epochs', 'freezeTo', 'head.hidden', 'lr']);
    expect(r.errors!.lr).toBe('A number is required.');
  });
});
