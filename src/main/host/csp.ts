/**
 * The renderer's Content-Security-Policy, written once: browser mode sends it as a header, the
 * build writes it into index.html as a meta tag (the only form that applies to a file:// page in
 * Electron, where response-header hooks never see the load). Nothing remote; scripts only from the
 * app itself; project images from browser mode's /files (self) or Electron's studio-file: protocol.
 */
export const FILE_SCHEME = 'studio-file';

const DIRECTIVES: [string, string][] = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self' 'unsafe-inline'"],
  ['img-src', `'self' data: blob: ${FILE_SCHEME}:`],
  ['connect-src', `'self' ws://127.0.0.1:* ws://localhost:* ${FILE_SCHEME}:`],
  ['font-src', "'self' data:"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

/** Directives a meta tag cannot carry (the browser ignores them there, with a console warning). */
const HEADER_ONLY = new Set(['frame-ancestors']);

export const CSP = DIRECTIVES.map(([k, v]) => `${k} ${v}`).join('; ');
export const META_CSP = DIRECTIVES.filter(([k]) => !HEADER_ONLY.has(k))
  .map(([k, v]) => `${k} ${v}`)
  .join('; ');

/** The meta tag the build puts first in index.html's head. */
export function cspMetaTag(): string {
  return `<meta http-equiv="Content-Security-Policy" content="${META_CSP}" />`;
}
