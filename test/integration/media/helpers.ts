import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImportReport, ImportRequestInput } from '../../../src/shared/domain';
import { importRequestSchema } from '../../../src/shared/domain';
import type { JobContext } from '../../../src/main/jobs/job-manager';
import { StudioError } from '../../../src/shared/errors';
import { runImport, type ImportOptions } from '../../../src/main/media/import';
import { ProjectStore } from '../../../src/main/store/project-store';

export function tempDir(prefix = 'ts-media-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
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
