/**
 * The advisor's similarity estimate, in the engine process: how much a labelled dataset looks like
 * the data the network was pretrained on. On a per-class sample (features cached exactly as
 * scenario 1 caches them, so a later scenario-1 run reuses them):
 *  1. a nearest-centroid probe, held out 2-fold, on the pretrained features and on raw pixels
 *     (16x16): the share of the pixels' errors the features remove. Features learned on similar
 *     images separate the classes far better than pixels; on unlike images (digits, where pixels
 *     already do well, or textures) they add little;
 *  2. the pretrained classifier's own predictions (ImageNet for the catalog models; a Teachable
 *     Machine export's head knows only the export's classes, named in its metadata.json): how sure it is
 *     of its top guess, and how consistently a class's images get the same top label. Alone these
 *     mislead (MobileNet calls a handwritten 0 a nematode with 40% confidence), so they weigh less.
 * score = 0.6 feature gain + 0.2 confidence (50% counts as full) + 0.2 consistency; 'high' from
 * 0.6. Without a classifier output (or with a Teachable Machine head) the gain alone decides.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { inspectModel } from './model-layers';
import { FeatureCache } from './feature-cache';
import { frozenForward } from './frozen-forward';
import { NotACutError, trainableNet, UnsupportedLayerError, type TrainableNet } from './trainable-net';
import { loadImage, type ImageInput } from './preprocess';
import type { EngineEvent, SimilarityEstimate, SimilarityItem } from './protocol';
import { readLabels } from './classify';
import { extractMissing } from './extract';
import { EngineJobError } from './job-error';
import { getModel, inputSizeOf } from './model-cache';
import { preprocessVersion } from '../../shared/preprocessing';

/** Images per class looked at: enough for stable means, cheap on any model (about 10 s at alpha 1.0). */
export const SAMPLE_PER_CLASS = 24;
export const HIGH_FROM = 0.6;
const PIXEL_SIZE = 16;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const pct = (v: number) => `${Math.round(100 * v)}%`;

/** A deterministic sample: per class the first `per` images by content hash. */
export function sampleItems(items: readonly SimilarityItem[], per: number): SimilarityItem[] {
  const byClass = new Map<number, SimilarityItem[]>();
  for (const it of items) byClass.set(it.label, [...(byClass.get(it.label) ?? []), it]);
  return [...byClass.values()].flatMap((list) => [...list].sort((a, b) => (a.hash < b.hash ? -1 : 1)).slice(0, per));
}

/** Held-out accuracy of nearest-centroid (cosine) classification, 2-fold (alternate images of each class). */
export function centroidProbe(features: Float32Array[], labels: number[]): number {
  const dim = features[0]?.length ?? 0;
  const unit = features.map((f) => {
    const n = Math.hypot(...f) || 1;
    return Float32Array.from(f, (v) => v / n);
  });
  const seen = new Map<number, number>();
  const fold = labels.map((l) => {
    const i = seen.get(l) ?? 0;
    seen.set(l, i + 1);
    return i % 2;
  });
  let correct = 0;
  let total = 0;
  for (const f of [0, 1]) {
    const sums = new Map<number, Float32Array>();
    unit.forEach((u, i) => {
      if (fold[i] === f) return;
      const s = sums.get(labels[i] as number) ?? new Float32Array(dim);
      for (let d = 0; d < dim; d++) s[d] = (s[d] as number) + (u[d] as number);
      sums.set(labels[i] as number, s);
    });
    unit.forEach((u, i) => {
      if (fold[i] !== f || sums.size < 2) return;
      let bestLabel = -1;
      let bestScore = -Infinity;
      for (const [label, s] of sums) {
        let dot = 0;
        let norm = 0;
        for (let d = 0; d < dim; d++) {
          dot += (u[d] as number) * (s[d] as number);
          norm += (s[d] as number) ** 2;
        }
        const score = dot / (Math.sqrt(norm) || 1);
        if (score > bestScore) {
          bestScore = score;
          bestLabel = label;
        }
      }
      total++;
      if (bestLabel === labels[i]) correct++;
    });
  }
  return total ? correct / total : 0;
}

