import { describe, expect, it } from 'vitest';
import type { LayerInfo, SimilarityEstimateInfo } from '../../../src/shared/domain';
import { adviseProject } from '../../../src/main/scenarios/advisor';
import { blockBoundaries, buildTrainPlan, defaultFreezeTo, TrainPlanError } from '../../../src/shared/train-plan';
import { centroidProbe, classifierEvidence, featureGain, sampleItems, similarityScore } from '../../../src/main/engine/similarity';

/** MobileNet-like: conv1, 13 blocks ending in conv_pw_N_relu, pooling, classifier. */
function layers(): LayerInfo[] {
  const out: LayerInfo[] = [];
  const add = (name: string, className: string, params: number, cutPoint = false) => out.push({ index: out.length, name, className, outputShape: [1], params, cutPoint });
  add('input_1', 'InputLayer', 0);
  add('conv1', 'Conv2D', 100);
  for (let b = 1; b <= 13; b++) {
    add(`conv_dw_${b}`, 'DepthwiseConv2D', 10 * b);
    add(`conv_pw_${b}`, 'Conv2D', 100 * b);
    add(`conv_pw_${b}_relu`, 'Activation', 0, true);
  }
  add('global_average_pooling2d_1', 'GlobalAveragePooling2D', 0, true);
  add('conv_preds', 'Conv2D', 99999);
  return out;
}
const CUT = 'global_average_pooling2d_1';

describe('plan builder', () => {
  it('offers the block ends before the feature layer and retrains the last 4 of 13 by default', () => {
    const b = blockBoundaries(layers(), CUT);
    expect(b).toHaveLength(13);
    expect(b[0]).toBe('conv_pw_1_relu');
    expect(defaultFreezeTo(b)).toBe('conv_pw_9_relu');
  });

  it('splits parameters at the freeze boundary, up to the feature layer (the old classifier is not counted)', () => {
    const p = buildTrainPlan(layers(), { scenario: 2, cutLayer: CUT, freezeTo: 'conv_pw_10_relu' });
    expect(p).toMatchObject({ freezeTo: 'conv_pw_10_relu', frozenBlocks: 10, init: 'pretrained' });
    const all = layers().filter((l) => l.name !== 'conv_preds').reduce((a, l) => a + l.params, 0);
    expect(p.frozenParams + p.trainableParams).toBe(all);
    expect(p.trainable[0]).toBe('conv_dw_11');
    expect(p.trainable.at(-1)).toBe(CUT);
  });

  it('trains everything in scenarios 3 (He) and 4 (pretrained), only the head in 1', () => {
    expect(buildTrainPlan(layers(), { scenario: 3, cutLayer: CUT })).toMatchObject({ freezeTo: null, frozenParams: 0, init: 'he' });
    expect(buildTrainPlan(layers(), { scenario: 4, cutLayer: CUT })).toMatchObject({ freezeTo: null, frozenParams: 0, init: 'pretrained' });
    expect(buildTrainPlan(layers(), { scenario: 1, cutLayer: CUT })).toMatchObject({ trainable: [], trainableParams: 0 });
  });

  it('refuses a boundary that is not a block end, unknown, or after the cut', () => {
    const plan = (freezeTo: string) => () => buildTrainPlan(layers(), { scenario: 2, cutLayer: CUT, freezeTo });
    expect(plan('conv_dw_3')).toThrow(TrainPlanError);
    expect(plan('conv_dw_3')).toThrow(/not a block boundary/);
    expect(plan('nope')).toThrow(/no layer named "nope"/);
    expect(plan(CUT)).toThrow(/must come before/);
  });

  it('names the config field each refusal is about', () => {
    const fieldOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof TrainPlanError ? e.field : 'not a TrainPlanError';
      }
      return 'no error';
    };
    for (const freezeTo of ['conv_dw_3', 'nope', CUT]) expect(fieldOf(() => buildTrainPlan(layers(), { scenario: 2, cutLayer: CUT, freezeTo }))).toBe('config.freezeTo');
    expect(fieldOf(() => buildTrainPlan(layers(), { scenario: 1, cutLayer: 'nope' }))).toBe('config.cutLayer');
    expect(fieldOf(() => buildTrainPlan(layers(), { scenario: 2, cutLayer: 'nope', freezeTo: 'conv_pw_10_relu' }))).toBe('config.cutLayer');
    // The cut layer's own refusal, whatever the freeze boundary's text says.
    expect(fieldOf(() => buildTrainPlan(layers(), { scenario: 2, cutLayer: 'conv_pw_1_relu' }))).toBe('config.cutLayer');
  });
});

const estimate = (level: 'high' | 'low'): SimilarityEstimateInfo => ({
  level,
  score: level === 'high' ? 0.8 : 0.3,
  sampled: 100,
  meanTop1: 0.1,
  consistency: 0.3,
  probeAccuracy: 0.5,
  pixelProbeAccuracy: 0.45,
  chance: 0.1,
  evidence: ['the classifier is 10% sure', 'probe 50%'],
});

