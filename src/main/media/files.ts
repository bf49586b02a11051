/**
 * The files behind an image id, for the host to serve (/files/thumb/<id>, /files/image/<id>).
 * Only paths the store references are ever returned: an original under its source root, a
 * thumbnail under <project>/thumbs. An original is served (and thumbnailed) only while its
 * content is still what was imported: a file replaced since, or a symbolic link swapped in for
 * it (to a key, a page, anything of the user's), is refused.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { ProjectStore } from '../store/project-store';
import { imageFile } from '../store/image-files';
import { DEFAULT_MAX_PIXELS } from './inspect';
import { THUMBS_FOLDER, thumbFile, writeThumbnail } from './thumbs';

/** The original file of image `id` (it may have gone missing: check before serving), or null for an unknown id. */
export function imagePath(store: ProjectStore, id: number): string | null {
  return imageFile(store.db, id)?.path ?? null;
}

/** Where image `id`'s thumbnail lives (it may not exist yet: see `ensureThumbnail`), or null for an unknown id. */
export function thumbnailPath(store: ProjectStore, id: number): string | null {
  const loc = imageFile(store.db, id);
  return loc ? thumbFile(`${store.dir}/${THUMBS_FOLDER}`, loc.hash) : null;
}

/** The bytes of a file when their sha256 is `hash`; null when it is missing, unreadable or other content. */
async function readIfUnchanged(file: string, hash: string): Promise<Buffer | null> {
  try {
    const data = await fs.promises.readFile(file);
    return createHash('sha256').update(data).digest('hex') === hash ? data : null;
  } catch {
    return null;
  }
}

/** The original of image `id` as imported, or null (unknown id, missing, or not the imported content any more). */
export async function readOriginal(store: ProjectStore, id: number): Promise<Buffer | null> {
  const loc = imageFile(store.db, id);
  return loc ? readIfUnchanged(loc.path, loc.hash) : null;
}

/**
 * The thumbnail of image `id`, made again from the original if it was deleted; null when the
 * id is unknown or neither the thumbnail nor the imported original exists.
 */
export async function ensureThumbnail(store: ProjectStore, id: number): Promise<string | null> {
  const loc = imageFile(store.db, id);
  if (!loc) return null;
  const thumb = thumbFile(store.folder(THUMBS_FOLDER), loc.hash);
  if (fs.existsSync(thumb)) return thumb;
  const original = await readIfUnchanged(loc.path, loc.hash);
  if (!original) return null;
  try {
    await writeThumbnail(original, thumb, DEFAULT_MAX_PIXELS);
    return thumb;
  } catch {
    return null;
  }
}

/** The bytes a transport may serve for an image: its thumbnail (remade if needed) or its original as imported. */
export async function readImageFile(store: ProjectStore, kind: 'thumb' | 'image', id: number): Promise<Buffer | null> {
  if (kind === 'image') return readOriginal(store, id);
  const thumb = await ensureThumbnail(store, id);
  return thumb ? fs.promises.readFile(thumb).catch(() => null) : null;
}