/**
 * The pretrained classifier's outputs from the cut's features on (the graph after the cut, in
 * inference mode), one row per image; null when the model has no classifier after the cut.
 */
function classifierOutputs(model: tf.LayersModel, cutLayer: string, features: Float32Array, n: number, dim: number): number[][] | null {
  const outName = model.outputLayers[0]?.name;
  if (!outName || outName === cutLayer || n === 0) return null;
  // The features are average-pooled: when the network itself pools the cut's output next (a
  // Teachable Machine export's out_relu, then its global pooling), the classifier starts after that pooling.
  const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D' && l.inboundNodes.some((node) => node.inboundLayers.some((x) => x.name === cutLayer)));
  const from = pool && pool.name !== outName ? pool.name : cutLayer;
  let part: TrainableNet;
  try {
    part = trainableNet(model, { from, to: outName, mode: 'inference' });
  } catch (e) {
    if (e instanceof NotACutError || e instanceof UnsupportedLayerError) return null;
    throw e;
  }
  try {
    return tf.tidy(() => part.forward(tf.tensor2d(features, [n, dim]), false).arraySync());
  } finally {
    part.dispose();
  }
}

export interface ClassifierEvidence {
  meanTop1: number;
  consistency: number;
  /** Per class: its commonest pretrained top-1 label index. */
  commonest: number[];
}

/** Confidence and per-class consistency of the pretrained classifier's top-1 predictions. */
export function classifierEvidence(probabilities: number[][], labels: number[], numClasses: number): ClassifierEvidence {
  const top = probabilities.map((row) => row.reduce((b, v, i) => (v > (row[b] ?? -1) ? i : b), 0));
  const meanTop1 = probabilities.reduce((a, row, i) => a + (row[top[i] as number] ?? 0), 0) / Math.max(1, probabilities.length);
  const commonest: number[] = [];
  let agree = 0;
  for (let c = 0; c < numClasses; c++) {
    const counts = new Map<number, number>();
    top.forEach((t, i) => labels[i] === c && counts.set(t, (counts.get(t) ?? 0) + 1));
    const [label, count] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? [-1, 0];
    commonest.push(label);
    agree += count;
  }
  return { meanTop1, consistency: agree / Math.max(1, probabilities.length), commonest };
}

/** Share of the pixel probe's errors that the feature probe removes (0 when the features do no better). */
export function featureGain(featureProbe: number, pixelProbe: number): number {
  return clamp01((featureProbe - pixelProbe) / Math.max(1e-6, 1 - pixelProbe));
}

export function similarityScore(featureProbe: number, pixelProbe: number, evidence: ClassifierEvidence | null): number {
  const gain = featureGain(featureProbe, pixelProbe);
  if (!evidence) return gain;
  return 0.6 * gain + 0.2 * clamp01(evidence.meanTop1 / 0.5) + 0.2 * evidence.consistency;
}

/** A pretrained class by its name when the model folder has a labels file, else by its index. */
const labelName = (names: readonly string[], index: number) => (names[index] ? `"${names[index]}"` : `its class ${index}`);

/** Raw pixels at 16x16, each image centred on its mean: the baseline the pretrained features must beat. */
async function pixelVector(file: ImageInput): Promise<Float32Array> {
  const px = await loadImage(file, PIXEL_SIZE, [0, 1]);
  const mean = px.reduce((a, b) => a + b, 0) / px.length;
  return px.map((v) => v - mean);
}

