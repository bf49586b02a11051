/**
 * The project check (`project check DIR`, the checkProject job): SQLite's integrity check, then
 * every image's original file looked for on disk.
 */
import fs from 'node:fs';
import type { JobResults } from '../../shared/api';
import type { JobContext } from '../jobs/job-manager';
import { imageFiles } from './image-files';
import type { ProjectStore } from './project-store';

export async function checkProject(store: ProjectStore, ctx: JobContext): Promise<JobResults['check']> {
  const integrity = store.integrityCheck();
  const rows = imageFiles(store.db);
  let missingFiles = 0;
  for (let i = 0; i < rows.length; i++) {
    ctx.throwIfCancelled();
    if (!fs.existsSync(rows[i]!.path)) missingFiles++;
    ctx.progress(i + 1, rows.length, 'Checking image files');
    if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let cancel and events through
  }
  return { integrity, images: rows.length, missingFiles };
}
