/**
 * The input preprocessing of each model family in numbers: x[c] = (pixel[order[c]] - mean[c]) / std[c]
 * for pixels 0..255 in RGB. The same numbers drive the engine (preprocess.ts), the catalog, the
 * model library and an exported model's preprocessing.json, so they cannot disagree.
 * Keras' imagenet_utils.preprocess_input: 'tf' = x / 127.5 - 1; 'caffe' = RGB->BGR then minus the
 * ImageNet BGR means [103.939, 116.779, 123.68], unscaled. 'raw' (EfficientNet): the network's own
 * Rescaling and Normalization layers do the rest.
 */
import type { PreprocessingMode } from './domain';

export interface PreprocessingSpec {
  mode: PreprocessingMode;
  /** Channel order of the network input. */
  channelOrder: 'RGB' | 'BGR';
  /** Per input channel (in channelOrder), subtracted from the 0..255 value. */
  mean: readonly [number, number, number];
  /** Per input channel (in channelOrder), divides after the mean is subtracted. */
  std: readonly [number, number, number];
  description: string;
}

export const PREPROCESSING: Record<PreprocessingMode, PreprocessingSpec> = {
  tf: {
    mode: 'tf',
    channelOrder: 'RGB',
    mean: [127.5, 127.5, 127.5],
    std: [127.5, 127.5, 127.5],
    description: 'RGB scaled to [-1, 1] (x / 127.5 - 1; Keras "tf" mode)',
  },
  caffe: {
    mode: 'caffe',
    channelOrder: 'BGR',
    mean: [103.939, 116.779, 123.68],
    std: [1, 1, 1],
    description: 'BGR, ImageNet channel means subtracted, not scaled (Keras "caffe" mode)',
  },
  raw: {
    mode: 'raw',
    channelOrder: 'RGB',
    mean: [0, 0, 0],
    std: [1, 1, 1],
    description: 'RGB 0..255 as is; the network rescales and normalizes inside (EfficientNet)',
  },
};

/**
 * p2: small images are upscaled in floats by the engine (engine/preprocess.ts) (p1 rounded libvips' upscale to 8 bits). Runs made
 * with p1 are described by the same words (centre crop, bilinear), so exports still accept them.
 */
export function preprocessVersion(mode: PreprocessingMode): string {
  return `p2-exif-centercrop-linear-srgb-${mode}`;
}

/** Whether a version upscales small images in floats (p2 on), which an export then states as its own rule. */
export function upscalesInFloats(version: string): boolean {
  return !version.startsWith('p1-');
}

/** Every version whose preprocessing the current words and numbers describe (exports check it). */
export function describedVersions(mode: PreprocessingMode): string[] {
  return [preprocessVersion(mode), mode === 'tf' ? 'p1-exif-centercrop-linear-srgb-m1p1' : `p1-exif-centercrop-linear-srgb-${mode}`];
}

/** The smallest and largest value any channel can take (augmentation clamps to it). */
export function valueRange(mode: PreprocessingMode): [number, number] {
  const p = PREPROCESSING[mode];
  const lo = Math.min(...p.mean.map((m, c) => (0 - m) / p.std[c]!));
  const hi = Math.max(...p.mean.map((m, c) => (255 - m) / p.std[c]!));
  return [lo, hi];
}
