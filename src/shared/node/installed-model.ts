/**
 * What the model library writes beside an installed model (studio-model.json), and its one light
 * reader: the engine reads it to know how to load a folder (a Keras file, its architecture, the
 * preprocessing) without the library's downloader and archive reader.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { InstalledModelInfo } from '../domain';
import type { KerasArchitecture } from '../keras-architectures';

export const INSTALLED_META = 'studio-model.json';

export interface InstalledModel extends InstalledModelInfo {
  /** Keras models: the file in the folder the engine reads (weights.h5, model.h5, model.weights.h5). */
  file?: string;
  architecture?: KerasArchitecture;
  includeTop?: boolean;
  /** md5 of the Keras file, and whether it is the file Keras publishes (its pinned hash). */
  md5?: string;
  verified?: string;
}

/** The metadata of an installed model folder, or null (a folder imported by hand, a test's model). */
export function readInstalledMeta(dir: string): InstalledModel | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, INSTALLED_META), 'utf8')) as InstalledModel;
  } catch {
    return null;
  }
}
