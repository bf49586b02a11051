/**
 * Host side of explanations: Grad-CAM maps of a finished run (computed and cached by the engine,
 * engine/grad-cam.ts) for images of the project or files, written as overlay PNGs and peaks.csv
 * (the explain job), or returned for one image (Evaluate's heatmap).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExplainSummary, HeatmapInfo, ParsedInput } from '../../shared/api';
import { heatmapPeak } from '../../shared/heatmap';
import { StudioError } from '../../shared/errors';
import type { Engine, ExplainItem, GradCamResult } from '../engine/protocol';
import { buildFolderAtomic } from '../../shared/node/atomic-write';
import { checkTarget } from '../export/atomic';
import { csvLine } from '../export/csv-write';
import type { JobContext } from '../jobs/job-manager';
import { heatmapOverlay, uprightSize } from '../media/heatmap-overlay';
import { hashFile } from '../media/inspect';
import { imageFile, imageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';

/** Images per engine call: bounds the message size; progress counts across calls. */
const CHUNK = 500;

/** The index of `className` among the run's classes (case-insensitive), or undefined; a typed error for an unknown class. */
export function classIndexOf(classNames: readonly string[], className: string | undefined): number | undefined {
  if (className === undefined) return undefined;
  const i = classNames.findIndex((n) => n.toLowerCase() === className.toLowerCase());
  if (i < 0) throw new StudioError('bad_input', `The run has no class "${className}" (its classes: ${classNames.join(', ')}).`, 'className');
  return i;
}

/** Grad-CAM maps of every item, asked of the engine in chunks. */
async function gradCamAll(
  engine: Engine,
  runDir: string,
  items: ExplainItem[],
  classIndex: number | undefined,
  signal: AbortSignal,
  onProgress: (done: number, total: number) => void,
): Promise<GradCamResult> {
  let merged: GradCamResult | null = null;
  for (let start = 0; start < items.length; start += CHUNK) {
    const chunk = items.slice(start, start + CHUNK);
    const r = await engine.call(
      'gradCam',
      { runDir, items: chunk, ...(classIndex !== undefined ? { classIndex } : {}) },
      { signal, onEvent: (e) => e.type === 'progress' && onProgress(start + (e.done / e.total) * chunk.length, items.length) },
    );
    if (merged) merged.items.push(...r.items);
    else merged = r;
    onProgress(start + chunk.length, items.length);
  }
  return merged ?? { classNames: [], layer: '', height: 0, width: 0, items: [] };
}

/** The images an explain request names: a split of the project, or files (hashed here: the run's cache keys on content). */
async function explainTargets(store: ProjectStore, input: ParsedInput<'explainImages'>): Promise<ExplainItem[]> {
  if (input.split) {
    const rows = imageFiles(store.db, [input.split]);
    if (rows.length === 0) throw new StudioError('bad_input', `The project has no ${input.split} images to explain.`, 'split');
    return rows.map((r) => ({ path: r.path, hash: r.hash }));
  }
  return Promise.all(
    (input.imagePaths ?? []).map(async (p) => {
      const file = path.resolve(p);
      try {
        return { path: file, hash: (await hashFile(file)).hash };
      } catch (e) {
        throw new StudioError('bad_input', `Cannot read ${file}: ${(e as Error).message}`, 'imagePaths');
      }
    }),
  );
}

/** A file name per overlay: the image's name, numbered so that two images of one name stay apart. */
function overlayName(n: number, file: string): string {
  const base = path.basename(file, path.extname(file)).replace(/[^\w.-]+/g, '_').slice(0, 80);
  return `${String(n + 1).padStart(5, '0')}-${base}.png`;
}

/** The explain job: overlays and peaks.csv of the request's images in a new or empty folder (atomically). */
export async function explainImages(
  store: ProjectStore,
  engine: Engine,
  run: { id: number; classNames: readonly string[] },
  input: ParsedInput<'explainImages'>,
  ctx: JobContext,
): Promise<ExplainSummary> {
  const out = checkTarget(input.out, { kind: 'folder', overwrite: false });
  const classIndex = classIndexOf(run.classNames, input.className);
  const items = await explainTargets(store, input);
  const maps = await gradCamAll(engine, store.runDir(run.id), items, classIndex, ctx.signal, (done, total) => ctx.progress(Math.round(done), total, 'Computing heatmaps'));
  const failed: string[] = [];
  const written = await buildFolderAtomic(out, async (tmp) => {
    let rows = csvLine(['path', 'class', 'peak_x', 'peak_y']);
    let count = 0;
    ctx.progress(0, items.length, 'Writing overlays', true);
    for (const [n, item] of maps.items.entries()) {
      ctx.throwIfCancelled();
      const map = { values: item.map, width: maps.width, height: maps.height };
      try {
        if (item.classIndex < 0) throw new Error('it could not be decoded');
        const size = await uprightSize(item.path);
        await fs.promises.writeFile(path.join(tmp, overlayName(n, item.path)), await heatmapOverlay(item.path, map));
        const peak = heatmapPeak(map, size.width, size.height);
        rows += csvLine([item.path, maps.classNames[item.classIndex] ?? '', Number(peak.x.toFixed(4)), Number(peak.y.toFixed(4))]);
        count++;
      } catch {
        failed.push(item.path);
      }
      ctx.progress(n + 1, items.length, 'Writing overlays');
    }
    if (count === 0) throw new StudioError('bad_input', `No image could be read or decoded (${failed.slice(0, 3).join(', ')}${failed.length > 3 ? ', ...' : ''}); nothing was written.`, 'imagePaths');
    await fs.promises.writeFile(path.join(tmp, 'peaks.csv'), rows);
    return count;
  }, { durable: true });
  return { runId: run.id, out, peaksCsv: path.join(out, 'peaks.csv'), written, failed, layer: maps.layer, className: classIndex === undefined ? null : (run.classNames[classIndex] ?? null) };
}

/** One image's map (Evaluate): the predicted class's, or `className`'s. */
export async function imageHeatmap(
  store: ProjectStore,
  engine: Engine,
  run: { id: number; classNames: readonly string[] },
  imageId: number,
  className: string | undefined,
): Promise<HeatmapInfo> {
  const file = imageFile(store.db, imageId);
  if (!file) throw new StudioError('not_found', `There is no image ${imageId}.`, 'imageId');
  const classIndex = classIndexOf(run.classNames, className);
  const r = await engine.call('gradCam', { runDir: store.runDir(run.id), items: [{ path: file.path, hash: file.hash }], ...(classIndex !== undefined ? { classIndex } : {}) });
  const item = r.items[0];
  if (!item || item.classIndex < 0) throw new StudioError('bad_input', `Image ${imageId} (${file.path}) could not be read or decoded.`, 'imageId');
  const predictedIndex = item.probabilities.indexOf(Math.max(...item.probabilities));
  return {
    runId: run.id,
    imageId,
    classNames: r.classNames,
    probabilities: item.probabilities,
    predictedIndex,
    classIndex: item.classIndex,
    layer: r.layer,
    map: { width: r.width, height: r.height, values: Array.from(item.map) },
  };
}
