/**
 * Perceptual fingerprints for images that lack one (imported before fingerprints were made at
 * import): decoded with sharp a few at a time, stored by content hash as they come, so a cancel
 * keeps what was done. An image whose file cannot be read, or is no longer the imported content,
 * is skipped (the audit says how many).
 */
import { saveFingerprints, imagesWithoutFingerprint, type StoredFingerprint } from '../store/fingerprints';
import type { ProjectStore } from '../store/project-store';
import { readOriginal } from './files';
import { limiter } from './import';
import { imageFingerprint } from './perceptual-hash';

const BATCH = 200;

export async function fillFingerprints(
  store: ProjectStore,
  opts: { signal: AbortSignal; onProgress?: (done: number, total: number) => void; concurrency?: number },
): Promise<{ computed: number; failed: number }> {
  const todo = imagesWithoutFingerprint(store.db);
  const limit = limiter(opts.concurrency ?? 3);
  let computed = 0;
  let failed = 0;
  for (let s = 0; s < todo.length; s += BATCH) {
    if (opts.signal.aborted) break;
    const rows = await Promise.all(
      todo.slice(s, s + BATCH).map((t) =>
        limit(async (): Promise<StoredFingerprint | null> => {
          // The original as imported, read as a user file (a FIFO swapped in must not block the audit).
          const original = await readOriginal(store, t.id);
          if (!original) return null;
          try {
            const f = await imageFingerprint(original);
            return { hash: t.hash, phash: f.phash, width: f.thumb.width, height: f.thumb.height, pixels: f.thumb.pixels };
          } catch {
            return null;
          }
        }),
      ),
    );
    const ok = rows.filter((r): r is StoredFingerprint => r !== null);
    if (store.db.open) saveFingerprints(store.db, ok);
    computed += ok.length;
    failed += rows.length - ok.length;
    opts.onProgress?.(Math.min(todo.length, s + BATCH), todo.length);
  }
  return { computed, failed };
}
