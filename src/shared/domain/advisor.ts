/** The advisor: scenario, k and the similarity estimate. */
import { z } from 'zod';
import type { Scenario } from './training';

/** The studio's estimate of how similar the labelled images are to the pretrained network's data. */
export interface SimilarityEstimateInfo {
  level: 'high' | 'low';
  /** 0..1 from the evidence; 'high' from 0.6. */
  score: number;
  /** Images looked at (a per-class sample). */
  sampled: number;
  /** Mean top-1 probability of the pretrained classifier on the sample (null: the model has no classifier output). */
  meanTop1: number | null;
  /** Share of images whose top-1 pretrained label is the commonest one of their class. */
  consistency: number | null;
  /** Held-out accuracy of a nearest-centroid probe on the pretrained features, on raw pixels, and chance. */
  probeAccuracy: number;
  pixelProbeAccuracy: number;
  chance: number;
  /** The evidence in plain words. */
  evidence: string[];
}

/**
 * The user's judgement of how alike their images are to the pretrained data: 'medium' is photos of
 * an unusual subject (counted as similar); 'unknown' lets the studio's estimate decide.
 */
export const similarityAnswerSchema = z.enum(['high', 'medium', 'low', 'unknown']);
export type SimilarityAnswer = z.infer<typeof similarityAnswerSchema>;

/** One place to cut or freeze a model, with the parameters it leaves frozen and trainable (before the new head). */
export interface PlanChoice {
  layer: string;
  frozenParams: number;
  trainableParams: number;
}

/** A model's choices as the plan builder counts them, so clients show them without counting. */
export interface ModelPlans {
  /** The model's feature layer: what feeds the new head unless scenario 1 picks another. */
  cutLayer: string;
  /** Scenario 1: the layers the head can be fed from (the network up to it stays frozen). */
  features: PlanChoice[];
  /** Scenario 2: the block ends the network can be frozen up to, in order (k = position + 1). */
  freeze: PlanChoice[];
  /** Scenarios 3 and 4: the network's parameters up to the feature layer, all of which train. */
  wholeParams: number;
}

export interface AdviceInfo {
  scenario: Scenario;
  size: 'small' | 'large';
  /** The similarity the advice used, and where it came from (the user's answer wins over the estimate). */
  similarity: SimilarityAnswer;
  similaritySource: 'answer' | 'estimate' | 'none';
  estimate: SimilarityEstimateInfo | null;
  /** Why there is no estimate (no model installed, too few labelled images, ...). */
  estimateNote: string | null;
  /** Labelled images (train + val) of the smallest class that has any. */
  smallestClass: number;
  /** Images in the smallest class from which the dataset counts as large. */
  largeFrom: number;
  model: string | null;
  /** Scenario 2's default freeze boundary (last frozen layer), k = blocks frozen of `blocks`. */
  freezeTo: string | null;
  k: number | null;
  blocks: number | null;
  frozenParams: number | null;
  trainableParams: number | null;
  /** The model's choices with their parameter counts (null when its layers could not be read). */
  plans: ModelPlans | null;
  /** The main reason, then the supporting ones. */
  reason: string;
  reasons: string[];
}
