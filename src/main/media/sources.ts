/** Moved sources: relocating a source root after checking a sample of its files at the new place. */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import { imageFilePath } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import { getSource, sampleSourceImages, setSourceRoot } from '../store/sources';
import { FileReadError, hashFile } from './inspect';

export const RELOCATE_SAMPLE = 20;

export interface RelocateResult {
  id: number;
  root: string;
  checked: number;
}

/**
 * Points source `id` at `newRoot` if a sample of its images (evenly spread, up to 20) are all
 * there with the same content; otherwise refuses, saying how many were missing or different.
 */
export async function relocateSource(store: ProjectStore, id: number, newRoot: string): Promise<RelocateResult> {
  getSource(store.db, id);
  const root = path.resolve(newRoot);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    throw new StudioError('bad_input', `${root} does not exist.`, 'root');
  }
  if (!st.isDirectory()) throw new StudioError('bad_input', `${root} is not a folder.`, 'root');
  const sample = sampleSourceImages(store.db, id, RELOCATE_SAMPLE);
  let missing = 0;
  let different = 0;
  let firstProblem = '';
  for (const s of sample) {
    const file = imageFilePath(root, s.rel);
    try {
      const { hash } = await hashFile(file, root);
      if (hash !== s.hash) {
        different++;
        firstProblem ||= `${s.rel} has different content`;
      }
    } catch (err) {
      missing++;
      firstProblem ||= `${s.rel}: ${err instanceof FileReadError ? err.reason : String(err)}`;
    }
  }
  if (missing + different > 0)
    throw new StudioError(
      'bad_input',
      `${root} does not hold this source's images: of ${sample.length} checked, ${missing} missing and ${different} different (first: ${firstProblem}). Nothing was changed.`,
      'root',
    );
  setSourceRoot(store.db, id, root);
  return { id, root, checked: sample.length };
}
