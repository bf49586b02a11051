/**
 * The train plan: for a scenario and a model's layer graph, which layers stay frozen, which
 * train, where the head attaches, and how the weights start. Pure data (no TensorFlow.js), in
 * src/shared because both sides use it: the engine builds and checks it (planTraining) and follows
 * it, the advisor on the host builds one per choice to report.
 *
 *   1  frozen: input .. cut layer                 trainable: the head only
 *   2  frozen: input .. freezeTo (a block end)    trainable: after freezeTo .. cut layer + head
 *   3  frozen: nothing                            trainable: everything, He-initialised
 *   4  frozen: nothing                            trainable: everything, pretrained init
 *
 * Networks are graphs (ResNet's and MobileNetV2's skip connections, EfficientNet's
 * squeeze-excite), so a freeze boundary is a cut: a layer whose output every path from the input
 * to the cut layer crosses (it dominates the cut layer). The frozen part is everything the
 * boundary depends on, the trainable part everything between it and the cut layer; a block end
 * inside a residual block (its skip bypasses it) is no cut and is not offered.
 */
import type { LayerInfo, ModelInspection, Scenario } from './domain';

/** The training config's field a train plan's error is about. */
export type TrainPlanField = 'config.cutLayer' | 'config.freezeTo';

/** A train plan that cannot be built, naming the config field at fault. */
export class TrainPlanError extends Error {
  constructor(
    /** NOT_A_CUT_POINT, UNKNOWN_LAYER or BAD_JOB (the host maps them to bad input). */
    readonly code: 'NOT_A_CUT_POINT' | 'UNKNOWN_LAYER' | 'BAD_JOB',
    message: string,
    readonly field: TrainPlanField,
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
  /** Layer names after freezeTo up to and including the cut layer, in layer order (empty for scenario 1). */
  trainable: string[];
  frozenParams: number;
  trainableParams: number;
  init: 'pretrained' | 'he';
}

const POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

/** The layer graph: each layer's inbound layers (a layer without `inbound` follows the previous one). */
export class LayerGraph {
  private readonly inbound = new Map<string, string[]>();
  readonly order = new Map<string, number>();

  constructor(readonly layers: readonly LayerInfo[]) {
    layers.forEach((l, i) => {
      this.order.set(l.name, i);
      this.inbound.set(l.name, l.inbound ?? (i > 0 ? [layers[i - 1]!.name] : []));
    });
  }

  has(name: string): boolean {
    return this.order.has(name);
  }

  /** `name` and every layer it depends on. */
  ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(this.inbound.get(n) ?? []));
    }
    return seen;
  }

  /**
   * Whether every path from an input of the network to `target` crosses the output of `boundary`
   * (so the part up to `boundary` can be computed once and the rest from it alone). Walks back
   * from `target` without passing `boundary`: reaching an input means a path avoids it.
   */
  isCut(boundary: string, target: string): boolean {
    if (!this.has(boundary) || !this.has(target)) return false;
    if (boundary === target) return true;
    const seen = new Set<string>([boundary]);
    const stack = [target];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const from = this.inbound.get(n) ?? [];
      if (from.length === 0) return false;
      stack.push(...from);
    }
    return true;
  }

  /** Names of `set` in layer order. */
  sorted(set: Set<string>): string[] {
    return [...set].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }
}

function requireLayer(graph: LayerGraph, name: string, field: TrainPlanField): void {
  const what = field === 'config.cutLayer' ? 'the cut layer' : 'the freeze boundary';
  if (!graph.has(name)) throw new TrainPlanError('UNKNOWN_LAYER', `The model has no layer named "${name}" (${what}).`, field);
}

/** Block ends before the cut layer that cut the graph (not the pooling): where the network can be frozen up to. */
export function blockBoundaries(layers: readonly LayerInfo[], cutLayer: string, graph = new LayerGraph(layers)): string[] {
  requireLayer(graph, cutLayer, 'config.cutLayer');
  return layers.filter((l) => l.name !== cutLayer && l.cutPoint && !POOLING.has(l.className) && graph.isCut(l.name, cutLayer)).map((l) => l.name);
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

export function buildTrainPlan(
  layers: readonly LayerInfo[],
  options: { scenario: Scenario; cutLayer: string; freezeTo?: string | undefined },
): TrainPlan {
  const { scenario, cutLayer } = options;
  const graph = new LayerGraph(layers);
  requireLayer(graph, cutLayer, 'config.cutLayer');
  const boundaries = blockBoundaries(layers, cutLayer, graph);
  const upToCut = graph.ancestors(cutLayer);
  let freezeTo: string | null = null;
  if (scenario === 1) freezeTo = cutLayer;
  if (scenario === 2) {
    freezeTo = options.freezeTo ?? defaultFreezeTo(boundaries);
    if (freezeTo === null) throw new TrainPlanError('BAD_JOB', `Scenario 2 needs a block boundary to freeze up to; ${cutLayer} has none before it.`, 'config.cutLayer');
    requireLayer(graph, freezeTo, 'config.freezeTo');
    if (freezeTo === cutLayer || !upToCut.has(freezeTo)) throw new TrainPlanError('BAD_JOB', `The freeze boundary ${freezeTo} must come before the cut layer ${cutLayer}.`, 'config.freezeTo');
    if (!boundaries.includes(freezeTo)) {
      const why = graph.isCut(freezeTo, cutLayer) ? '' : ' (a skip connection goes around it, so the network cannot be split there)';
      throw new TrainPlanError('NOT_A_CUT_POINT', `${freezeTo} is not a block boundary${why}; freeze up to one of: ${boundaries.join(', ')}.`, 'config.freezeTo');
    }
  }
  const frozen = freezeTo === null ? new Set<string>() : graph.ancestors(freezeTo);
  const trainable = scenario === 1 ? [] : graph.sorted(new Set([...upToCut].filter((n) => !frozen.has(n))));
  const sum = (names: Iterable<string>) => [...names].reduce((a, n) => a + (layers[graph.order.get(n)!]?.params ?? 0), 0);
  return {
    scenario,
    cutLayer,
    freezeTo,
    frozenBlocks: scenario === 1 ? boundaries.length : freezeTo === null ? 0 : boundaries.indexOf(freezeTo) + 1,
    boundaries,
    trainable,
    frozenParams: sum(frozen),
    trainableParams: sum(trainable),
    init: scenario === 3 ? 'he' : 'pretrained',
  };
}

/** The plan of a training config on an inspected model: at the model's default cut layer when the config names none. */
export function trainPlanFor(
  model: Pick<ModelInspection, 'layers' | 'defaultCutLayer'>,
  config: { scenario: Scenario; cutLayer?: string | undefined; freezeTo?: string | undefined },
): TrainPlan {
  return buildTrainPlan(model.layers, { scenario: config.scenario, cutLayer: config.cutLayer ?? model.defaultCutLayer, freezeTo: config.freezeTo });
}
