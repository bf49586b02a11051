/**
 * Grad-CAM (Selvaraju et al. 2017) for a trained run: for each image and class c, the gradient of
 * c's score (the logit, before the softmax) with respect to the feature map A of the explained
 * layer; the channel weights are the spatial means of that gradient, and the map is
 * ReLU(sum_k weight_k * A_k), one value per cell of A's grid.
 *
 * The explained layer is the cut layer (scenario 1) or the last layer of the trained network
 * (scenarios 2-4: the classifier's own cut), or, when that output is already pooled or flat, the
 * nearest 4-D layer feeding it: the last convolutional block's feature map. The network up to it
 * runs as the frozen forward does (ONNX Runtime where it loads, else TensorFlow.js); the rest
 * (pooling, any layers between, the head) runs on TensorFlow.js from its weights and is
 * differentiated by tf.grad. Maps of every class are computed together (a class picker needs no
 * second pass) and cached in the run's folder by image content hash.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FeatureCache, type RowSink } from './feature-cache';
import { frozenForward } from './frozen-forward';
import { logitsOf } from './head';
import { disposeWeights, loadSavedModel, readRunRecord } from './model-files';
import { requireLayer } from './model-layers';
import type { EngineEvent, ExplainItem, GradCamResult } from './protocol';
import { extractMissing } from './extract';
import { EngineJobError } from './job-error';
import { getModel } from './model-cache';
import { NotACutError, trainableNet, UnsupportedLayerError, type TrainableNet } from './trainable-net';

function rankOf(layer: tf.layers.Layer): number {
  const s = layer.outputShape;
  return ((Array.isArray(s[0]) ? s[0] : s) as (number | null)[]).length;
}

/** The cut layer when its output is a feature map [N, H, W, C], else the nearest 4-D layer on its single input path. */
export function explainedLayer(model: tf.LayersModel, cutLayer: string): string {
  let layer = requireLayer(model, cutLayer);
  while (rankOf(layer) !== 4) {
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    const [only] = inbound;
    if (inbound.length !== 1 || !only || only.getClassName() === 'InputLayer') {
      throw new EngineJobError('UNSUPPORTED_TOPOLOGY', `No feature map to explain: ${cutLayer} is not fed by a single path from a convolutional layer.`);
    }
    layer = only;
  }
  return layer.name;
}

/** The head of a whole saved classifier (scenarios 2-4): its last layer, the nested Sequential. */
function nestedHead(whole: tf.LayersModel): tf.Sequential {
  const last = whole.layers[whole.layers.length - 1];
  if (!(last instanceof tf.Sequential)) throw new EngineJobError('UNSUPPORTED_TOPOLOGY', 'The run\'s classifier does not end in the studio\'s head.');
  return last;
}

/**
 * Grad-CAM maps of every class for a batch of feature maps `a` [n, h, w, c]: per image, k
 * probabilities then k maps of h*w cells (class-major), as one row.
 */
export function gradCamRows(a: tf.Tensor4D, part: TrainableNet, head: tf.Sequential, k: number): Float32Array {
  const [n, h, w] = a.shape;
  const logits = (x: tf.Tensor) => logitsOf(head, part.forward(x, false), 0, null);
  const probs = tf.tidy(() => tf.softmax(logits(a)));
  const maps = tf.tidy(() => {
    const perClass: tf.Tensor[] = [];
    for (let c = 0; c < k; c++) {
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.slice(logits(x), [0, c], [-1, 1])))(a);
      const weights = tf.mean(g, [1, 2], true); // [n, 1, 1, C]: the spatial mean of the gradient
      perClass.push(tf.relu(tf.sum(tf.mul(a, weights), -1))); // [n, h, w]
    }
    return tf.stack(perClass, 1); // [n, k, h, w]
  });
  const p = probs.dataSync() as Float32Array;
  const m = maps.dataSync() as Float32Array;
  probs.dispose();
  maps.dispose();
  const dim = k + k * h * w;
  const rows = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    rows.set(p.subarray(i * k, (i + 1) * k), i * dim);
    rows.set(m.subarray(i * k * h * w, (i + 1) * k * h * w), i * dim + k);
  }
  return rows;
}

