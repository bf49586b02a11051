/**
 * Typed errors of model folders: each has a stable `code` the UI and the CLI can switch on,
 * and a message that says what is wrong in words an analyst can act on.
 */
export type ModelErrorCode =
  | 'MODEL_DIR_MISSING'
  | 'MODEL_JSON_MISSING'
  | 'MODEL_JSON_INVALID'
  | 'MODEL_IS_GRAPH_MODEL'
  | 'MODEL_TOPOLOGY_MISSING'
  | 'MODEL_MANIFEST_INVALID'
  | 'SHARD_MISSING'
  | 'SHARD_SIZE_MISMATCH'
  | 'UNSUPPORTED_LAYER'
  | 'LAYER_NOT_FOUND'
  | 'MODEL_LOAD_FAILED'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'UNKNOWN_CATALOG_MODEL'
  // Keras files (MODEL_ prefix: the engine's codes that mean "the user's model is at fault").
  | 'MODEL_NOT_HDF5'
  | 'MODEL_FILE_TRUNCATED'
  | 'MODEL_NOT_KERAS'
  | 'MODEL_UNKNOWN_ARCHITECTURE'
  | 'MODEL_WEIGHTS_MISMATCH'
  | 'MODEL_HASH_MISMATCH'
  // A file of the model that is not what it claims: a link leading out of its folder, a FIFO, a device.
  | 'MODEL_FILE_REFUSED'
  // What the topology declares cannot be: more parameters than the file holds bytes, more than the engine's memory.
  | 'MODEL_TOO_LARGE';

export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isModelError(e: unknown): e is ModelError {
  return e instanceof ModelError;
}
