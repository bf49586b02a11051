/**
 * The one seeded random number generator: the project split (store) and training's shuffles and
 * augmentation (engine process) use it, so a seed means the same thing everywhere.
 */

/** mulberry32: a small, fast PRNG, deterministic across platforms; numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
