/** Paths as the host's file system writes them, for default output paths the user can edit. */

/** `name` in `dir`, with the folder's own separator (a Windows path has backslashes only). */
export function joinPath(dir: string, name: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}
