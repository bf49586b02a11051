import { describe, expect, it } from 'vitest';
import { advise } from '../../../src/main/scenarios/advisor';

describe('scenario advisor', () => {
  it('maps size x similarity to the four scenarios', () => {
    expect(advise({ imagesPerClass: [50, 60], similarity: 'high' }).scenario).toBe(1);
    expect(advise({ imagesPerClass: [50, 60], similarity: 'low' }).scenario).toBe(2);
    expect(advise({ imagesPerClass: [5000, 6000], similarity: 'low' }).scenario).toBe(3);
    expect(advise({ imagesPerClass: [5000, 6000], similarity: 'high' }).scenario).toBe(4);
  });

  it('judges size by the smallest class and explains itself', () => {
    const a = advise({ imagesPerClass: [5000, 20], similarity: 'unknown' });
    expect(a).toMatchObject({ scenario: 1, size: 'small' });
    expect(a.reason).toMatch(/20 images in the smallest class/);
    expect(advise({ imagesPerClass: [5000, 5000], similarity: 'unknown' }).scenario).toBe(3);
  });
});
