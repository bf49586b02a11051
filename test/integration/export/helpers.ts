/** Real projects for export tests: images written with sharp, imported through the real import service, a run with stored predictions. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExportRequest } from '../../../src/shared/api';
import { exportRequestSchema } from '../../../src/shared/api';
import type { ExportResult } from '../../../src/shared/api';
import type { ImportRequestInput } from '../../../src/shared/domain';
import { importRequestSchema } from '../../../src/shared/domain';
import { StudioError } from '../../../src/shared/errors';
import type { JobContext } from '../../../src/main/jobs/job-manager';
import { runImport } from '../../../src/main/media/import';
import { runExport } from '../../../src/main/export/exports';
import { ProjectStore } from '../../../src/main/store/project-store';
import { savePredictions } from '../../../src/main/store/runs';
import { readCsv } from '../../../src/main/media/csv';

const made: string[] = [];

export function tempDir(prefix = 'ts-export-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir made (call in afterAll, after closing the stores). */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
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

export async function importNow(store: ProjectStore, req: ImportRequestInput): Promise<void> {
  const r = await runImport(store, importRequestSchema.parse(req), testContext());
  if (r.failureCount > 0) throw new Error(`import failed: ${JSON.stringify(r.failures)}`);
}

export function exportNow(store: ProjectStore, req: Partial<ExportRequest> & Pick<ExportRequest, 'kind' | 'out'>, ctx = testContext()): Promise<ExportResult> {
  return runExport(store, exportRequestSchema.parse(req), ctx);
}

/** Inserts a finished run with these class names; returns its id. */
export function addRun(store: ProjectStore, classNames: string[], state = 'succeeded'): number {
  const info = store.db
    .prepare(`INSERT INTO runs (scenario, model, state, config, class_names, started_at, finished_at) VALUES (1, 'test-model', ?, '{}', ?, ?, ?)`)
    .run(state, JSON.stringify(classNames), new Date().toISOString(), new Date().toISOString());
  return Number(info.lastInsertRowid);
}

/** Predicts class `pick(imageId)` with probability 0.7 for every listed image. */
export function predict(store: ProjectStore, runId: number, imageIds: number[], classes: number, pick: (id: number) => number): void {
  savePredictions(
    store.db,
    runId,
    imageIds.map((imageId) => {
      const probs = new Array<number>(classes).fill(0.3 / Math.max(1, classes - 1));
      probs[pick(imageId)] = 0.7;
      return { imageId, probabilities: probs, trueIndex: null };
    }),
  );
}

export function imageId(store: ProjectStore, relPath: string): number {
  const r = store.db.prepare('SELECT id FROM images WHERE rel_path = ?').get(relPath) as { id: number } | undefined;
  if (!r) throw new Error(`no image ${relPath}`);
  return r.id;
}

export async function readCsvFile(file: string): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const r of readCsv(file)) rows.push(r.fields);
  return rows;
}

/** Files in `dir` that are not in `expected` (temporary leftovers). */
export function strayFiles(dir: string, expected: string[] = []): string[] {
  return fs.readdirSync(dir).filter((n) => !expected.includes(n));
}
