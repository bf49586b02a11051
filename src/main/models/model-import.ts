/**
 * A model imported from disk by request (not a job), checked by the engine when there is one.
 * Ctrl-C (cancelAll) stops it too: the engine's validation is cancelled (a busy engine restarted
 * after its grace) and nothing is installed.
 */
import type { ParsedInput } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { InstalledModel } from '../../shared/node/installed-model';
import type { ModelLibrary, ValidateModel } from './library';

/** The engine's validation of a model folder (ValidateModel) that `signal` stops. */
export type CancellableValidate = (dir: string, signal: AbortSignal) => ReturnType<ValidateModel>;

export class ModelImports {
  /** The imports in flight, for cancelAll. */
  private readonly inFlight = new Set<AbortController>();

  constructor(private readonly library: ModelLibrary) {}

  /** Imports one model; `validateModel` absent: installed unvalidated (a studio without an engine). */
  async run(input: ParsedInput<'importModel'>, validateModel: CancellableValidate | undefined): Promise<InstalledModel> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const cancelled = (): StudioError => new StudioError('cancelled', 'The model import was cancelled; nothing was installed.');
    const validate: ValidateModel | undefined =
      validateModel &&
      (async (dir) => {
        const v = await validateModel(dir, controller.signal).catch((err: unknown) => {
          throw controller.signal.aborted ? cancelled() : err; // the engine stopped for the cancel
        });
        if (controller.signal.aborted) throw cancelled();
        return v;
      });
    try {
      return await this.library.importPath(input.dir, {
        ...(input.id !== undefined ? { id: input.id } : {}),
        replace: input.replace,
        ...(input.preprocessing ? { preprocessing: input.preprocessing } : {}),
        ...(validate ? { validate } : {}),
      });
    } finally {
      this.inFlight.delete(controller);
    }
  }

  cancelAll(): void {
    for (const c of this.inFlight) c.abort();
  }
}
