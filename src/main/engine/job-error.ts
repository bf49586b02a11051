/** The engine's own job errors: a job it refuses or cannot finish, with one of the protocol's codes. */
import type { EngineErrorData } from './protocol';

/** A job the engine refuses or cannot finish, with one of the protocol's codes. */
export class EngineJobError extends Error {
  constructor(
    readonly code: EngineErrorData['code'],
    message: string,
    /** The call's field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}
