/**
 * The advisor: dataset size x similarity to the pretrained data -> one of the four ways to reuse
 * a pretrained network (DESIGN.md). Pure function, no TensorFlow.js.
 *
 *   small + high similarity -> 1 feature extraction (train a new head only)
 *   small + low             -> 2 freeze the first k layers, train the rest + head
 *   large + low             -> 3 same architecture from scratch
 *   large + high            -> 4 fine-tune everything with a small learning rate
 *
 * "Small" is judged per class (images per class of the smallest class, default threshold 1,000):
 * fine-tuning millions of weights on a few hundred images per class overfits. Similarity is the
 * caller's (or the user's) judgement; 'unknown' is treated as high for small sets (feature
 * extraction is the safe first try) and as low for large ones.
 */
import type { Scenario } from '../../shared/domain';

export type Similarity = 'high' | 'low' | 'unknown';

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
  const largeFrom = input.largeFrom ?? 1000;
  const smallest = input.imagesPerClass.length ? Math.min(...input.imagesPerClass) : 0;
  const size = smallest >= largeFrom ? 'large' : 'small';
  const high = input.similarity === 'high' || (input.similarity === 'unknown' && size === 'small');
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
