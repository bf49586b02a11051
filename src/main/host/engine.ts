/**
 * The engine as the Studio sees it: an EngineClient (whose process the shell starts: a forked
 * Node child in browser mode and the CLI, an Electron utilityProcess in the app), or an engine on a
 * server over ssh (RemoteEngine), with the engine's error codes turned into the contract's typed
 * errors. `studioEngine` picks one by the engine setting (--engine, TRANSFER_STUDIO_ENGINE).
 */
import { StudioError, type ErrorCode } from '../../shared/errors';
import { EngineClient, EngineError, type EngineChannel, type EngineReady } from '../training/engine-client';
import { RemoteEngine } from '../training/remote-engine';
import { parseSshAddress } from '../training/ssh-channel';
import { APP_VERSION } from '../store/project-store';
import type { CallOptions, Engine, EngineErrorCode, EngineMethod, EngineParams, EngineResult } from '../engine/protocol';
import type { StudioEngine } from './engine-host';

/** Every engine code as the contract's: a model folder at fault, the user's input, a cancel, or the engine. */
const STUDIO_CODE: Record<EngineErrorCode, ErrorCode> = {
  MODEL_DIR_MISSING: 'bad_model',
  MODEL_JSON_MISSING: 'bad_model',
  MODEL_JSON_INVALID: 'bad_model',
  MODEL_IS_GRAPH_MODEL: 'bad_model',
  MODEL_TOPOLOGY_MISSING: 'bad_model',
  MODEL_MANIFEST_INVALID: 'bad_model',
  MODEL_LOAD_FAILED: 'bad_model',
  SHARD_MISSING: 'bad_model',
  SHARD_SIZE_MISMATCH: 'bad_model',
  UNSUPPORTED_LAYER: 'bad_model',
  UNSUPPORTED_TOPOLOGY: 'bad_model',
  MODEL_NOT_HDF5: 'bad_model',
  MODEL_FILE_TRUNCATED: 'bad_model',
  MODEL_NOT_KERAS: 'bad_model',
  MODEL_UNKNOWN_ARCHITECTURE: 'bad_model',
  MODEL_WEIGHTS_MISMATCH: 'bad_model',
  MODEL_HASH_MISMATCH: 'bad_model',
  MODEL_FILE_REFUSED: 'bad_model',
  MODEL_TOO_LARGE: 'bad_model',
  DOWNLOAD_FAILED: 'download_failed',
  CHECKSUM_MISMATCH: 'download_failed',
  UNKNOWN_CATALOG_MODEL: 'not_found',
  LAYER_NOT_FOUND: 'bad_input',
  UNKNOWN_LAYER: 'bad_input',
  NOT_A_CUT_POINT: 'bad_input',
  BAD_JOB: 'bad_input',
  RUN_NOT_FOUND: 'bad_input',
  CANCELLED: 'cancelled',
  BACKEND_CANNOT_TRAIN: 'engine_failed',
  OUT_OF_MEMORY: 'engine_failed',
  ENGINE_ERROR: 'engine_failed',
  ENGINE_CRASHED: 'engine_failed',
  ENGINE_STOPPED: 'engine_failed',
  ENGINE_START_FAILED: 'engine_failed',
  UNKNOWN_METHOD: 'internal',
  PATH_REFUSED: 'bad_input',
};

export function engineErrorToStudio(err: unknown): unknown {
  if (!(err instanceof EngineError)) return err;
  // The lookup can only miss for an engine build newer than this host (the codes cross a process boundary).
  return new StudioError(STUDIO_CODE[err.code] ?? 'engine_failed', err.message, err.field);
}

/** An engine the host can stop: an EngineClient, or a RemoteEngine (an EngineClient over ssh with its uploads). */
type DisposableEngine = Engine & { dispose(): void; readonly readyInfo: EngineReady | null };

export class HostEngine implements StudioEngine {
  readonly client: DisposableEngine;

  /** `start`: the function that starts a process of this machine, or an engine already made. */
  constructor(start: (() => EngineChannel) | DisposableEngine) {
    this.client = typeof start === 'function' ? new EngineClient(start) : start;
  }

  call<M extends EngineMethod>(method: M, params: EngineParams<M>, options?: CallOptions): Promise<EngineResult<M>> {
    return this.client.call(method, params, options).catch((err: unknown) => {
      throw engineErrorToStudio(err);
    });
  }

  async dispose(): Promise<void> {
    this.client.dispose();
  }

  ready(): EngineReady | null {
    return this.client.readyInfo;
  }
}

/**
 * The engine the setting names: '' or 'local' (or unset) for a process of this machine (`local`
 * starts it), ssh://[user@]host[:port][/path] for a server. A bad setting is a bad_request.
 */
export function studioEngine(setting: string | undefined, local: () => EngineChannel): StudioEngine {
  const value = setting?.trim() ?? '';
  if (value === '' || value === 'local') return new HostEngine(local);
  return new HostEngine(new RemoteEngine(parseSshAddress(value), APP_VERSION));
}
