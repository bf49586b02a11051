/**
 * The rows of a test-set export (submission, probabilities): which image each row is, under
 * which name, in which order.
 *
 * Without a template: every test image, source by source in import order; within a CSV source
 * in the CSV's row order (the import commits rows in file order, so image ids follow it), within
 * a folder or file source by path in natural order ("2.png" before "10.png"; a folder's listing
 * order is the filesystem's, not something to reproduce). The name is the path the source gave
 * the image (relative to its images folder, '/' separators).
 *
 * With a template (the competition's sample submission or test list): exactly its ids, in its
 * order, named as it names them. Each id is matched to a test image by path or file name, with
 * or without extension; an id that matches nothing is looked for as a file in the test sources'
 * folders and matched by content, which finds test images the import merged with an identical
 * image (a duplicate is imported once). An id that matches two test images (one file name in two
 * folders or two sources) is refused as ambiguous.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import { readCsv } from '../media/csv';
import { EXTENSION_GUESSES } from '../media/formats';
import { hashFile } from '../media/inspect';
import { type ImageFile, type TestImageFile, imageByHash, testImageFiles } from '../store/image-files';
import type { DB } from '../store/open-database';
import { stripExtension } from './names';

export interface ExportRow {
  name: string;
  /** Its className is the label the user gave the image (a correction wins over the prediction). */
  image: ImageFile;
}

export interface RowPlan {
  rows: ExportRow[];
  /** Column names the template's header suggests (its first column, and its label column). */
  header: { id: string; label: string | null } | null;
}

/** A CSV source (or a zip whose labels came from a CSV) keeps its file's row order. */
const isCsvOrdered = (r: TestImageFile): boolean => r.sourceKind === 'csv' || (r.sourceKind === 'zip' && /\.csv\)$/i.test(r.sourceDescription));

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

export function testImages(db: DB): TestImageFile[] {
  const all = testImageFiles(db);
  const out: TestImageFile[] = [];
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.sourceId === all[i]!.sourceId) j++;
    const group = all.slice(i, j);
    if (!isCsvOrdered(group[0]!)) group.sort((a, b) => natural.compare(a.relPath, b.relPath) || a.id - b.id);
    out.push(...group);
    i = j;
  }
  return out;
}

export function defaultRows(db: DB, strip: boolean): RowPlan {
  const images = testImages(db);
  return { rows: images.map((image) => ({ name: strip ? stripExtension(image.relPath) : image.relPath, image })), header: null };
}

/** The id as the file's name, else with an image extension. */
const TRY_EXTENSIONS = ['', ...EXTENSION_GUESSES];

function ambiguous(id: string, images: readonly ImageFile[]): StudioError {
  const names = images.map((i) => i.path).join(', ');
  return new StudioError(
    'bad_input',
    `The template's id ${JSON.stringify(id)} is ambiguous: it matches ${images.length} test images (${names}). Give its path within its source folder instead, or keep only one of them in the test set.`,
    'template',
  );
}

/** Rows from a template CSV: its ids in its order; `idColumn` picks the id column by header name. */
export async function templateRows(db: DB, template: string, idColumn: string | undefined, signal: AbortSignal): Promise<RowPlan> {
  const file = path.resolve(template);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new StudioError('bad_input', `The template ${file} does not exist.`, 'template');
  const images = testImages(db);
  // Keys an id may use, most specific first; the first key an id matches decides: one image, or
  // several (one file name in two folders), which is ambiguous and refused, never a guess.
  const keyMaps: Map<string, ImageFile[]>[] = [new Map(), new Map(), new Map(), new Map()];
  const put = (m: Map<string, ImageFile[]>, k: string, img: ImageFile): void => {
    const had = m.get(k);
    if (!had) m.set(k, [img]);
    else if (!had.some((h) => h.id === img.id)) had.push(img);
  };
  for (const img of images) {
    put(keyMaps[0]!, img.relPath, img);
    put(keyMaps[1]!, stripExtension(img.relPath), img);
    put(keyMaps[2]!, img.fileName, img);
    put(keyMaps[3]!, stripExtension(img.fileName), img);
  }
  const candidates = (id: string): ImageFile[] => {
    const k = id.trim().replace(/\\/g, '/').replace(/^\.\//, '');
    for (const m of keyMaps) {
      const hit = m.get(k);
      if (hit) return hit;
    }
    return [];
  };
  const lookup = (id: string): ImageFile | undefined => {
    const hits = candidates(id);
    if (hits.length > 1) throw ambiguous(id, hits);
    return hits[0];
  };

  let header: { id: string; label: string | null } | null = null;
  let idIndex = 0;
  let first = true;
  const ids: string[] = [];
  for await (const rec of readCsv(file)) {
    if (first) {
      first = false;
      const cells = rec.fields.map((c) => c.trim());
      const named = idColumn !== undefined ? cells.indexOf(idColumn) : -1;
      if (idColumn !== undefined && named < 0)
        throw new StudioError('bad_input', `The template has no column "${idColumn}" (its header: ${cells.join(', ')}).`, 'idColumn');
      // A header is a first row whose id cell names no test image.
      const isHeader = named >= 0 || candidates(cells[0] ?? '').length === 0;
      if (isHeader) {
        idIndex = Math.max(0, named);
        const labelCell = cells.find((_, i) => i !== idIndex);
        header = { id: cells[idIndex] ?? 'id', label: labelCell ?? null };
        continue;
      }
    }
    const id = (rec.fields[idIndex] ?? '').trim();
    if (id !== '') ids.push(id);
  }
  if (ids.length === 0) throw new StudioError('bad_input', `The template ${file} lists no ids.`, 'template');

  const slots: { name: string; image: ImageFile | undefined }[] = ids.map((id) => ({ name: id, image: lookup(id) }));
  const unmatched = slots.flatMap((s, index) => (s.image ? [] : [{ index, id: s.name }]));
  if (unmatched.length > 0) {
    // Identical files are imported once: find the image by the content of the file the id names.
    const roots = [...new Set(images.map((i) => i.root))];
    const byHash = imageByHash(db);
    const still: string[] = [];
    for (const u of unmatched) {
      if (signal.aborted) throw new StudioError('cancelled', 'Cancelled by the user.');
      // Every test source's folder is looked in: a file of that name in two of them, of different
      // content, is as ambiguous as two test images of that name.
      const found = new Map<number, ImageFile>();
      for (const root of roots) {
        for (const ext of TRY_EXTENSIONS) {
          const candidate = path.resolve(root, u.id + ext);
          if (path.relative(root, candidate).startsWith('..')) continue;
          try {
            if (!fs.statSync(candidate).isFile()) continue;
            const hit = byHash((await hashFile(candidate, root)).hash);
            if (hit) {
              found.set(hit.id, hit);
              break;
            }
          } catch {
            /* not there */
          }
        }
      }
      if (found.size > 1) throw ambiguous(u.id, [...found.values()]);
      const hit = found.values().next().value;
      if (hit) slots[u.index]!.image = hit;
      else still.push(u.id);
    }
    if (still.length > 0)
      throw new StudioError(
        'bad_input',
        `${still.length} of ${ids.length} ids in the template are not test images of this project (first: ${still.slice(0, 3).map((s) => JSON.stringify(s)).join(', ')}). Import the test set (--split test) first.`,
        'template',
      );
  }
  return { rows: slots.map((s) => ({ name: s.name, image: s.image! })), header };
}
