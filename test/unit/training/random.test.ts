/** The one seeded generator: a seed must give the same numbers on every platform and in every process. */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/shared/random';

describe('seededRandom', () => {
  it("is mulberry32: seed 42 gives the algorithm's known sequence", () => {
    const r = seededRandom(42);
    expect([r(), r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('stays in [0, 1) and treats seeds as unsigned 32-bit integers', () => {
    const r = seededRandom(7);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
    }
    expect(seededRandom(-1)()).toBe(seededRandom(0xffffffff)());
  });
});
