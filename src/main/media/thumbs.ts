/**
 * Thumbnails: 256 px on the longest side, WebP, EXIF orientation applied, any colour space or
 * bit depth (grey, CMYK, 16-bit) converted to 8-bit sRGB, first frame of an animation.
 * Stored by content hash in <project>/thumbs/<first 2 hex>/<hash>.webp, written to a temp
 * file and renamed so a reader never sees half a thumbnail.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export const THUMB_SIZE = 256;
export const THUMBS_FOLDER = 'thumbs';

export function thumbFile(thumbsDir: string, hash: string): string {
  return path.join(thumbsDir, hash.slice(0, 2), `${hash}.webp`);
}

export async function writeThumbnail(source: string, target: string, maxPixels: number): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await sharp(source, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 })
      .rotate()
      .resize({ width: THUMB_SIZE, height: THUMB_SIZE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .webp({ quality: 78, effort: 2 })
      .toFile(tmp);
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}
