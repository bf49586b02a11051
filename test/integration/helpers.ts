/**
 * Helpers for the integration tests: temporary folders, a job context, real imports and exports
 * through the product's services, stored runs and predictions, the CLI as a child process, and
 * local HTTP servers. Test data itself is made by ../fixtures.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ExportRequest, ExportResult } from '../../src/shared/api';
import { exportRequestSchema } from '../../src/shared/api';
import type { ImportReport, ImportRequestInput } from '../../src/shared/domain';
import { importRequestSchema } from '../../src/shared/domain';
import { StudioError } from '../../src/shared/errors';
import type { JobContext } from '../../src/main/jobs/job-manager';
import { runImport, type ImportOptions } from '../../src/main/media/import';
import { runExport } from '../../src/main/export/exports';
import { ProjectStore } from '../../src/main/store/project-store';
import { savePredictions } from '../../src/main/store/runs';
import { readCsv } from '../../src/main/media/csv';
import { expect } from 'vitest';
import { cli, type CliResult } from '../fixtures/cli';
import { tempDir } from '../fixtures/temp';

export { cli, interruptedCli, type CliResult } from '../fixtures/cli';

/** The CLI with the user data folder `home()` (known once beforeAll ran): `run`, and `ok`, which expects exit 0. */
export function cliRunner(home: () => string): { run: (...args: string[]) => Promise<CliResult>; ok: (...args: string[]) => Promise<CliResult> } {
  const run = (...args: string[]): Promise<CliResult> => cli(home(), args);
  const ok = async (...args: string[]): Promise<CliResult> => {
    const r = await run(...args);
    expect(r.code, r.err).toBe(0);
    return r;
  };
  return { run, ok };
}

/** Whether the project in `dir` has a running job of `kind` (with a progress message starting with `message`, when given). */
export function jobRunning(dir: string, kind: string, message = ''): boolean {
  const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true });
  try {
    const row = db.prepare("SELECT message FROM jobs WHERE kind = ? AND state = 'running'").get(kind) as { message: string | null } | undefined;
    return row !== undefined && (row.message ?? '').startsWith(message);
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- folders and stores

export { removeTempDirs, tempDir } from '../fixtures/temp';

export function newStore(): ProjectStore {
  return ProjectStore.create(path.join(tempDir(), 'project'));
}

/** Copy a model folder (to break it). */
export async function copyModel(src: string, dst: string): Promise<string> {
  await fs.promises.cp(src, dst, { recursive: true });
  return dst;
}

/**
 * A copy of a TensorFlow.js model folder with other weights in one layer (its float32 weights
 * halved): the same architecture and feature size, other features (a fine-tuned variant, say).
 */
export async function copyModelWithOtherWeights(src: string, dst: string, weight: string): Promise<string> {
  await copyModel(src, dst);
  const manifest = (JSON.parse(fs.readFileSync(path.join(dst, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[]; weights: { name: string }[] }[] }).weightsManifest;
  const group = manifest.find((g) => g.weights.length === 1 && g.weights[0]!.name === weight && g.paths.length === 1);
  if (!group) throw new Error(`${weight} is not alone in a weight file of ${src}`);
  const file = path.join(dst, group.paths[0]!);
  const values = new Float32Array(new Uint8Array(fs.readFileSync(file)).buffer).map((v) => v / 2); // copied: aligned
  fs.writeFileSync(file, new Uint8Array(values.buffer));
  return dst;
}

// ---------------------------------------------------------------- jobs, imports, exports

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

/** Runs an import as the import job does; returns its report. */
export function importNow(store: ProjectStore, req: ImportRequestInput, opts: ImportOptions = {}, ctx = testContext()): Promise<ImportReport> {
  return runImport(store, importRequestSchema.parse(req), ctx, opts);
}

/** An import that must take every file. */
export async function importAll(store: ProjectStore, req: ImportRequestInput): Promise<void> {
  const r = await importNow(store, req);
  if (r.failureCount > 0) throw new Error(`import failed: ${JSON.stringify(r.failures)}`);
}

/** The reason an import report gives for `file` (a name or the end of a path). */
export function reasonOf(report: ImportReport, file: string): string | undefined {
  return report.failures.find((f) => f.file === file || f.file.endsWith(`/${file}`))?.reason;
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

// ---------------------------------------------------------------- local servers

/**
 * A model mirror on 127.0.0.1 serving files under `root` (<root>/<model id>/model.json, like the
 * publisher); `mutate` may change or drop (null) a file to break a download.
 */
export async function serveFolder(root: string, mutate?: (rel: string, data: Buffer) => Buffer | null): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(rel);
    const file = path.join(root, rel);
    let data: Buffer | null = null;
    if (!rel.split('/').includes('..') && fs.existsSync(file) && fs.statSync(file).isFile()) data = fs.readFileSync(file);
    if (data && mutate) data = mutate(rel, data);
    if (!data) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A local port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
