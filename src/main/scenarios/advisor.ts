/**
 * The advisor: dataset size x similarity to the pretrained data -> one of the four ways to reuse
 * a pretrained network (DESIGN.md), and for scenario 2 how many blocks to freeze (k). Pure
 * functions, no TensorFlow.js.
 *
 *   small + high similarity -> 1 feature extraction (train a new head only)
 *   small + low             -> 2 freeze the first k layers, train the rest + head
 *   large + low             -> 3 same architecture from scratch
 *   large + high            -> 4 fine-tune everything with a small learning rate
 *
 * "Small" is judged per class (images per class of the smallest class, default threshold 1,000):
 * fine-tuning millions of weights on a few hundred images per class overfits. Similarity is the
 * user's answer when given, else the studio's estimate (the engine's, see engine/similarity.ts);
 * 'medium' (photos, but of an unusual subject) counts as high: the early and middle features of a
 * network pretrained on photos still fit. 'unknown' is treated as high for small sets (feature
 * extraction is the safe first try) and as low for large ones.
 *
 * The wizard and the CLI both ask this module (through the `advise` request); neither decides
 * a scenario or a freeze boundary itself.
 */
import type { AdviceInfo, LayerInfo, ModelPlans, PlanChoice, Scenario, SimilarityAnswer, SimilarityEstimateInfo } from '../../shared/domain';
import { blockBoundaries, buildTrainPlan, type TrainPlan } from '../../shared/train-plan';

export type Similarity = SimilarityAnswer;

/** Images per class (of the smallest class) from which a set counts as large. */
export const LARGE_FROM = 1000;

export interface AdviceInput {
  /** Labelled training images per class. */
  imagesPerClass: number[];
  similarity: Similarity;
  /** Images per class (of the smallest class) from which a set counts as large. */
  largeFrom?: number;
}

export interface Advice {
  scenario: Scenario;
  size: 'small' | 'large';
  similarity: Similarity;
  reason: string;
}

export function advise(input: AdviceInput): Advice {
  const largeFrom = input.largeFrom ?? LARGE_FROM;
  const smallest = input.imagesPerClass.length ? Math.min(...input.imagesPerClass) : 0;
  const size = smallest >= largeFrom ? 'large' : 'small';
  const high = input.similarity === 'high' || input.similarity === 'medium' || (input.similarity === 'unknown' && size === 'small');
  const per = `${smallest} images in the smallest class (large from ${largeFrom})`;
  if (size === 'small' && high) {
    return { scenario: 1, size, similarity: input.similarity, reason: `Small dataset (${per}) similar to the pretrained data: reuse the network as a frozen feature extractor and train only a new head.` };
  }
  if (size === 'small') {
    return { scenario: 2, size, similarity: input.similarity, reason: `Small dataset (${per}) unlike the pretrained data: keep the first, generic layers frozen and retrain the later, specific ones with a new head.` };
  }
  if (!high) {
    return { scenario: 3, size, similarity: input.similarity, reason: `Large dataset (${per}) unlike the pretrained data: train the same architecture from scratch.` };
  }
  return { scenario: 4, size, similarity: input.similarity, reason: `Large dataset (${per}) similar to the pretrained data: fine-tune the whole network from the pretrained weights with a small learning rate.` };
}

export interface FullAdviceInput {
  imagesPerClass: number[];
  /** The user's answer; 'unknown' lets the estimate decide. */
  answer: Similarity;
  estimate: SimilarityEstimateInfo | null;
  estimateNote?: string | null;
  model: string | null;
  /** The model's layers and feature layer, for scenario 2's k and the plans (absent: neither). */
  layers?: readonly LayerInfo[];
  cutLayer?: string;
  largeFrom?: number;
}

const ANSWER_TEXT: Record<Exclude<Similarity, 'unknown'>, string> = {
  high: 'similar',
  medium: 'somewhat similar, counted as similar',
  low: 'different',
};

/**
 * What each choice on a model freezes and trains, counted by the plan builder, so a client shows
 * the numbers of whatever the user picks without counting itself. Null when the feature layer is
 * not one of the layers.
 */
export function modelPlans(layers: readonly LayerInfo[], cutLayer: string): ModelPlans | null {
  if (!layers.some((l) => l.name === cutLayer)) return null;
  const choice = (layer: string, plan: TrainPlan): PlanChoice => ({ layer, frozenParams: plan.frozenParams, trainableParams: plan.trainableParams });
  return {
    cutLayer,
    features: layers.filter((l) => l.cutPoint).map((l) => choice(l.name, buildTrainPlan(layers, { scenario: 1, cutLayer: l.name }))),
    freeze: blockBoundaries(layers, cutLayer).map((b) => choice(b, buildTrainPlan(layers, { scenario: 2, cutLayer, freezeTo: b }))),
    wholeParams: buildTrainPlan(layers, { scenario: 4, cutLayer }).trainableParams,
  };
}

/** The advice with where its similarity came from, the estimate's evidence, scenario 2's k and the model's plans. */
export function adviseProject(input: FullAdviceInput): AdviceInfo {
  const similarity: Similarity = input.answer !== 'unknown' ? input.answer : (input.estimate?.level ?? 'unknown');
  const source = input.answer !== 'unknown' ? 'answer' : input.estimate ? 'estimate' : 'none';
  const largeFrom = input.largeFrom ?? LARGE_FROM;
  const base = advise({ imagesPerClass: input.imagesPerClass, similarity, largeFrom });
  const reasons = [base.reason];
  if (input.answer !== 'unknown') reasons.push(`Similarity: your answer (${ANSWER_TEXT[input.answer]}).`);
  if (source === 'estimate' && input.estimate) reasons.push(`Similarity: the studio's estimate (${input.estimate.level}, score ${input.estimate.score.toFixed(2)}).`, ...input.estimate.evidence);
  if (source === 'none') reasons.push(`Similarity unknown${input.estimateNote ? ` (${input.estimateNote})` : ''}: answer the similarity question to sharpen the advice.`);
  let k: Pick<AdviceInfo, 'freezeTo' | 'k' | 'blocks' | 'frozenParams' | 'trainableParams'> = { freezeTo: null, k: null, blocks: null, frozenParams: null, trainableParams: null };
  if (input.layers && input.cutLayer) {
    try {
      const plan = buildTrainPlan(input.layers, { scenario: 2, cutLayer: input.cutLayer });
      k = { freezeTo: plan.freezeTo, k: plan.frozenBlocks, blocks: plan.boundaries.length, frozenParams: plan.frozenParams, trainableParams: plan.trainableParams };
      if (base.scenario === 2) {
        reasons.push(
          `Freeze the first ${plan.frozenBlocks} of ${plan.boundaries.length} blocks (up to ${plan.freezeTo}): early blocks detect edges and textures that suit any images; ` +
            `the last ${plan.boundaries.length - plan.frozenBlocks} blocks and the head (${plan.trainableParams.toLocaleString('en')} parameters before the head) adapt to yours.`,
        );
      }
    } catch {
      // A model without block boundaries before its feature layer: scenario 2 has no k to offer.
    }
  }
  const smallest = input.imagesPerClass.length ? Math.min(...input.imagesPerClass) : 0;
  return {
    scenario: base.scenario,
    size: base.size,
    similarity,
    similaritySource: source,
    estimate: input.estimate,
    estimateNote: input.estimateNote ?? null,
    smallestClass: smallest,
    largeFrom,
    model: input.model,
    ...k,
    plans: input.layers && input.cutLayer ? modelPlans(input.layers, input.cutLayer) : null,
    reason: base.reason,
    reasons,
  };
}
