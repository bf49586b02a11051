import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImportReport, ImportRequestInput } from '../../../src/shared/domain';
import { importRequestSchema } from '../../../src/shared/domain';
import type { JobContext } from '../../../src/main/jobs/job-manager';
import { StudioError } from '../../../src/shared/errors';
import { runImport, type ImportOptions } from '../../../src/main/media/import';
import { ProjectStore } from '../../../src/main/store/project-store';

const made: string[] = [];

export function tempDir(prefix = 'ts-media-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Removes every folder `tempDir` made (call after closing the stores in them). */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function newStore(): ProjectStore {
  return ProjectStore.create(path.join(tempDir(), 'project'));
}

export function testContext(controller = new AbortController(), onProgress?: (done: number, total: number) => void): JobContext {
  return {
    signal: controller.signal,
    jobId: 'test',
    progress: (done, total) => onProgress?.(done, total),
    throwIfCancelled() {
      if (controller.signal.aborted) throw new StudioError('cancelled', 'Cancelled by the user.');
    },
  };
}

export function importNow(store: ProjectStore, req: ImportRequestInput, opts: ImportOptions = {}, ctx = testContext()): Promise<ImportReport> {
  return runImport(store, importRequestSchema.parse(req), ctx, opts);
}

export function reasonOf(report: ImportReport, file: string): string | undefined {
  return report.failures.find((f) => f.file === file || f.file.endsWith(`/${file}`))?.reason;
}
