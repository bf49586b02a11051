/**
 * The models installed on this machine: one folder per model under <userData>/models/<id>/,
 * filled by importing a folder from disk or by a catalog download, never per project. A folder
 * is validated (readModelFolder) before it is copied, and copied under a temporary name then
 * renamed, so a half-copied model is never listed. Pure Node: no TensorFlow.js here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import type { CatalogModel } from './catalog';
import { downloadModel, type DownloadOptions } from './download';
import { readModelFolder } from './folder';
import { isModelError } from './errors';

export interface InstalledModel {
  id: string;
  name: string;
  source: 'import' | 'catalog';
  /** Where an imported model came from. */
  origin: string;
  weightBytes: number;
  layers: number;
  installedAt: string;
}

const META = 'studio-model.json';
const ID_PATTERN = /^[\w.-]{1,100}$/;

/** A model folder problem as the contract's typed error, keeping its specific message. */
export function modelErrorToStudio(err: unknown): unknown {
  return isModelError(err) ? new StudioError('bad_model', err.message) : err;
}

export class ModelLibrary {
  readonly root: string;

  constructor(userDataDir: string) {
    this.root = path.join(userDataDir, 'models');
  }

  dirOf(id: string): string {
    if (!ID_PATTERN.test(id)) throw new StudioError('bad_request', `"${id}" is not a model id (letters, digits, . _ - only).`, 'id');
    return path.join(this.root, id);
  }

  /** The folder of an installed model, or a typed error that says how to get it. */
  require(id: string): string {
    const dir = this.dirOf(id);
    if (!fs.existsSync(path.join(dir, META)))
      throw new StudioError('not_found', `The model "${id}" is not installed: import its folder or download it from the catalog.`, 'model');
    return dir;
  }

  list(): InstalledModel[] {
    if (!fs.existsSync(this.root)) return [];
    const out: InstalledModel[] = [];
    for (const e of fs.readdirSync(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(this.root, e.name, META), 'utf8')) as InstalledModel);
      } catch {
        // A folder without our metadata is an interrupted install; it is not offered.
      }
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Validates a LayersModel folder and installs a copy under `id` (default: the folder's name). */
  async importFolder(src: string, id = path.basename(path.resolve(src)), replace = false): Promise<InstalledModel> {
    const dest = this.dirOf(id);
    const folder = await readModelFolder(path.resolve(src)).catch((err: unknown) => {
      throw modelErrorToStudio(err);
    });
    if (fs.existsSync(dest) && !replace) throw new StudioError('conflict', `A model named "${id}" is already installed.`, 'id');
    return this.install(id, [path.join(folder.dir, 'model.json'), ...folder.shards.map((s) => path.join(folder.dir, s.path))], {
      id,
      name: folder.modelName,
      source: 'import',
      origin: folder.dir,
      weightBytes: folder.weightBytes,
      layers: folder.layers.length,
      installedAt: new Date().toISOString(),
    });
  }

  /** Copies files into a temporary folder, writes the metadata last, then renames into place. */
  install(id: string, files: string[], meta: InstalledModel): InstalledModel {
    const dest = this.dirOf(id);
    fs.mkdirSync(this.root, { recursive: true });
    const tmp = path.join(this.root, `.${id}.${process.pid}.${Date.now()}.tmp`);
    try {
      fs.mkdirSync(tmp);
      const srcRoot = path.dirname(files[0]!);
      for (const f of files) {
        const target = path.join(tmp, path.relative(srcRoot, f));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.copyFileSync(f, target);
      }
      fs.writeFileSync(path.join(tmp, META), JSON.stringify(meta, null, 2));
      fs.rmSync(dest, { recursive: true, force: true });
      fs.renameSync(tmp, dest);
      return meta;
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err instanceof StudioError ? err : new StudioError('internal', `Installing the model "${id}" failed: ${(err as Error).message}`);
    }
  }

  /**
   * Installs a catalog model by downloading it (download.ts: temp folder, verified, renamed into
   * place); a valid installed copy is reused, so each machine downloads a model once.
   */
  async download(entry: CatalogModel, options: DownloadOptions = {}): Promise<{ model: InstalledModel; cached: boolean }> {
    const dir = this.dirOf(entry.id);
    const installed = this.list().find((m) => m.id === entry.id);
    if (installed && !options.force) {
      const valid = await readModelFolder(dir).then(
        () => true,
        () => false,
      );
      if (valid) return { model: installed, cached: true };
    }
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
    };
    // Metadata last (written then renamed): until it is there the folder is not listed.
    const tmp = path.join(dir, `.${META}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(meta, null, 2));
    fs.renameSync(tmp, path.join(dir, META));
    return { model: meta, cached: false };
  }

  remove(id: string): void {
    this.require(id);
    fs.rmSync(this.dirOf(id), { recursive: true, force: true });
  }
}
