/**
 * The files behind an image id, for the host to serve (/files/thumb/<id>, /files/image/<id>).
 * Only paths the store references are ever returned: an original under its source root, a
 * thumbnail under <project>/thumbs.
 */
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

/**
 * The thumbnail of image `id`, made again from the original if it was deleted; null when the
 * id is unknown or neither the thumbnail nor a readable original exists.
 */
export async function ensureThumbnail(store: ProjectStore, id: number): Promise<string | null> {
  const loc = imageFile(store.db, id);
  if (!loc) return null;
  const thumb = thumbFile(store.folder(THUMBS_FOLDER), loc.hash);
  if (fs.existsSync(thumb)) return thumb;
  try {
    await writeThumbnail(loc.path, thumb, DEFAULT_MAX_PIXELS);
    return thumb;
  } catch {
    return null;
  }
}