describe('advisor with the similarity estimate', () => {
  it('uses the estimate when the user has no answer, with its evidence and scenario 2 k', () => {
    const a = adviseProject({ imagesPerClass: [40, 50], answer: 'unknown', estimate: estimate('low'), model: 'm', layers: layers(), cutLayer: CUT });
    expect(a).toMatchObject({ scenario: 2, similarity: 'low', similaritySource: 'estimate', freezeTo: 'conv_pw_9_relu', k: 9, blocks: 13 });
    expect(a.reasons).toContain('probe 50%');
    expect(a.reasons.join(' ')).toMatch(/Freeze the first 9 of 13 blocks/);
  });

  it("lets the user's answer win over the estimate", () => {
    const a = adviseProject({ imagesPerClass: [4000, 5000], answer: 'high', estimate: estimate('low'), model: 'm' });
    expect(a).toMatchObject({ scenario: 4, similarity: 'high', similaritySource: 'answer', size: 'large', k: null });
  });

  it("counts the answer 'medium' (photos of an unusual subject) as similar, whatever the estimate says", () => {
    const small = adviseProject({ imagesPerClass: [40, 50], answer: 'medium', estimate: estimate('low'), model: 'm' });
    expect(small).toMatchObject({ scenario: 1, similarity: 'medium', similaritySource: 'answer', largeFrom: 1000 });
    expect(small.reasons.join(' ')).toMatch(/your answer \(somewhat similar, counted as similar\)/);
    expect(adviseProject({ imagesPerClass: [4000, 5000], answer: 'medium', estimate: null, model: 'm' }).scenario).toBe(4);
  });

  it("gives every choice's parameter counts as the plan builder counts them, so no client counts", () => {
    const a = adviseProject({ imagesPerClass: [40, 50], answer: 'low', estimate: null, model: 'm', layers: layers(), cutLayer: CUT });
    const plans = a.plans!;
    expect(plans.cutLayer).toBe(CUT);
    expect(plans.freeze.map((c) => c.layer)).toEqual(blockBoundaries(layers(), CUT));
    for (const c of plans.freeze) {
      const p = buildTrainPlan(layers(), { scenario: 2, cutLayer: CUT, freezeTo: c.layer });
      expect(c).toEqual({ layer: c.layer, frozenParams: p.frozenParams, trainableParams: p.trainableParams });
    }
    // The default boundary is one of the choices, k = its position + 1.
    expect(plans.freeze.findIndex((c) => c.layer === a.freezeTo) + 1).toBe(a.k);
    expect(plans.features.map((c) => c.layer)).toEqual(layers().filter((l) => l.cutPoint).map((l) => l.name));
    expect(plans.features.find((c) => c.layer === 'conv_pw_2_relu')).toEqual({ layer: 'conv_pw_2_relu', frozenParams: 100 + 10 + 100 + 20 + 200, trainableParams: 0 });
    expect(plans.wholeParams).toBe(buildTrainPlan(layers(), { scenario: 4, cutLayer: CUT }).trainableParams);
    expect(adviseProject({ imagesPerClass: [40, 50], answer: 'low', estimate: null, model: 'm' }).plans).toBeNull();
  });

  it('says why there is no estimate', () => {
    const a = adviseProject({ imagesPerClass: [10, 12], answer: 'unknown', estimate: null, estimateNote: 'no model is installed', model: null });
    expect(a).toMatchObject({ scenario: 1, similaritySource: 'none', estimateNote: 'no model is installed' });
    expect(a.reasons.join(' ')).toMatch(/no model is installed/);
  });
});

describe('similarity evidence', () => {
  it('probes with nearest centroids: separable features score 1, identical ones chance or less', () => {
    const sep = [0, 0, 0, 0, 1, 1, 1, 1].map((l, i) => Float32Array.from([l === 0 ? 1 : 0.01 * i, l === 1 ? 1 : 0.01 * i]));
    const labels = [0, 0, 0, 0, 1, 1, 1, 1];
    expect(centroidProbe(sep, labels)).toBe(1);
    const same = labels.map(() => Float32Array.from([1, 1]));
    expect(centroidProbe(same, labels)).toBeLessThanOrEqual(0.5);
  });

  it('measures confidence and per-class consistency of the pretrained top-1', () => {
    const probs = [
      [0.9, 0.1, 0],
      [0.8, 0.2, 0],
      [0.2, 0.3, 0.5],
      [0.1, 0.6, 0.3],
    ];
    const e = classifierEvidence(probs, [0, 0, 1, 1], 2);
    expect(e.meanTop1).toBeCloseTo((0.9 + 0.8 + 0.5 + 0.6) / 4, 6);
    expect(e.consistency).toBeCloseTo(3 / 4, 6);
    expect(e.commonest[0]).toBe(0);
  });

  it('scores features that beat raw pixels by far high, and features no better than pixels low', () => {
    expect(featureGain(0.9, 0.3)).toBeCloseTo(6 / 7, 6);
    expect(featureGain(0.7, 0.8)).toBe(0);
    expect(similarityScore(0.95, 0.3, { meanTop1: 0.6, consistency: 0.8, commonest: [] })).toBeGreaterThanOrEqual(0.6);
    // Digits: a confident, consistent, but meaningless ImageNet label, and pixels nearly as good as features.
    expect(similarityScore(0.83, 0.8, { meanTop1: 0.4, consistency: 0.57, commonest: [] })).toBeLessThan(0.6);
    expect(similarityScore(0.5, 0.5, null)).toBe(0);
  });

  it('samples the same images per class whatever their order', () => {
    const items = Array.from({ length: 60 }, (_, i) => ({ path: `p${i}`, hash: `h${(i * 37) % 60}`, label: i % 3 }));
    const a = sampleItems(items, 5);
    const b = sampleItems([...items].reverse(), 5);
    expect(a).toHaveLength(15);
    expect(new Set(a.map((i) => i.hash))).toEqual(new Set(b.map((i) => i.hash)));
  });
});