export async function estimateSimilarity(
  params: { modelDir: string; modelId: string; classNames: string[]; items: SimilarityItem[]; cacheDir?: string },
  emit: (e: EngineEvent) => void,
  signal?: AbortSignal,
): Promise<SimilarityEstimate> {
  const k = params.classNames.length;
  if (k < 2) throw new EngineJobError('BAD_JOB', 'The similarity estimate needs labelled images of at least two classes.');
  const loaded = await getModel(params.modelDir);
  const cutLayer = inspectModel(loaded).defaultCutLayer;
  const size = inputSizeOf(loaded.model);
  const sample = sampleItems(params.items, SAMPLE_PER_CLASS);
  const forward = await frozenForward(loaded.model, cutLayer, { pool: 'avg', cacheAs: params.modelId, log: (message) => emit({ type: 'log', message }) });
  const scratch = params.cacheDir ? null : await fs.mkdtemp(path.join(os.tmpdir(), 'ts-similarity-'));
  try {
    const dim = forward.outputShape.reduce((a, b) => a * b, 1);
    const cache = await FeatureCache.open(
      path.join(params.cacheDir ?? (scratch as string), 'features'),
      { modelId: params.modelId, cutLayer, pool: 'avg', inputSize: size, preprocess: preprocessVersion(loaded.preprocessing) },
      dim,
    );
    const missing = sample.filter((s) => !cache.has(s.hash)).map((s) => ({ hash: s.hash, path: s.path }));
    const ex = await extractMissing(forward, size, missing, cache, signal, emit, loaded.preprocessing);
    if (ex.state === 'cancelled') throw new EngineJobError('CANCELLED', 'The similarity estimate was cancelled.');
    const used = sample.filter((s) => cache.has(s.hash));
    const features = used.map((s) => cache.get(s.hash) as Float32Array);
    const labels = used.map((s) => s.label);
    const present = new Set(labels).size;
    const chance = 1 / Math.max(2, present);
    const probe = centroidProbe(features, labels);
    const pixelProbe = centroidProbe(await Promise.all(used.map((s) => pixelVector(s))), labels);
    let evidence: ClassifierEvidence | null = null;
    let outputs = 0;
    const x = new Float32Array(features.length * dim);
    features.forEach((f, i) => x.set(f, i * dim));
    const rows = classifierOutputs(loaded.model, cutLayer, x, features.length, dim);
    if (rows) {
      outputs = rows[0]?.length ?? 0;
      // Only a probability output (rows summing to 1) says how sure the classifier is.
      if (rows.every((r) => Math.abs(r.reduce((a, b) => a + b, 0) - 1) < 1e-3)) evidence = classifierEvidence(rows, labels, k);
    }
    // A Teachable Machine head knows a few classes of someone's export, not the base's pretraining
    // data (ImageNet): what it makes of the images is reported, but the feature gain alone decides.
    const score = similarityScore(probe, pixelProbe, loaded.teachable ? null : evidence);
    const level = score >= HIGH_FROM ? 'high' : 'low';
    const names = await readLabels(params.modelDir);
    const lines: string[] = [];
    if (evidence) {
      const example = evidence.commonest.findIndex((c) => c >= 0);
      lines.push(
        loaded.teachable
          ? `On ${used.length} sample images the Teachable Machine export's own classifier (its ${outputs} classes: ${names.slice(0, 6).map((n) => `"${n}"`).join(', ')}${names.length > 6 ? ', ...' : ''}) is on average ${pct(evidence.meanTop1)} sure of its top guess; being trained on the export's classes, not on the base's ImageNet data, it does not count in the estimate.`
          : `On ${used.length} sample images the pretrained classifier is on average ${pct(evidence.meanTop1)} sure of its top guess among its ${outputs} classes (photos like its training data usually get 50% or more).`,
      );
      lines.push(
        `Within a class, ${pct(evidence.consistency)} of the images get that class's commonest pretrained label` +
          (example >= 0 ? ` (e.g. "${params.classNames[example]}" is mostly seen as ${labelName(names, evidence.commonest[example] as number)}).` : '.'),
      );
    }
    lines.push(
      `A nearest-centroid probe tells the classes apart with ${pct(probe)} accuracy on the pretrained features and ${pct(pixelProbe)} on raw pixels (chance: ${pct(chance)}): ` +
        `the features remove ${pct(featureGain(probe, pixelProbe))} of the pixels' errors.`,
    );
    lines.push(`Estimate: ${level} similarity (score ${score.toFixed(2)}; high from ${HIGH_FROM}).`);
    return { level, score, sampled: used.length, meanTop1: evidence?.meanTop1 ?? null, consistency: evidence?.consistency ?? null, probeAccuracy: probe, pixelProbeAccuracy: pixelProbe, chance, evidence: lines };
  } finally {
    forward.dispose();
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  }
}
