/** File and folder names for exported trees: any class name becomes a folder name every OS accepts. */
import path from 'node:path';

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/**
 * A folder or file name safe on Windows, macOS and Linux: path separators, characters Windows
 * forbids and control characters become '_', trailing dots and spaces go, reserved device names
 * get a '_' suffix; letters of every script (and emoji) stay as they are (NFC-normalised).
 */
export function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  let s = name.normalize('NFC').replace(/[<>:"/\\|?*\u0000-\u001f\u007f]/g, '_');
  s = s.replace(/[. ]+$/, '').replace(/^ +/, '');
  if (s === '' || s === '.' || s === '..') s = '_';
  if (WINDOWS_RESERVED.test(s.split('.')[0]!)) s = `${s}_`;
  // Keep names within the 255-byte limit of most filesystems.
  while (Buffer.byteLength(s, 'utf8') > 200) s = Array.from(s).slice(0, -1).join('');
  return s;
}

/**
 * Hands out names unique within one folder, case-insensitively (macOS and Windows folders are):
 * the second "a.png" becomes "a (2).png", the third "a (3).png".
 */
export class UniqueNames {
  private readonly used = new Set<string>();

  take(wanted: string): string {
    const name = safeName(wanted);
    const ext = path.extname(name);
    const stem = ext ? name.slice(0, -ext.length) : name;
    let candidate = name;
    for (let n = 2; this.used.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
    this.used.add(candidate.toLowerCase());
    return candidate;
  }
}

/** The file name without its last extension ("a.b.png" -> "a.b"; "noext" stays). */
export function stripExtension(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? name.slice(0, name.length - (base.length - dot)) : name;
}
