/** Typed errors that cross the contract. Every failure a user can cause has a code and a plain message. */
export const ERROR_CODES = [
  'bad_request', // input failed its schema; `field` names the offending field
  'unknown_request',
  'no_project', // a request that needs an open project arrived without one
  'not_found',
  'not_a_project',
  'not_empty',
  'newer_schema',
  'corrupt_database',
  'locked',
  'read_only',
  'disk_full', // a write failed for lack of space: the message says which disk and how much is free
  'conflict',
  'cancelled',
  'engine_failed',
  'download_failed', // a model download could not be made or verified (offline, HTTP error, checksum)
  'bad_model',
  'bad_input',
  'unauthorized',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface StudioErrorShape {
  code: ErrorCode;
  message: string;
  field?: string;
}

export class StudioError extends Error implements StudioErrorShape {
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }

  toJSON(): StudioErrorShape {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }

  static from(err: unknown): StudioError {
    if (err instanceof StudioError) return err;
    if (isErrorShape(err)) return new StudioError(err.code, err.message, err.field);
    const fs = fileSystemProblem(err);
    if (fs) return new StudioError('bad_input', fs);
    const message = err instanceof Error ? err.message : String(err);
    return new StudioError('internal', message);
  }
}

/** File-system errors that say what is wrong with a path the user gave, in their words. */
const PATH_PROBLEMS: Record<string, string> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'has a part that is not a folder',
  EISDIR: 'is a folder, not a file',
  ENAMETOOLONG: 'has a name too long for the file system',
  ELOOP: 'has too many levels of symbolic links',
  EACCES: 'cannot be accessed (permission denied)',
  EPERM: 'cannot be accessed (operation not permitted)',
};

/** "PATH does not exist." for a Node file-system error about a path, else null. */
function fileSystemProblem(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const { code, path } = err as { code?: unknown; path?: unknown };
  const problem = typeof code === 'string' ? PATH_PROBLEMS[code] : undefined;
  return problem && typeof path === 'string' ? `${path} ${problem}.` : null;
}

export function isErrorShape(v: unknown): v is StudioErrorShape {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.code === 'string' && (ERROR_CODES as readonly string[]).includes(o.code) && typeof o.message === 'string';
}
