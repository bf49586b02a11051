/**
 * The models installed on this machine: one folder per model under <userData>/models/<id>/,
 * filled by importing from disk or by a catalog download, never per project. What is imported is
 * validated before it is copied (a TensorFlow.js folder: readModelFolder; a Keras file:
 * keras-file.ts, then `validate`, the engine building it), and copied under a temporary name then
 * renamed, so a half-copied model is never listed. studio-model.json (written last) says what the
 * folder holds: format, Keras file, architecture, preprocessing. Pure Node: no TensorFlow.js here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PreprocessingMode } from '../../shared/domain';
import { StudioError } from '../../shared/errors';
import { writeFileAtomic, writeFileAtomicSync } from '../../shared/node/atomic-write';
import { INSTALLED_META, readInstalledMeta, type InstalledModel } from '../../shared/node/installed-model';
import { kerasEntryByFileName, type CatalogModel, type KerasCatalogModel } from './catalog';
import { downloadKerasFile, downloadModel, type DownloadOptions } from './download';
import { readModelFolder } from '../../shared/node/model-folder';
import { isModelError, ModelError } from '../../shared/model-errors';
import { ARCHITECTURES } from '../../shared/keras-architectures';
import { extractKerasArchive, inspectKerasFile, md5File, type KerasFileInfo } from './keras-file';
import { readTeachable, TEACHABLE_METADATA } from '../../shared/node/teachable';
import { MODEL_ID_RULE, modelIdProblem, shownModelId } from '../../shared/domain';
import { makeTempFolder, releaseTempFolder, sweepStaleTempFolders } from './temp-folders';

/** Builds the installed model in a folder (the engine), returning what it learned; throws a typed error if it cannot. */
export type ValidateModel = (dir: string) => Promise<{ params: number; inputSize: number | null; layers: number }>;

export interface ImportOptions {
  id?: string;
  replace?: boolean;
  preprocessing?: PreprocessingMode;
  validate?: ValidateModel;
}


/** A file of an installed model: copied (or moved) from disk, or written from text. */
/** A file to install: copied (its size checked when `bytes` is given) or moved, or written from text. */
type InstallFile = { from: string; to: string; move?: boolean; bytes?: number } | { text: string; to: string };

/** The square input size a topology declares (its InputLayer's batch_input_shape), if fixed. */
function inputSizeOf(layers: { class_name: string; config: Record<string, unknown> }[]): number | null {
  const shape = layers.find((l) => l.class_name === 'InputLayer')?.config['batch_input_shape'];
  return Array.isArray(shape) && typeof shape[1] === 'number' && shape[1] === shape[2] ? shape[1] : null;
}

const KERAS_FILE: Record<KerasFileInfo['format'], string> = { 'keras-weights': 'weights.h5', 'keras-h5': 'model.h5', 'keras-v3': 'model.weights.h5' };

/** The id a model takes from its file or folder name (what --id overrides), checked like any id. */
function idFromName(src: string): string {
  const base = path.basename(src);
  const id = base.replace(/\.(h5|hdf5|keras)$/i, '').replace(/[^\w.-]/g, '_').slice(0, 100);
  const problem = modelIdProblem(id);
  if (problem)
    throw new StudioError('bad_request', `The model id ${shownModelId(id)} taken from the name ${shownModelId(base)} cannot name a model (${problem}): give one with --id (${MODEL_ID_RULE}).`, 'id');
  return id;
}

/** A model folder problem as the contract's typed error, keeping its specific message. */
export function modelErrorToStudio(err: unknown): unknown {
  return isModelError(err) ? new StudioError('bad_model', err.message) : err;
}

export interface LibraryOptions {
  /** Read-only models shipped with the app (resources/models): one installed-model folder each. */
  builtInDir?: string | null;
}

export class ModelLibrary {
  readonly root: string;
  readonly builtInDir: string | null;

