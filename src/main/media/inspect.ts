/**
 * One file in, facts or a specific reason out: streamed sha256, format from content, header
 * dimensions (EXIF orientation applied), a pixel limit checked before decoding, and a full
 * decode into a thumbnail, which is also what proves the file is not corrupt or truncated.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import sharp from 'sharp';
import { isDiskFull } from '../../shared/node/disk-full';
import { checkUserFile, errnoReason, MAX_IMAGE_BYTES, readUserFile, streamUserFile, UserFileError } from '../../shared/node/user-file';
import { SNIFF_BYTES, sniff, type ImageFormat } from './formats';
import { ThumbWriteError, thumbFile, writeThumbnail } from './thumbs';
import { imageFingerprint } from './perceptual-hash';

/** Images larger than this are refused before decoding (decompression bombs, giant scans). */
export const DEFAULT_MAX_PIXELS = 100_000_000;
/** Files up to this size are read whole (at most `concurrency` of them in memory at once). */
const IN_MEMORY_BYTES = 4 * 1024 * 1024;

export interface ImageFacts {
  hash: string;
  bytes: number;
  /** Displayed size, after EXIF orientation. */
  width: number;
  height: number;
  format: ImageFormat;
  /** The perceptual hash and small grey thumbnail (near-duplicates), made with the thumbnail. */
  fingerprint?: { phash: string; width: number; height: number; pixels: Uint8Array };
}

export type InspectResult =
  | { ok: true; facts: ImageFacts }
  | { ok: false; reason: string; hash?: string }
  /** Content already known (the caller's `isKnown` said so): not decoded again. */
  | { ok: 'known'; hash: string; bytes: number };

export interface InspectOptions {
  maxPixels?: number;
  /** Project thumbnails folder; when set, a thumbnail is written (or reused) for a good image. */
  thumbsDir?: string;
  /** Called with the hash before decoding; true skips the decode (a duplicate). */
  isKnown?: (hash: string) => boolean;
  /** The folder the file was named from: after resolving links it must stay inside (user-file.ts). */
  root?: string;
}

/** A plain reason for a failed read (missing, permission, a folder...). */
export const fsReason = errnoReason;

export class FileReadError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const readReason = (err: unknown): string => (err instanceof UserFileError || err instanceof FileReadError ? err.reason : fsReason(err));

/**
 * Streams a file through sha256; also returns its size and first bytes. `root`: the folder it was
 * named from (user-file.ts: a regular file, inside it).
 */
export async function hashFile(file: string, root?: string): Promise<{ hash: string; bytes: number; head: Buffer }> {
  const h = createHash('sha256');
  let bytes = 0;
  const headParts: Buffer[] = [];
  let headLen = 0;
  try {
    for await (const chunk of streamUserFile(file, { ...(root !== undefined ? { root } : {}), maxBytes: MAX_IMAGE_BYTES })) {
      h.update(chunk);
      if (headLen < SNIFF_BYTES) {
        headParts.push(chunk.subarray(0, SNIFF_BYTES - headLen));
        headLen += Math.min(chunk.length, SNIFF_BYTES - headLen);
      }
      bytes += chunk.length;
    }
  } catch (err) {
    throw new FileReadError(readReason(err));
  }
  return { hash: h.digest('hex'), bytes, head: Buffer.concat(headParts) };
}

function firstLine(msg: string): string {
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? msg;
}

function decodeReason(err: unknown, format: ImageFormat): string {
  const msg = firstLine(err instanceof Error ? err.message : String(err));
  if (/exceeds pixel limit/i.test(msg)) return 'too many pixels';
  if (/unsupported image format/i.test(msg)) return `unsupported format (${format})`;
  if (format === 'heif' && /compression format|not been built|no decoder|bad seek|unsupported/i.test(msg))
    return 'unsupported format: HEIC/HEVC (this build decodes AVIF only; convert to JPEG)';
  if (/no such file|ENOENT/i.test(msg)) return 'missing file';
  if (/permission denied|EACCES/i.test(msg)) return 'unreadable (permission denied)';
  return `corrupt or truncated image (${msg})`;
}

/** Everything short of the thumbnail: existence, size, hash, format, dimensions, pixel limit. */
export async function inspectImage(file: string, opts: InspectOptions = {}): Promise<InspectResult> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const where = { ...(opts.root !== undefined ? { root: opts.root } : {}), maxBytes: MAX_IMAGE_BYTES };
  // A regular file inside its folder, checked before anything opens it (a FIFO would block).
  let checked: { realPath: string; size: number };
  try {
    checked = await checkUserFile(file, where);
  } catch (err) {
    return { ok: false, reason: readReason(err) };
  }
  if (checked.size === 0) return { ok: false, reason: 'zero bytes (empty file)' };

  // Small files are read once and decoded from memory (one open instead of three); larger
  // ones are hashed as a stream and decoded from the file, so memory stays bounded.
  let hashed: Awaited<ReturnType<typeof hashFile>>;
  let input: string | Buffer = checked.realPath;
  try {
    if (checked.size <= IN_MEMORY_BYTES) {
      const buf = await readUserFile(file, where);
      hashed = { hash: createHash('sha256').update(buf).digest('hex'), bytes: buf.length, head: buf.subarray(0, SNIFF_BYTES) };
      input = buf;
    } else hashed = await hashFile(file, opts.root);
  } catch (err) {
    return { ok: false, reason: readReason(err) };
  }
  const { hash, bytes, head } = hashed;
  if (bytes === 0) return { ok: false, reason: 'zero bytes (empty file)', hash };
  const kind = sniff(head);
  if (kind.kind === 'other') return { ok: false, reason: `not an image (${kind.what})`, hash };
  if (kind.kind === 'unsupported') return { ok: false, reason: `unsupported format: ${kind.format} (convert to PNG or JPEG)`, hash };
  if (opts.isKnown?.(hash)) return { ok: 'known', hash, bytes };

  let width: number;
  let height: number;
  try {
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) return { ok: false, reason: 'corrupt or truncated image (no dimensions in the header)', hash };
    if (meta.width * meta.height > maxPixels) return { ok: false, reason: `too many pixels (${meta.width}x${meta.height})`, hash };
    const swap = (meta.orientation ?? 1) >= 5;
    width = meta.autoOrient?.width ?? (swap ? meta.height : meta.width);
    height = meta.autoOrient?.height ?? (swap ? meta.width : meta.height);
  } catch (err) {
    return { ok: false, reason: decodeReason(err, kind.format), hash };
  }

  let fingerprint: ImageFacts['fingerprint'];
  if (opts.thumbsDir !== undefined) {
    try {
      const target = thumbFile(opts.thumbsDir, hash);
      if (!fs.existsSync(target)) await writeThumbnail(input, target, maxPixels);
    } catch (err) {
      // A full disk is no file's fault: the import stops with it instead of failing every file after.
      if (isDiskFull(err)) throw err;
      if (err instanceof ThumbWriteError) return { ok: false, reason: err.message, hash };
      return { ok: false, reason: decodeReason(err, kind.format), hash };
    }
    try {
      const f = await imageFingerprint(input, { width, height });
      fingerprint = { phash: f.phash, width: f.thumb.width, height: f.thumb.height, pixels: f.thumb.pixels };
    } catch {
      // The image decoded for its thumbnail; without a fingerprint the audit retries it (media/fingerprints.ts).
    }
  }
  return { ok: true, facts: { hash, bytes, width, height, format: kind.format, ...(fingerprint ? { fingerprint } : {}) } };
}
