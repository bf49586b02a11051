/**
 * Writing exports without ever leaving half a file: the target is checked first, then written
 * under a temporary name beside it, flushed to disk and renamed over it (src/shared/node/
 * atomic-write.ts). On failure or cancel the temporary file or folder is removed and the target is
 * untouched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import { writeFileAtomic } from '../../shared/node/atomic-write';

/** Checks that the target's folder exists and the target itself is usable. */
export function checkTarget(target: string, opts: { kind: 'file' | 'folder'; overwrite: boolean }): string {
  const abs = path.resolve(target);
  const parent = path.dirname(abs);
  let parentStat: fs.Stats;
  try {
    parentStat = fs.statSync(parent);
  } catch {
    throw new StudioError('bad_input', `The folder ${parent} does not exist.`, 'out');
  }
  if (!parentStat.isDirectory()) throw new StudioError('bad_input', `${parent} is not a folder.`, 'out');
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st && opts.kind === 'file') {
    if (st.isDirectory()) throw new StudioError('bad_input', `${abs} is a folder; give a file name for the CSV.`, 'out');
    if (!opts.overwrite) throw new StudioError('conflict', `${abs} already exists; choose another name or allow overwriting (--force).`, 'out');
  }
  if (st && opts.kind === 'folder') {
    if (!st.isDirectory()) throw new StudioError('bad_input', `${abs} is a file; give a new or empty folder.`, 'out');
    if (fs.readdirSync(abs).length > 0) throw new StudioError('not_empty', `${abs} is not empty; give a new or empty folder.`, 'out');
  }
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new StudioError('read_only', `Cannot write in ${parent} (permission denied).`, 'out');
  }
  return abs;
}

/** A buffered text sink handed to the producer of an atomic file. */
export interface TextSink {
  write(text: string): Promise<void>;
}

const FLUSH_AT = 256 * 1024;

/**
 * Writes `target` atomically: `produce` writes text to the sink; the file appears complete at
 * `target` only when `produce` resolves. Returns the number of bytes written.
 */
export async function writeTextFileAtomic(target: string, produce: (sink: TextSink) => Promise<void>): Promise<number> {
  let bytes = 0;
  await writeFileAtomic(
    target,
    async (tmp) => {
      const handle = await fs.promises.open(tmp, 'wx');
      try {
        let pending = '';
        const flush = async (): Promise<void> => {
          if (pending === '') return;
          const buf = Buffer.from(pending, 'utf8');
          pending = '';
          bytes += buf.length;
          await handle.write(buf);
        };
        await produce({
          async write(text) {
            pending += text;
            if (pending.length >= FLUSH_AT) await flush();
          },
        });
        await flush();
      } finally {
        await handle.close();
      }
    },
    { durable: true },
  );
  return bytes;
}
