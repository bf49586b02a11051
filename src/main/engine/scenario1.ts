/**
 * Scenario 1 (feature extraction) in the engine process: frozen features through the folded
 * forward (cached per image content hash), then a dense head trained on them; the head and the
 * whole classifier are saved with the run record.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackendInfo, TrainResult } from '../../shared/domain';
import { extractMissing, type ExtractTarget } from './extract';
import { FeatureCache } from './feature-cache';
import { frozenForward, type Pooling } from './frozen-forward';
import { trainHead } from './head';
import { getModel, inputSizeOf } from './model-cache';
import { requireLayer } from './model-layers';
import { classifierModel, disposeWeights, recordOfJob, saveLayersModel, writeRunRecord } from './model-files';
import { preprocessVersion } from '../../shared/preprocessing';
import type { EngineEvent, TrainJob } from './protocol';
import { validateJob } from './train-job';

export async function runScenario1(
  job: TrainJob,
  backend: BackendInfo,
  emit: (e: EngineEvent) => void,
  signal?: AbortSignal,
): Promise<TrainResult> {
  validateJob(job);
  const loaded = await getModel(job.modelDir);
  const { cutLayer } = job.plan;
  requireLayer(loaded.model, cutLayer);
  const pool: Pooling = 'avg';
  const size = inputSizeOf(loaded.model);
  const log = (message: string) => emit({ type: 'log', message });
  const forward = await frozenForward(loaded.model, cutLayer, { pool, cacheAs: job.modelId, log });
  try {
    const dim = forward.outputShape.reduce((a, b) => a * b, 1);
    emit({ type: 'log', message: `Frozen part: ${loaded.name} up to ${cutLayer} (${forward.kind}), ${dim} features; training backend ${backend.name} x${backend.threads}` });
    const cache = await FeatureCache.open(
      path.join(job.cacheDir, 'features'),
      { modelId: job.modelId, cutLayer, pool, inputSize: size, preprocess: preprocessVersion(loaded.preprocessing) },
      dim,
    );
    // Extraction: unique content hashes not yet cached.
    emit({ type: 'phase', phase: 'extract' });
    const unique = new Map<string, ExtractTarget>();
    for (const it of job.items) if (!unique.has(it.hash)) unique.set(it.hash, { hash: it.hash, path: it.path, ...(it.root !== undefined ? { root: it.root } : {}) });
    const missing = [...unique.values()].filter((t) => !cache.has(t.hash));
    const hits = unique.size - missing.length;
    const te = performance.now();
    const ex = await extractMissing(forward, size, missing, cache, signal, emit, loaded.preprocessing);
    const extractMs = performance.now() - te;
    const base = {
      backend: { ...backend, inference: forward.inference },
      baseline: null,
      cache: { hits, misses: missing.length },
      extractMs,
      cutLayer,
      featureDim: dim,
      frozenKind: forward.kind,
    };
    if (ex.state === 'cancelled') {
      return { ...base, state: 'cancelled', epochsRun: 0, bestEpoch: null, trainMs: 0, modelFiles: [], metrics: [], confusion: null };
    }
    // Training data from the cache.
    const gather = (split: 'train' | 'val') => {
      const rows = job.items.filter((i) => i.split === split && cache.has(i.hash));
      const x = new Float32Array(rows.length * dim);
      const y = new Int32Array(rows.length);
      rows.forEach((r, k) => {
        x.set(cache.get(r.hash) as Float32Array, k * dim);
        y[k] = r.label;
      });
      return { x, y };
    };
    emit({ type: 'phase', phase: 'train' });
    const head = await trainHead({
      dim,
      classNames: job.classNames,
      train: gather('train'),
      val: gather('val'),
      config: job.config,
      signal,
      onBatch: (p) => emit({ type: 'progress', done: p.done, total: p.total, epoch: p.epoch, batch: p.batch, imagesPerSec: p.imagesPerSec }),
      onEpoch: (metrics, confusion) => emit({ type: 'epoch', metrics, confusion }),
    });
    log(`Head trained on ${head.stepKind}`);
    const modelFiles: string[] = [];
    try {
      if (head.bestEpoch !== null) {
        await fs.mkdir(job.runDir, { recursive: true });
        modelFiles.push(...(await saveLayersModel(head.model, path.join(job.runDir, 'head'))));
        // The whole classifier (pretrained part up to the cut + pooling + head) for export.
        const full = classifierModel(loaded.model, cutLayer, head.model);
        modelFiles.push(...(await saveLayersModel(full, path.join(job.runDir, 'model'))));
        const runJson = await writeRunRecord(job.runDir, {
          ...recordOfJob(job, loaded.preprocessing),
          scenario: 1,
          classifier: 'head',
          cutLayer,
          pool,
          inputSize: size,
          featureDim: dim,
          backend,
          bestEpoch: head.bestEpoch,
          state: head.state,
        });
        modelFiles.push(runJson);
      }
    } finally {
      disposeWeights(head.model); // it was also applied in the classifier: dispose() alone would keep it
    }
    return {
      ...base,
      state: head.state,
      epochsRun: head.epochsRun,
      bestEpoch: head.bestEpoch,
      baseline: head.baseline,
      trainMs: head.trainMs,
      modelFiles,
      metrics: head.metrics,
      confusion: head.confusion,
      headKind: head.stepKind,
    };
  } finally {
    forward.dispose();
  }
}
