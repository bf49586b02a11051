/**
 * The plan builder: for a scenario and a model's layer list, which layers stay frozen, which
 * train, where the head attaches, and how the weights start. Pure data (no TensorFlow.js): the
 * engine follows the plan, the advisor and the CLI report it.
 *
 *   1  frozen: input .. cut layer                 trainable: the head only
 *   2  frozen: input .. freezeTo (a block end)    trainable: after freezeTo .. cut layer + head
 *   3  frozen: nothing                            trainable: everything, He-initialised
 *   4  frozen: nothing                            trainable: everything, pretrained init
 */
import type { Scenario } from '../../shared/domain';
import type { LayerInfo } from '../models/types';

export class PlanError extends Error {
  constructor(
    /** NOT_A_CUT_POINT, UNKNOWN_LAYER or BAD_JOB (the host maps them to bad input). */
    readonly code: 'NOT_A_CUT_POINT' | 'UNKNOWN_LAYER' | 'BAD_JOB',
    message: string,
  ) {
    super(message);
  }
}

export interface TrainPlan {
  scenario: Scenario;
  /** The layer whose output (globally average-pooled when 4-D) feeds the new head. */
  cutLayer: string;
  /** Last frozen layer (scenario 2), or null when nothing before the head is frozen. */
  freezeTo: string | null;
  /** Number of blocks frozen (k), counted in block boundaries up to freezeTo. */
  frozenBlocks: number;
  /** All block boundaries before the cut layer, in order: the valid freezeTo choices. */
  boundaries: string[];
  /** Layer names after freezeTo up to and including the cut layer (empty for scenario 1). */
  trainable: string[];
  frozenParams: number;
  trainableParams: number;
  init: 'pretrained' | 'he';
}

const POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

function indexOf(layers: readonly LayerInfo[], name: string, what: string): number {
  const i = layers.findIndex((l) => l.name === name);
  if (i < 0) throw new PlanError('UNKNOWN_LAYER', `The model has no layer named "${name}" (${what}).`);
  return i;
}

/** Block ends strictly before the cut layer where the network can be frozen up to (not the pooling). */
export function blockBoundaries(layers: readonly LayerInfo[], cutLayer: string): string[] {
  const cut = indexOf(layers, cutLayer, 'the cut layer');
  return layers.filter((l, i) => i < cut && l.cutPoint && !POOLING.has(l.className)).map((l) => l.name);
}

/**
 * Default freeze boundary for scenario 2: keep the generic early blocks, retrain the last third
 * of them (at most 4: small datasets overfit more trainable weights, and each block costs a
 * backward pass on the CPU).
 */
export function defaultFreezeTo(boundaries: readonly string[]): string | null {
  if (boundaries.length < 2) return null;
  const retrain = Math.max(1, Math.min(4, Math.ceil(boundaries.length / 3)));
  return boundaries[boundaries.length - 1 - retrain] ?? null;
}

export function buildPlan(
  layers: readonly LayerInfo[],
  options: { scenario: Scenario; cutLayer: string; freezeTo?: string | undefined },
): TrainPlan {
  const { scenario, cutLayer } = options;
  const cut = indexOf(layers, cutLayer, 'the cut layer');
  const boundaries = blockBoundaries(layers, cutLayer);
  let freezeTo: string | null = null;
  if (scenario === 1) freezeTo = cutLayer;
  if (scenario === 2) {
    freezeTo = options.freezeTo ?? defaultFreezeTo(boundaries);
    if (freezeTo === null) throw new PlanError('BAD_JOB', `Scenario 2 needs a block boundary to freeze up to; ${cutLayer} has none before it.`);
    const f = indexOf(layers, freezeTo, 'the freeze boundary');
    if (f >= cut) throw new PlanError('BAD_JOB', `The freeze boundary ${freezeTo} must come before the cut layer ${cutLayer}.`);
    if (!boundaries.includes(freezeTo)) {
      throw new PlanError('NOT_A_CUT_POINT', `${freezeTo} is not a block boundary; freeze up to one of: ${boundaries.join(', ')}.`);
    }
  }
  const f = freezeTo === null ? 0 : layers.findIndex((l) => l.name === freezeTo) + 1;
  const sum = (from: number, to: number) => layers.slice(from, to).reduce((a, l) => a + l.params, 0);
  return {
    scenario,
    cutLayer,
    freezeTo: scenario === 1 ? cutLayer : freezeTo,
    frozenBlocks: scenario === 1 ? boundaries.length : freezeTo === null ? 0 : boundaries.indexOf(freezeTo) + 1,
    boundaries,
    trainable: scenario === 1 ? [] : layers.slice(f, cut + 1).map((l) => l.name),
    frozenParams: sum(0, scenario === 1 ? cut + 1 : f),
    trainableParams: scenario === 1 ? 0 : sum(f, cut + 1),
    init: scenario === 3 ? 'he' : 'pretrained',
  };
}
