/**
 * The catalog requests of the Studio: listCatalog (what can be downloaded, and whether it is
 * installed) and the work of a downloadModel job (progress, cancel, verified, once per machine),
 * with download problems as the contract's typed errors. Pure Node, no TensorFlow.js.
 */
import type { CatalogModelInfo, DownloadResult, ParsedInput } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { JobContext } from '../jobs/job-manager';
import { CATALOG, catalogModel, fromMirror } from './catalog';
import { isModelError } from '../../shared/model-errors';
import type { ModelLibrary, ValidateModel } from './library';
import { valueRange } from '../../shared/preprocessing';

export function listCatalog(library: ModelLibrary): CatalogModelInfo[] {
  const installed = new Set(library.list().map((m) => m.id));
  return CATALOG.map((m) => ({
    id: m.id,
    name: m.name,
    publisher: m.publisher,
    licence: m.licence,
    url: m.url,
    inputSize: m.inputSize,
    scaling: valueRange(m.preprocessing),
    featureDim: m.featureDim,
    params: m.params ?? null,
    sizeBytes: m.sizeBytes ?? null,
    verifiedDigest: m.kind === 'tfjs' ? m.modelJsonSha256 !== undefined : m.hash !== null,
    installed: installed.has(m.id),
    family: m.family,
    preprocessing: m.preprocessing,
    sizeExact: m.sizeExact,
    top1: m.top1 ?? null,
    hash: m.kind === 'keras' ? m.hash : m.modelJsonSha256 ? { algorithm: 'sha256', value: m.modelJsonSha256, pinnedIn: 'model.json (../shared/models SOURCE.txt)' } : null,
    includeTop: m.includeTop,
  }));
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** The work of a download job; throws `not_found` at once (before a job exists) for an unknown model. */
export function downloadJob(library: ModelLibrary, input: ParsedInput<'downloadModel'>, mirror: string | undefined, validate?: ValidateModel): (ctx: JobContext) => Promise<DownloadResult> {
  const listed = catalogModel(input.id);
  if (!listed) throw new StudioError('not_found', `"${input.id}" is not in the model catalog; it has ${CATALOG.map((m) => m.id).join(', ')}.`, 'id');
  const entry = mirror ? fromMirror(listed, mirror) : listed;
  return async (ctx) => {
    ctx.progress(0, 0, `Downloading ${entry.name}`);
    try {
      return await library.download(entry, {
        signal: ctx.signal,
        force: input.force,
        ...(validate ? { validate } : {}),
        onProgress: (p) => ctx.progress(p.done, p.total, `Downloading ${entry.name} (${mb(p.bytes)})`),
      });
    } catch (err) {
      if (ctx.signal.aborted) throw new StudioError('cancelled', 'The download was cancelled; nothing was installed (a partial Keras file is kept to resume from).');
      if (!isModelError(err)) throw err;
      const hint =
        err.code === 'DOWNLOAD_FAILED'
          ? 'Check the connection to the model publisher (or TRANSFER_STUDIO_MODEL_MIRROR); on a machine without internet access, copy the model and import it (transfer-studio models import PATH).'
          : 'The downloaded files were not installed.';
      throw new StudioError('download_failed', `${err.message.replace(/\.?$/, '.')} ${hint}`, 'id');
    }
  };
}
