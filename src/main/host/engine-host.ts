/**
 * The Studio's engine: which one (the shell's, or the one the engine setting names), started on
 * first use and reused, replaced when the setting changes, and stopped with the Studio.
 */
import type { EngineSetting, EngineTestInfo } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { APP_VERSION } from '../store/project-store';
import type { Engine, EngineMachine, EngineStart } from '../engine/protocol';
import { engineTestInfo, readEngineSetting, saveEngineSetting } from './engine-setting';

/** The engine as the host sees it (HostEngine); the shell passes the function that starts its process. */
export interface StudioEngine extends Engine {
  dispose(): Promise<void>;
  /** What the engine said when it started (version, machine), once it has. */
  ready?(): { version?: string; machine?: EngineMachine } | null;
}

/** How a Studio gets its engine (part of StudioOptions). */
export interface EngineOptions {
  /** Per-machine folder: where the engine setting is saved. */
  userDataDir: string;
  /**
   * Starts (lazily) the engine process with what the Studio gives it (its caches' folders, in the
   * user data folder); absent where no training is wanted (some tests).
   */
  engine?: (start: EngineStart) => StudioEngine;
  /**
   * Instead of `engine`: the engine a setting names ('' this machine, ssh://... a server), used with
   * `engineSetting` when given (TRANSFER_STUDIO_ENGINE, --engine), else the one saved in the user data folder.
   */
  engineFor?: (setting: string, start: EngineStart) => StudioEngine;
  engineSetting?: string;
}

export class EngineHost {
  private instance: StudioEngine | undefined;

  /** `onnxCacheDir`: the engine's ONNX cache, in the user data folder; it comes with the engine's start message. */
  constructor(
    private readonly options: EngineOptions,
    private readonly onnxCacheDir: string,
  ) {}

  /** Whether the Studio was given an engine (some tests make one without). */
  get available(): boolean {
    return Boolean(this.options.engine ?? this.options.engineFor);
  }

  /** What the Studio gives an engine it starts: its caches' folder in the user data folder. */
  private start(): EngineStart {
    return { onnxCacheDir: this.onnxCacheDir };
  }

  /** The engine, started on first use and reused; the engine client restarts its process if it dies. */
  engine(): StudioEngine {
    const { engine, engineFor } = this.options;
    if (!engine && !engineFor) throw new StudioError('engine_failed', 'This studio was started without a training engine.');
    this.instance ??= engine ? engine(this.start()) : engineFor!(this.setting().engine, this.start());
    return this.instance;
  }

  setting(): EngineSetting {
    const fixed = this.options.engineSetting;
    return fixed !== undefined ? { engine: fixed, fixed: true } : { engine: readEngineSetting(this.options.userDataDir), fixed: false };
  }

  /** Saves where the engine runs and stops the current one (the next use starts the new one); refused while `busy()`. */
  async changeSetting(engine: string, busy: () => boolean): Promise<EngineSetting> {
    if (this.setting().fixed) throw new StudioError('conflict', 'TRANSFER_STUDIO_ENGINE (or --engine) sets where the engine runs for this session.', 'engine');
    if (!this.options.engineFor) throw new StudioError('conflict', 'This studio has one engine; where it runs cannot be changed.', 'engine');
    this.options.engineFor(engine, this.start()); // a bad address is refused before anything is saved
    if (busy()) throw new StudioError('conflict', 'Jobs are running: change where the engine runs when they have finished.', 'engine');
    saveEngineSetting(this.options.userDataDir, engine);
    await this.dispose();
    return this.setting();
  }

  /** Starts the engine a setting names, asks what it runs on, and stops it again. */
  async test(setting: string): Promise<EngineTestInfo> {
    if (!this.options.engineFor) throw new StudioError('engine_failed', 'This studio was started without a choice of engine.');
    const engine = this.options.engineFor(setting, this.start());
    try {
      const backend = await engine.call('backend', {});
      return engineTestInfo(backend, engine.ready?.() ?? null, APP_VERSION);
    } finally {
      await engine.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.instance?.dispose();
    this.instance = undefined;
  }
}
