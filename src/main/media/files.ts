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
import { imageFile, type ImageFile } from '../store/image-files';
import { StudioError } from '../../shared/errors';
import { MAX_IMAGE_BYTES, readUserFile, streamUserFile, UserFileError } from '../../shared/node/user-file';
import { DEFAULT_MAX_PIXELS } from './inspect';
import { THUMBS_FOLDER, thumbFile, writeThumbnail } from './thumbs';

/** A 256 px WebP is a few tens of kB; anything far larger in thumbs/ was not written by the studio. */
const MAX_THUMB_BYTES = 4 * 1024 * 1024;

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
 * The bytes of an image's file when their sha256 is its hash; null when it is missing, unreadable,
 * other content, not a regular file (a FIFO swapped in would block) or a link leading out of its source.
 */
async function readIfUnchanged(loc: ImageFile): Promise<Buffer | null> {
  try {
    const data = await readUserFile(loc.path, { root: loc.root, maxBytes: MAX_IMAGE_BYTES });
    return createHash('sha256').update(data).digest('hex') === loc.hash ? data : null;
  } catch {
    return null;
  }
}

/**
 * Copies an image's file to `dest` (created, never overwritten, synced) only while it is the
 * content that was imported, read as a user file (regular, inside its source's root); otherwise
 * throws a StudioError naming the file, and `dest` is removed.
 */
export async function copyOriginal(loc: Pick<ImageFile, 'path' | 'root' | 'hash'>, dest: string): Promise<void> {
  const hash = createHash('sha256');
  const out = await fs.promises.open(dest, 'wx');
  try {
    try {
      for await (const chunk of streamUserFile(loc.path, { root: loc.root, maxBytes: MAX_IMAGE_BYTES })) {
        hash.update(chunk);
        await out.write(chunk);
      }
    } catch (err) {
      if (err instanceof UserFileError) throw new StudioError('bad_input', `${loc.path} cannot be copied: ${err.reason}.`, 'kind');
      throw err;
    }
    if (hash.digest('hex') !== loc.hash)
      throw new StudioError('bad_input', `${loc.path} is not the file that was imported (its content changed); re-import it or relocate its source.`, 'kind');
    await out.datasync();
  } catch (err) {
    await out.close().catch(() => undefined);
    await fs.promises.rm(dest, { force: true });
    throw err;
  }
  await out.close();
}

/** The original of image `id` as imported, or null (unknown id, missing, or not the imported content any more). */
export async function readOriginal(store: ProjectStore, id: number): Promise<Buffer | null> {
  const loc = imageFile(store.db, id);
  return loc ? readIfUnchanged(loc) : null;
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
  const original = await readIfUnchanged(loc);
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
  // A thumbnail is the studio's own small file, but in a shared project folder it could be anything.
  return thumb ? readUserFile(thumb, { root: store.folder(THUMBS_FOLDER), maxBytes: MAX_THUMB_BYTES }).catch(() => null) : null;
}
