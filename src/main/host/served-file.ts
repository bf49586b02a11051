/**
 * How both transports serve a project file (browser mode's /files/..., Electron's studio-file:):
 * with the type of the format its bytes decode as, never the type of its name, so an image named
 * evil.html or x.js is an image; `nosniff` so no browser guesses otherwise; and a sandbox policy so
 * that even opened on its own in a tab, nothing in it runs or reaches the studio's origin.
 */
import { sniff, type ImageFormat } from '../media/formats';

const IMAGE_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  heif: 'image/heif',
  avif: 'image/avif',
};

/** The policy of a served file: no script, no plugin, no request of its own, an opaque origin. */
export const FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

export function servedFileHeaders(data: Buffer): Record<string, string> {
  const what = sniff(data);
  const image = what.kind === 'image';
  return {
    'Content-Type': image ? IMAGE_TYPES[what.format] : 'application/octet-stream',
    // Not an image we know: a download, never a page.
    'Content-Disposition': image ? 'inline' : 'attachment',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': FILE_CSP,
    'Cache-Control': 'private, max-age=3600',
  };
}