  constructor(userDataDir: string, options: LibraryOptions = {}) {
    this.root = path.join(userDataDir, 'models');
    this.builtInDir = options.builtInDir ?? null;
  }

  /** The built-in models (source "built-in"), by id, with their folders. */
  private builtIns(): Map<string, { meta: InstalledModel; dir: string }> {
    const out = new Map<string, { meta: InstalledModel; dir: string }>();
    if (!this.builtInDir || !fs.existsSync(this.builtInDir)) return out;
    for (const e of fs.readdirSync(this.builtInDir, { withFileTypes: true })) {
      const dir = path.join(this.builtInDir, e.name);
      const meta = e.isDirectory() ? readInstalledMeta(dir) : null;
      if (meta?.id === e.name) out.set(meta.id, { meta: { ...meta, source: 'built-in' }, dir });
    }
    return out;
  }

  private hiddenFile(): string {
    return path.join(this.root, '.hidden.json');
  }

  private hiddenIds(): Set<string> {
    try {
      const ids: unknown = JSON.parse(fs.readFileSync(this.hiddenFile(), 'utf8'));
      return new Set(Array.isArray(ids) ? ids.filter((i): i is string => typeof i === 'string') : []);
    } catch {
      return new Set();
    }
  }

  /** Hides a model from the pickers and defaults (it stays listed, marked hidden), or shows it again. */
  setHidden(id: string, hidden: boolean): InstalledModel {
    this.require(id);
    const ids = this.hiddenIds();
    if (hidden) ids.add(id);
    else ids.delete(id);
    fs.mkdirSync(this.root, { recursive: true });
    writeFileAtomicSync(this.hiddenFile(), JSON.stringify([...ids].sort()));
    return this.list().find((m) => m.id === id)!;
  }

  /** The model a request without one uses: the first listed that is not hidden (the built-in one first). */
  defaultModel(): InstalledModel | undefined {
    return this.list().find((m) => !m.hidden);
  }

  dirOf(id: string): string {
    const problem = modelIdProblem(id);
    if (problem) throw new StudioError('bad_request', `${shownModelId(id)} is not a model id: ${problem} (${MODEL_ID_RULE}).`, 'id');
    return path.join(this.root, id);
  }

  /**
   * Refuses to install over `id` unless asked to replace it and what is there is a model this
   * studio installed: a real folder (not a link) holding studio-model.json. Anything else in the
   * library (a folder copied there by hand, a link) is never deleted.
   */
  private checkReplaceable(id: string, replace: boolean | undefined): void {
    const dest = this.dirOf(id);
    const st = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (!st) return;
    if (!replace) throw new StudioError('conflict', `A model named ${shownModelId(id)} is already installed.`, 'id');
    const meta = st.isDirectory() ? fs.lstatSync(path.join(dest, INSTALLED_META), { throwIfNoEntry: false }) : undefined;
    if (!meta?.isFile())
      throw new StudioError('conflict', `${dest} is not a model the studio installed (${st.isDirectory() ? `no ${INSTALLED_META} in it` : st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}), so --force leaves it alone: remove it yourself or choose another --id.`, 'id');
  }

  /** The folder of an installed model (one installed under a built-in's id takes its place), or a typed error that says how to get it. */
  require(id: string): string {
    const dir = this.dirOf(id);
    if (fs.existsSync(path.join(dir, INSTALLED_META))) return dir;
    const builtIn = this.builtIns().get(id);
    if (builtIn) return builtIn.dir;
    throw new StudioError('not_found', `The model "${id}" is not installed: import its folder or download it from the catalog.`, 'model');
  }

  /** The class names an installed model carries (a Teachable Machine export's metadata.json), or a typed error. */
  classLabels(id: string): string[] {
    this.require(id);
    const labels = this.list().find((m) => m.id === id)?.teachable?.labels ?? [];
    if (labels.length === 0) throw new StudioError('bad_input', `The model "${id}" names no classes: only a Teachable Machine export (its metadata.json) carries its labels.`, 'model');
    return labels;
  }

