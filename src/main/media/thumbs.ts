/**
 * Thumbnails: 256 px on the longest side, WebP, EXIF orientation applied, any colour space or
 * bit depth (grey, CMYK, 16-bit) converted to 8-bit sRGB, first frame of an animation.
 * Stored by content hash in <project>/thumbs/<first 2 hex>/<hash>.webp, written to a temp
 * file and renamed so a reader never sees half a thumbnail.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../../shared/node/atomic-write';

export const THUMB_SIZE = 256;
export const THUMBS_FOLDER = 'thumbs';

export function thumbFile(thumbsDir: string, hash: string): string {
  return path.join(thumbsDir, hash.slice(0, 2), `${hash}.webp`);
}

const madeDirs = new Set<string>();

/** Writing into the project failed (disk full, folder removed, permissions): not the image's fault. */
export class ThumbWriteError extends Error {
  constructor(
    message: string,
    /** The errno code (ENOSPC: the disk is full, which fails the whole import). */
    readonly code?: string,
  ) {
    super(message);
  }
}

async function writeThumbFile(target: string, data: Buffer): Promise<void> {
  const dir = path.dirname(target);
  for (let attempt = 0; ; attempt++) {
    try {
      if (!madeDirs.has(dir)) {
        await fs.promises.mkdir(dir, { recursive: true });
        if (madeDirs.size > 10_000) madeDirs.clear();
        madeDirs.add(dir);
      }
      await writeFileAtomic(target, data);
      return;
    } catch (err) {
      madeDirs.delete(dir);
      // The folder may have been removed since we made it: make it again, once.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue;
      const code = (err as NodeJS.ErrnoException).code;
      throw new ThumbWriteError(`cannot write the thumbnail (${code ?? (err as Error).message})`, code);
    }
  }
}

/** Writes the thumbnail of `source` (a file or its bytes) to `target` atomically. */
export async function writeThumbnail(source: string | Buffer, target: string, maxPixels: number): Promise<void> {
  const data = await sharp(source, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 })
    .rotate()
    .resize({ width: THUMB_SIZE, height: THUMB_SIZE, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .webp({ quality: 78, effort: 2 })
    .toBuffer();
  await writeThumbFile(target, data);
}