export async function gradCam(
  params: { runDir: string; items: ExplainItem[]; classIndex?: number },
  signal: AbortSignal | undefined,
  emit: (e: EngineEvent) => void,
): Promise<GradCamResult> {
  const run = await readRunRecord(params.runDir);
  const k = run.classNames.length;
  const wanted = params.classIndex;
  if (wanted !== undefined && !(Number.isInteger(wanted) && wanted >= 0 && wanted < k)) {
    throw new EngineJobError('BAD_JOB', `Class index ${wanted} is outside the run's ${k} classes.`);
  }
  const whole = run.classifier === 'model' ? await loadSavedModel(path.join(params.runDir, 'model')) : null;
  const ownHead = whole ? null : await loadSavedModel(path.join(params.runDir, 'head'));
  const disposables: { dispose(): void }[] = [];
  try {
    const network = whole ?? (await getModel(run.modelDir)).model;
    if (ownHead && !(ownHead instanceof tf.Sequential)) throw new EngineJobError('UNSUPPORTED_TOPOLOGY', 'The run\'s head is not the studio\'s head.');
    const head = ownHead ?? nestedHead(whole as tf.LayersModel);
    const layer = explainedLayer(network, run.cutLayer);
    let part: TrainableNet;
    try {
      part = trainableNet(network, { from: layer, to: run.cutLayer, mode: 'inference' });
    } catch (e) {
      if (e instanceof UnsupportedLayerError || e instanceof NotACutError) throw new EngineJobError('UNSUPPORTED_TOPOLOGY', `Grad-CAM cannot differentiate from ${layer} to ${run.cutLayer}: ${e.message}`);
      throw e;
    }
    disposables.push(part);
    const log = (message: string) => emit({ type: 'log', message });
    // The pretrained part of a scenario-1 run is the model's own: its ONNX form is cached per machine.
    const forward = await frozenForward(network, layer, { pool: 'none', inputSize: run.inputSize, cacheAs: whole ? null : run.modelId, log });
    disposables.push(forward);
    const [h = 1, w = 1, channels = 1] = forward.outputShape;
    const dim = k + k * h * w;
    const cache = await FeatureCache.open(
      path.join(params.runDir, 'grad-cam'),
      { modelId: `${run.modelId}@${run.savedAt}`, cutLayer: layer, pool: 'grad-cam', inputSize: run.inputSize, preprocess: run.preprocess },
      dim,
    );
    // Feature maps arrive in chunks from the extraction; each chunk's maps go to the cache at once.
    const sink: RowSink = {
      append: async (rows) => {
        if (!rows.length) return;
        const data = new Float32Array(rows.length * h * w * channels);
        rows.forEach((r, i) => data.set(r.features, i * h * w * channels));
        const a = tf.tensor4d(data, [rows.length, h, w, channels]);
        let out: Float32Array;
        try {
          out = gradCamRows(a, part, head, k);
        } finally {
          a.dispose();
        }
        await cache.append(rows.map((r, i) => ({ hash: r.hash, features: out.subarray(i * dim, (i + 1) * dim) })));
      },
    };
    const unique = new Map(params.items.map((it) => [it.hash, { hash: it.hash, path: it.path }]));
    const missing = [...unique.values()].filter((t) => !cache.has(t.hash));
    const ex = await extractMissing(forward, run.inputSize, missing, sink, signal, emit, run.preprocessing);
    if (ex.state === 'cancelled') throw new EngineJobError('CANCELLED', 'Grad-CAM was cancelled.');
    return {
      classNames: run.classNames,
      layer,
      height: h,
      width: w,
      items: params.items.map((it) => {
        const row = cache.get(it.hash);
        if (!row) return { path: it.path, probabilities: [], classIndex: -1, map: new Float32Array(0) };
        const probabilities = Array.from(row.subarray(0, k));
        const classIndex = wanted ?? probabilities.indexOf(Math.max(...probabilities));
        return { path: it.path, probabilities, classIndex, map: row.slice(k + classIndex * h * w, k + (classIndex + 1) * h * w) };
      }),
    };
  } finally {
    for (const d of disposables) d.dispose();
    if (ownHead) disposeWeights(ownHead);
    if (whole) disposeWeights(whole);
  }
}
