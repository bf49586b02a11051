/**
 * Content hashes of files and folders, the same on the host and on a server engine: a file is its
 * sha256; a folder is the sha256 of its sorted "relative path NUL file hash" lines (hidden files
 * and folders left out), so a model folder that travels once is known again by its content.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export async function fileHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Files of a folder, recursively, as sorted relative paths with '/' separators (dot entries left out). */
export async function folderFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

export async function folderHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const rel of await folderFiles(dir)) h.update(`${rel}\0${await fileHash(path.join(dir, rel))}\n`);
  return h.digest('hex');
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
