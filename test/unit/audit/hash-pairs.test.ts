import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/shared/random';
import { hammingDistance, hashPairs } from '../../../src/main/audit/hash-pairs';

const hex = (bits: number[]) => Array.from({ length: 16 }, (_, i) => ((bits[4 * i]! << 3) | (bits[4 * i + 1]! << 2) | (bits[4 * i + 2]! << 1) | bits[4 * i + 3]!).toString(16)).join('');

/** 1,500 random hashes, and 500 copies of some of them with 0..14 bits flipped. */
function hashes(): string[] {
  const random = seededRandom(11);
  const base = Array.from({ length: 1500 }, () => Array.from({ length: 64 }, (): number => (random() < 0.5 ? 1 : 0)));
  const copies = Array.from({ length: 500 }, (_, i) => {
    const bits = [...base[(i * 7) % 1500]!];
    const flips = i % 15;
    for (let f = 0; f < flips; f++) {
      const b = Math.floor(random() * 64);
      bits[b] = bits[b]! ^ 1;
    }
    return bits;
  });
  return [...base, ...copies].map(hex);
}

describe('hash pairs by multi-index hashing', { timeout: 60_000 }, () => {
  it.each([0, 3, 8, 12, 15])('finds exactly the pairs brute force finds within %i bits', (d) => {
    const h = hashes();
    const hi = h.map((x) => parseInt(x.slice(0, 8), 16));
    const lo = h.map((x) => parseInt(x.slice(8), 16));
    const pop = (v: number) => {
      let c = 0;
      for (let w = v >>> 0; w; w = (w & (w - 1)) >>> 0) c++;
      return c;
    };
    const brute: string[] = [];
    for (let a = 0; a < h.length; a++) for (let b = a + 1; b < h.length; b++) {
      const dist = pop(hi[a]! ^ hi[b]!) + pop(lo[a]! ^ lo[b]!);
      if (dist <= d) brute.push(`${a}-${b}-${dist}`);
    }
    // The string form agrees on a sample.
    expect(hammingDistance(h[0]!, h[1500]!)).toBe(0);
    const found = hashPairs(h, d).map((p) => `${p.a}-${p.b}-${p.hamming}`);
    expect(found).toEqual(brute);
    expect(found.length).toBeGreaterThan(d === 0 ? 20 : 100);
  });

  it('refuses a bad hash or distance, naming it', () => {
    expect(() => hashPairs(['00ff', '0000000000000000'], 4)).toThrow(/Hash 0 \("00ff"\)/);
    expect(() => hashPairs(['0000000000000000'], 40)).toThrow(/maxDistance/);
  });
});
