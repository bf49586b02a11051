/**
 * Every pair of 64-bit hashes within a Hamming distance, without comparing all pairs: multi-index
 * hashing (Norouzi, Punjani and Fleet, 2012). The 64 bits are cut into 4 chunks of 16; if two
 * hashes differ in at most d bits, one chunk differs in at most floor(d / 4) (pigeonhole). Per chunk
 * a table lists the images by chunk value; each image looks up every value within floor(d / 4) of
 * its own chunk, and candidates are checked on all 64 bits. Memory is O(n) (4 tables of n indices
 * plus 4 x 65,536 offsets); time grows with the number of near pairs, not with n^2.
 */

const CHUNKS = 4;
const VALUES = 1 << 16;

/** Hex strings of 16 digits as [hi, lo] 32-bit words. */
export function parseHashes(hex: readonly string[]): Uint32Array {
  const words = new Uint32Array(hex.length * 2);
  hex.forEach((h, i) => {
    if (!/^[0-9a-f]{16}$/i.test(h)) throw new RangeError(`Hash ${i} ("${h}") is not 16 hex digits.`);
    words[2 * i] = parseInt(h.slice(0, 8), 16) >>> 0;
    words[2 * i + 1] = parseInt(h.slice(8), 16) >>> 0;
  });
  return words;
}

function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

function chunkOf(words: Uint32Array, i: number, c: number): number {
  const w = words[2 * i + (c >> 1)] as number;
  return c & 1 ? w & 0xffff : w >>> 16;
}

/** All 16-bit values within `radius` bits of v (v itself first). */
function neighbours(v: number, radius: number): number[] {
  const out = [v];
  let frontier = [v];
  for (let r = 1; r <= radius; r++) {
    const next: number[] = [];
    // Flip bits above the highest flipped one only, so each value appears once.
    for (const u of frontier) {
      const diff = u ^ v;
      const start = diff === 0 ? 0 : 32 - Math.clz32(diff);
      for (let b = start; b < 16; b++) next.push(u ^ (1 << b));
    }
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** Bits in which two 16-hex-digit hashes differ. */
export function hammingDistance(a: string, b: string): number {
  const w = parseHashes([a, b]);
  return popcount32(((w[0] as number) ^ (w[2] as number)) >>> 0) + popcount32(((w[1] as number) ^ (w[3] as number)) >>> 0);
}

export interface HashPair {
  a: number;
  b: number;
  hamming: number;
}

/** Near-duplicate thresholds are small; past 19 bits (5 per chunk) the lookups per image explode. */
export const MAX_HASH_DISTANCE = 19;

/** Pairs (a < b) of hashes at most `maxDistance` bits apart, sorted by a then b. */
export function hashPairs(hex: readonly string[], maxDistance: number): HashPair[] {
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_HASH_DISTANCE) {
    throw new RangeError(`maxDistance must be an integer in 0..${MAX_HASH_DISTANCE}, got ${maxDistance}.`);
  }
  const n = hex.length;
  const words = parseHashes(hex);
  const radius = Math.floor(maxDistance / CHUNKS);
  // Per chunk, images grouped by chunk value (counting sort: offsets + indices).
  const tables = Array.from({ length: CHUNKS }, (_, c) => {
    const start = new Int32Array(VALUES + 1);
    for (let i = 0; i < n; i++) {
      const v = chunkOf(words, i, c);
      start[v + 1] = (start[v + 1] as number) + 1;
    }
    for (let v = 0; v < VALUES; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number);
    const fill = start.slice(0, VALUES);
    const items = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = chunkOf(words, i, c);
      items[fill[v] as number] = i;
      fill[v] = (fill[v] as number) + 1;
    }
    return { start, items };
  });
  const seenBy = new Int32Array(n).fill(-1);
  const pairs: HashPair[] = [];
  for (let i = 0; i < n; i++) {
    const found: HashPair[] = [];
    for (let c = 0; c < CHUNKS; c++) {
      const { start, items } = tables[c] as (typeof tables)[number];
      for (const v of neighbours(chunkOf(words, i, c), radius)) {
        for (let s = start[v] as number, e = start[v + 1] as number; s < e; s++) {
          const j = items[s] as number;
          if (j <= i || seenBy[j] === i) continue;
          seenBy[j] = i;
          const d = popcount32(((words[2 * i] as number) ^ (words[2 * j] as number)) >>> 0) + popcount32(((words[2 * i + 1] as number) ^ (words[2 * j + 1] as number)) >>> 0);
          if (d <= maxDistance) found.push({ a: i, b: j, hamming: d });
        }
      }
    }
    found.sort((p, q) => p.b - q.b);
    pairs.push(...found);
  }
  return pairs;
}
