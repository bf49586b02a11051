/**
 * Perceptual fingerprints (pHash + small grey thumbnail) per image content hash: written at
 * import, and by the first audit for images imported before fingerprints existed.
 */
import type { DB } from './open-database';

export interface StoredFingerprint {
  hash: string;
  phash: string;
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** Stores fingerprints (content already fingerprinted keeps its row). */
export function saveFingerprints(db: DB, rows: readonly StoredFingerprint[]): void {
  if (rows.length === 0) return;
  const insert = db.prepare('INSERT INTO fingerprints (hash, phash, width, height, pixels) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING');
  db.transaction(() => {
    for (const r of rows) insert.run(r.hash, r.phash, r.width, r.height, Buffer.from(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength));
  })();
}

/** The fingerprints of these content hashes (missing ones are absent from the map). */
export function fingerprintsOf(db: DB, hashes: readonly string[]): Map<string, StoredFingerprint> {
  const out = new Map<string, StoredFingerprint>();
  const stmt = db.prepare('SELECT hash, phash, width, height, pixels FROM fingerprints WHERE hash IN (SELECT value FROM json_each(?))');
  for (let s = 0; s < hashes.length; s += 10_000) {
    for (const r of stmt.all(JSON.stringify(hashes.slice(s, s + 10_000))) as (Omit<StoredFingerprint, 'pixels'> & { pixels: Buffer })[]) {
      out.set(r.hash, { ...r, pixels: new Uint8Array(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength) });
    }
  }
  return out;
}

/** Content hashes of the project's images that have no fingerprint yet, with an image id each. */
export function imagesWithoutFingerprint(db: DB): { id: number; hash: string }[] {
  return db.prepare('SELECT i.id, i.hash FROM images i LEFT JOIN fingerprints f ON f.hash = i.hash WHERE f.hash IS NULL ORDER BY i.id').all() as { id: number; hash: string }[];
}
