// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from '@testing-library/react';
import { Curves, domainOf, linePath, scale } from '../../../src/renderer/components/Curves';

afterEach(cleanup);

describe('curve geometry', () => {
  it('maps points linearly, y growing upwards', () => {
    const sx = scale(0, 10, 0, 100);
    const sy = scale(0, 1, 50, 0);
    expect(linePath([{ x: 0, y: 0 }, { x: 5, y: 0.5 }, { x: 10, y: 1 }], sx, sy)).toBe('M0 50 L50 25 L100 0');
  });

  it('skips points that are not finite', () => {
    const id = (v: number): number => v;
    expect(linePath([{ x: 1, y: 2 }, { x: 2, y: Number.NaN }, { x: 3, y: 4 }], id, id)).toBe('M1 2 L3 4');
  });

  it('takes the extent of the data unless bounds are fixed', () => {
    const s = [{ id: 'a', label: 'a', color: 'red', points: [{ x: 1, y: 0.4 }, { x: 3, y: 0.9 }] }];
    expect(domainOf(s)).toEqual({ x: [1, 3], y: [0.4, 0.9] });
    expect(domainOf(s, { xMin: 0, yMin: 0, yMax: 1 })).toEqual({ x: [0, 3], y: [0, 1] });
  });
});

describe('Curves', () => {
  it('draws one path per series for the given points, and a legend', () => {
    const { container } = render(
      <Curves
        width={240}
        height={130}
        xMin={0}
        xMax={4}
        yMin={0}
        yMax={1}
        series={[
          { id: 'train', label: 'train accuracy', color: 'blue', points: [{ x: 1, y: 0.5 }, { x: 2, y: 0.75 }, { x: 4, y: 1 }] },
          { id: 'val', label: 'validation accuracy', color: 'orange', dashed: true, points: [{ x: 1, y: 0.25 }, { x: 2, y: 0.5 }] },
          { id: 'one', label: 'single', color: 'green', points: [{ x: 2, y: 0 }] },
        ]}
      />,
    );
    // Plot area: x 44..230 for 0..4, y 100..8 for 0..1 (no title: top margin 8, bottom 30).
    const train = container.querySelector('path[data-series="train"]')!;
    expect(train.getAttribute('d')).toBe('M90.5 54 L137 31 L230 8');
    expect(train.getAttribute('stroke')).toBe('blue');
    const val = container.querySelector('path[data-series="val"]')!;
    expect(val.getAttribute('d')).toBe('M90.5 77 L137 54');
    expect(val.getAttribute('stroke-dasharray')).toBe('5 4');
    const dot = container.querySelector('circle[data-series="one"]')!;
    expect([dot.getAttribute('cx'), dot.getAttribute('cy')]).toEqual(['137', '100']);
    expect(container.querySelector('figcaption')!.textContent).toBe('train accuracyvalidation accuracysingle');
  });

  it('says it is waiting when there is nothing to draw', () => {
    const { container } = render(<Curves series={[{ id: 'a', label: 'a', color: 'red', points: [] }]} />);
    expect(container.textContent).toContain('waiting for the first epoch');
    expect(container.querySelectorAll('path')).toHaveLength(1);
  });
});
