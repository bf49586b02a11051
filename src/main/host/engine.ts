/**
 * The engine as the Studio sees it: an EngineClient (whose process the shell starts: a forked
 * Node child in browser mode and the CLI, an Electron utilityProcess in the app) with the
 * engine's error codes turned into the contract's typed errors.
 */
import type { ModelInspectionInfo, SimilarityEstimateInfo } from '../../shared/domain';
import type { SimilarityParams } from '../scenarios/advise-project';
import { StudioError } from '../../shared/errors';
import { EngineClient, EngineError, type EngineChannel } from '../training/engine-client';
import type { PredictItem, PredictResult } from '../training/protocol';
import type { StudioEngine } from './studio';

/** Engine codes that mean the user's input (model folder, run, data) is at fault, not the engine. */
const BAD_MODEL = /^(MODEL_|SHARD_|UNSUPPORTED_)/;
const BAD_INPUT = new Set(['BAD_JOB', 'RUN_NOT_FOUND', 'NOT_A_CUT_POINT', 'UNKNOWN_LAYER', 'LAYER_NOT_FOUND']);

export function engineErrorToStudio(err: unknown): unknown {
  if (!(err instanceof EngineError)) return err;
  if (err.code === 'CANCELLED') return new StudioError('cancelled', err.message);
  if (BAD_MODEL.test(err.code)) return new StudioError('bad_model', err.message);
  if (BAD_INPUT.has(err.code)) return new StudioError('bad_input', err.message);
  return new StudioError('engine_failed', err.message);
}

function mapped<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw engineErrorToStudio(err);
  });
}

export class HostEngine implements StudioEngine {
  readonly client: EngineClient;

  constructor(start: () => EngineChannel) {
    this.client = new EngineClient(start);
  }

  backend(): ReturnType<StudioEngine['backend']> {
    return mapped(this.client.backend());
  }

  inspectModel(modelDir: string): Promise<ModelInspectionInfo> {
    return mapped(this.client.inspectModel(modelDir));
  }

  async train(...[job, onEvent, signal]: Parameters<StudioEngine['train']>): ReturnType<StudioEngine['train']> {
    // The backend is known before the first image is read, so the run shows it from the start.
    const backend = await mapped(this.client.backend({ signal }));
    onEvent({ type: 'backend', backend, baseline: null });
    return mapped(this.client.train(job, onEvent, signal));
  }

  estimateSimilarity(params: SimilarityParams): Promise<SimilarityEstimateInfo> {
    return mapped(this.client.estimateSimilarity(params));
  }

  predict(runDir: string, items: PredictItem[], options: { cacheDir?: string; signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<PredictResult> {
    const { onProgress, ...rest } = options;
    return mapped(
      this.client.predict(runDir, items, {
        ...rest,
        ...(onProgress ? { onEvent: (e) => e.type === 'progress' && onProgress(e.done, e.total) } : {}),
      }),
    );
  }

  async dispose(): Promise<void> {
    this.client.dispose();
  }
}