  /** Every model this machine has: the built-in ones first, then those installed, with whether each is hidden. */
  list(): InstalledModel[] {
    const installed = this.installed();
    const ids = new Set(installed.map((m) => m.id));
    const hidden = this.hiddenIds();
    const builtIn = [...this.builtIns().values()].map((b) => b.meta).filter((m) => !ids.has(m.id));
    return [...builtIn, ...installed].map((m) => (hidden.has(m.id) ? { ...m, hidden: true } : m));
  }

  /** The models installed into this machine's models folder (imported or downloaded). */
  installed(): InstalledModel[] {
    if (!fs.existsSync(this.root)) return [];
    sweepStaleTempFolders(this.root);
    const out: InstalledModel[] = [];
    for (const e of fs.readdirSync(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      // A folder without our metadata is an interrupted install; it is not offered.
      const meta = readInstalledMeta(path.join(this.root, e.name));
      if (meta) out.push(meta);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Installs a model from disk: a TensorFlow.js folder, or a Keras file (.h5 / .keras). */
  async importPath(src: string, options: ImportOptions = {}): Promise<InstalledModel> {
    const abs = path.resolve(src);
    const stat = fs.statSync(abs, { throwIfNoEntry: false });
    if (!stat) throw new StudioError('bad_model', `${abs} does not exist.`, 'dir');
    return stat.isDirectory() ? this.importFolder(abs, options) : this.importKeras(abs, options);
  }

  /** Validates a LayersModel folder and installs a copy under `id` (default: the folder's name). */
  async importFolder(src: string, options: ImportOptions = {}): Promise<InstalledModel> {
    const id = options.id ?? idFromName(path.resolve(src));
    this.checkReplaceable(id, options.replace);
    const folder = await readModelFolder(path.resolve(src)).catch((err: unknown) => {
      throw modelErrorToStudio(err);
    });
    const meta: InstalledModel = {
      id,
      name: folder.modelName,
      source: 'import',
      origin: folder.dir,
      weightBytes: folder.weightBytes,
      layers: folder.layers.length,
      installedAt: new Date().toISOString(),
      format: 'tfjs',
      preprocessing: options.preprocessing ?? 'tf',
      params: folder.manifest.flatMap((g) => g.weights).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0),
      ...(inputSizeOf(folder.layers) ? { inputSize: inputSizeOf(folder.layers)! } : {}),
    };
    const teachable = readTeachable(folder.dir);
    if (teachable) meta.teachable = teachable;
    // Shards are copied from the resolved paths checked by readModelFolder, and must keep their size.
    const files: InstallFile[] = folder.shards.map((s) => ({ from: s.file, to: s.path, bytes: s.bytes }));
    // Nested models are installed flattened, once: every later reader sees the real layers.
    files.push(folder.flattened ? { text: JSON.stringify(folder.modelJson), to: 'model.json' } : { from: path.join(folder.dir, 'model.json'), to: 'model.json' });
    if (teachable) files.push({ from: path.join(folder.dir, TEACHABLE_METADATA), to: TEACHABLE_METADATA });
    // Validated structurally above (every shard, its size, the layer classes, what the topology declares): no engine needed.
    return this.installValidated(id, files, meta);
  }

  /**
   * Installs a Keras file: a whole model (Keras 2 .h5, Keras 3 .keras) or a weights-only .h5 of a
   * catalog architecture. A file carrying the name Keras publishes a catalog file under must have
   * the hash Keras pins for it.
   */
  async importKeras(src: string, options: ImportOptions = {}): Promise<InstalledModel> {
    const info = await inspectKerasFile(src).catch((err: unknown) => {
      throw modelErrorToStudio(err);
    });
    const id = options.id ?? idFromName(src);
    this.checkReplaceable(id, options.replace);
    const md5 = await md5File(info.realFile);
    const published = kerasEntryByFileName(path.basename(src));
    let verified: string | undefined;
    if (published) {
      const accepted = [published.hash?.value, ...published.alsoAccepted].filter((h): h is string => typeof h === 'string');
      if (accepted.length > 0 && !accepted.includes(md5))
        throw new StudioError('bad_model', `${src} has md5 ${md5}, but Keras pins ${accepted[0]} for ${published.fileName} (${published.hash?.pinnedIn ?? 'keras'}): it is not the genuine file. Download it again, or rename it if it holds your own weights.`, 'dir');
      verified = accepted.length > 0 ? `md5 matches the hash Keras pins (${published.hash?.pinnedIn ?? 'keras'})` : 'Keras pins no hash for this file; checked structurally';
    }
    const arch = info.architecture;
    const meta: InstalledModel = {
      id,
      name: arch ? `${ARCHITECTURES[arch.architecture].name}${arch.includeTop ? '' : ' (no top)'}` : info.name,
      source: 'import',
      origin: path.resolve(src),
      weightBytes: fs.statSync(info.realFile).size,
      layers: 0,
      installedAt: new Date().toISOString(),
      format: info.format,
      file: KERAS_FILE[info.format],
      preprocessing: options.preprocessing ?? (arch ? ARCHITECTURES[arch.architecture].preprocessing : 'tf'),
      md5,
      ...(arch ? { architecture: arch.architecture, includeTop: arch.includeTop } : {}),
      ...(verified ? { verified } : {}),
    };
    if (info.format !== 'keras-v3') return this.installValidated(id, [{ from: info.realFile, to: meta.file! }], meta, options.validate);
    const unpacked = makeTempFolder(this.root, 'unpack');
    try {
      const { configFile, weightsFile } = await extractKerasArchive(info.realFile, unpacked, info.file);
      return await this.installValidated(id, [{ from: configFile, to: 'config.json' }, { from: weightsFile, to: meta.file! }], meta, options.validate);
    } finally {
      releaseTempFolder(unpacked);
    }
  }

  /**
   * Copies files into a temporary folder, lets `validate` build the model there (its parameter
   * count and input size go into the metadata), writes the metadata last, then renames into place.
   * A model that fails validation is never installed, and an installed one it would replace stays.
   */
  async installValidated(id: string, files: InstallFile[], meta: InstalledModel, validate?: ValidateModel): Promise<InstalledModel> {
    const dest = this.dirOf(id);
    sweepStaleTempFolders(this.root);
    const tmp = makeTempFolder(this.root, 'install', id);
    try {
      for (const f of files) {
        const target = path.join(tmp, f.to);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        if ('text' in f) fs.writeFileSync(target, f.text);
        else if (f.move) fs.renameSync(f.from, target);
        else fs.copyFileSync(f.from, target);
        if ('bytes' in f && f.bytes !== undefined && fs.statSync(target).size !== f.bytes)
          throw new ModelError('SHARD_SIZE_MISMATCH', `${f.to} changed while it was copied into the model library.`, { file: f.to });
      }
      let done = meta;
      if (validate) {
        fs.writeFileSync(path.join(tmp, INSTALLED_META), JSON.stringify(meta, null, 2)); // the engine reads what the folder is
        const v = await validate(tmp);
        done = { ...meta, params: v.params, layers: v.layers, ...(v.inputSize ? { inputSize: v.inputSize } : {}) };
      }
      fs.writeFileSync(path.join(tmp, INSTALLED_META), JSON.stringify(done, null, 2));
      this.checkReplaceable(id, true); // still a folder the studio made (checked again: the validation took a while)
      fs.rmSync(dest, { recursive: true, force: true });
      fs.renameSync(tmp, dest);
      releaseTempFolder(tmp, false);
      return done;
    } catch (err) {
      releaseTempFolder(tmp);
      if (err instanceof StudioError) throw err;
      if (isModelError(err)) throw modelErrorToStudio(err);
      throw new StudioError('internal', `Installing the model "${id}" failed: ${(err as Error).message}`);
    }
  }

  /**
   * Installs a catalog model by downloading it (download.ts: temp folder or resumable partial
   * file, verified, moved into place); a valid installed copy is reused, so each machine downloads
   * a model once.
   */
  async download(entry: CatalogModel, options: DownloadOptions & { validate?: ValidateModel } = {}): Promise<{ model: InstalledModel; cached: boolean }> {
    const dir = this.dirOf(entry.id);
    const installed = this.installed().find((m) => m.id === entry.id);
    if (installed && !options.force) {
      const valid = entry.kind === 'keras' ? fs.existsSync(path.join(dir, installed.file ?? 'weights.h5')) : await readModelFolder(dir).then(() => true, () => false);
      if (valid) return { model: installed, cached: true };
    }
    if (entry.kind === 'keras') return { model: await this.downloadKeras(entry, options), cached: false };
    // A folder of that name without metadata is reused when it holds this valid model (an install
    // interrupted before its metadata), never deleted: the studio may not have made it.
    if (!installed && fs.existsSync(dir) && (options.force || !(await readModelFolder(dir).then(() => true, () => false)))) this.checkReplaceable(entry.id, true);
    // downloadModel reuses a valid folder left without metadata by an interrupted install unless forced.
    const folder = await downloadModel(entry, this.root, { ...options, force: options.force || installed !== undefined });
    const meta: InstalledModel = {
      id: entry.id,
      name: entry.name,
      source: 'catalog',
      origin: entry.url,
      weightBytes: folder.weightBytes,
      layers: folder.layers.length,
      installedAt: new Date().toISOString(),
      format: 'tfjs',
      preprocessing: entry.preprocessing,
      inputSize: entry.inputSize,
      ...(entry.params ? { params: entry.params } : {}),
    };
    // Metadata last (written then renamed): until it is there the folder is not listed.
    await writeFileAtomic(path.join(dir, INSTALLED_META), JSON.stringify(meta, null, 2));
    return { model: meta, cached: false };
  }

  private async downloadKeras(entry: KerasCatalogModel, options: DownloadOptions & { validate?: ValidateModel }): Promise<InstalledModel> {
    // Structural check of the download: a Keras weights file of this very architecture.
    const verify = async (file: string): Promise<void> => {
      const info = await inspectKerasFile(file);
      if (info.architecture?.architecture !== entry.family || info.architecture.includeTop !== entry.includeTop)
        throw new ModelError('CHECKSUM_MISMATCH', `${entry.fileName} from ${entry.url} is not a ${entry.name} weights file (its layers are those of ${info.architecture ? info.architecture.architecture : 'no known architecture'}).`, { url: entry.url });
    };
    const got = await downloadKerasFile(entry, this.root, verify, options);
    const meta: InstalledModel = {
      id: entry.id,
      name: entry.name,
      source: 'catalog',
      origin: entry.url,
      weightBytes: fs.statSync(got.file).size,
      layers: 0,
      installedAt: new Date().toISOString(),
      format: 'keras-weights',
      file: 'weights.h5',
      architecture: entry.family,
      includeTop: entry.includeTop,
      preprocessing: entry.preprocessing,
      inputSize: entry.inputSize,
      ...(entry.params ? { params: entry.params } : {}),
      md5: got.md5,
      verified: entry.hash ? `md5 matches the hash Keras pins (${entry.hash.pinnedIn})` : 'Keras pins no hash for this file; checked structurally and by size',
    };
    return this.installValidated(entry.id, [{ from: got.file, to: 'weights.h5', move: true }], meta, options.validate);
  }

  /** Deletes an installed model; a built-in one cannot be deleted (it can be hidden). */
  remove(id: string): void {
    const dir = this.require(id);
    if (dir !== this.dirOf(id)) throw new StudioError('bad_request', `"${id}" is built into the studio and cannot be deleted; hide it instead.`, 'id');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
