/**
 * What a file is, from its first bytes (never from its name): the formats sharp decodes here,
 * the image formats it does not (with a clear reason), and common non-image content.
 */

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif' | 'avif';

export type Sniffed =
  | { kind: 'image'; format: ImageFormat }
  | { kind: 'unsupported'; format: string }
  | { kind: 'other'; what: string };

/** Bytes needed by `sniff`. */
export const SNIFF_BYTES = 64;

/**
 * File extensions of the formats import accepts: those `sniff` calls images that this sharp
 * build decodes (a test holds the list to sharp.format), most common first. HEIC is sniffed but
 * not listed: sharp's prebuilt libvips decodes only AVIF of the HEIF family. Content, not the
 * name, decides what a file is; the list serves where only a name is known.
 */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.jpe', '.jfif'];

/** Whether a file name ends in one of IMAGE_EXTENSIONS (any case). */
export function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** Extensions to try for a name given without one (Kaggle-style ids): lower case, then upper case. */
export const EXTENSION_GUESSES: readonly string[] = [...IMAGE_EXTENSIONS, ...IMAGE_EXTENSIONS.map((e) => e.toUpperCase())];

function ascii(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, Math.min(end, buf.length));
}

export function sniff(buf: Buffer): Sniffed {
  const b = buf;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'image', format: 'jpeg' };
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return { kind: 'image', format: 'png' };
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return { kind: 'image', format: 'gif' };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { kind: 'image', format: 'webp' };
  if (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*') return { kind: 'image', format: 'tiff' };
  if (ascii(b, 0, 4) === 'II+\0' || ascii(b, 0, 4) === 'MM\0+') return { kind: 'image', format: 'tiff' };
  if (ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (brand === 'avif' || brand === 'avis') return { kind: 'image', format: 'avif' };
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1', 'heim', 'heis'].includes(brand)) return { kind: 'image', format: 'heif' };
    return { kind: 'other', what: `a video or other ISO media file (${brand.trim()})` };
  }
  if (ascii(b, 0, 2) === 'BM' && b.length >= 18) return { kind: 'unsupported', format: 'BMP' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x0000000c && ascii(b, 4, 8) === 'jP  ') return { kind: 'unsupported', format: 'JPEG 2000' };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) return { kind: 'unsupported', format: 'JPEG 2000' };
  if ((b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 8) === 'JXL ') return { kind: 'unsupported', format: 'JPEG XL' };
  if (b.length >= 4 && b.readUInt32BE(0) === 0x00000100) return { kind: 'unsupported', format: 'ICO' };
  if (ascii(b, 0, 4) === '8BPS') return { kind: 'unsupported', format: 'Photoshop PSD' };
  if (/^P[1-6]\s/.test(ascii(b, 0, 3))) return { kind: 'unsupported', format: 'PPM/PGM' };
  if (ascii(b, 0, 4) === '%PDF') return { kind: 'other', what: 'a PDF document' };
  if (ascii(b, 0, 4) === 'PK\x03\x04') return { kind: 'other', what: 'a zip archive' };
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return { kind: 'other', what: 'a gzip archive' };
  const head = ascii(b, 0, SNIFF_BYTES).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return { kind: 'unsupported', format: 'SVG (vector)' };
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return { kind: 'other', what: 'an HTML page' };
  if (looksLikeText(b)) return { kind: 'other', what: 'text' };
  return { kind: 'other', what: 'unrecognised content' };
}

function looksLikeText(b: Buffer): boolean {
  if (b.length === 0) return false;
  for (const c of b.subarray(0, SNIFF_BYTES)) {
    if (c === 0) return false;
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c !== 0x1b)) return false;
  }
  return true;
}
