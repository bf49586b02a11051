import { describe, expect, it } from 'vitest';
import { centreSquare, heatColour, heatmapPeak, upsampleHeatmap } from '../../../src/shared/heatmap';

describe('heatmap placement', () => {
  const map = (width: number, height: number, hot: number) => ({ width, height, values: Array.from({ length: width * height }, (_, i) => (i === hot ? 2 : i % 3 === 0 ? 0.5 : 0)) });

  it('puts the peak at the hottest cell centre of the centre square, in fractions of the whole image', () => {
    expect(heatmapPeak(map(7, 7, 0), 64, 64)).toEqual({ x: 0.5 / 7, y: 0.5 / 7 });
    expect(heatmapPeak(map(7, 7, 48), 64, 64)).toEqual({ x: 6.5 / 7, y: 6.5 / 7 });
    // A 200 x 100 image: the network saw x 50..150; the top-right cell's centre is x = 50 + 100 * 6.5/7.
    const wide = heatmapPeak(map(7, 7, 6), 200, 100);
    expect(wide.x).toBeCloseTo((50 + (100 * 6.5) / 7) / 200, 12);
    expect(wide.y).toBeCloseTo(0.5 / 7, 12);
    const tall = heatmapPeak(map(2, 2, 2), 100, 300);
    expect(tall).toEqual({ x: 0.25, y: (100 + 75) / 300 }); // cell 2: bottom left
    expect(centreSquare(200, 100)).toEqual({ left: 50, top: 0, side: 100 });
  });

  it('upsamples bilinearly with cell centres at (i + 0.5) / n, normalised to the maximum', () => {
    const up = upsampleHeatmap({ width: 2, height: 1, values: [0, 4] }, 4, 1);
    // Output pixel centres at 0.125, 0.375, 0.625, 0.875 of the width; cells' at 0.25 and 0.75.
    expect(Array.from(up)).toEqual([0, 0.25, 0.75, 1]);
    // 3 pixels per cell: pixel 10's centre is the centre cell's (3, 3).
    const big = upsampleHeatmap(map(7, 7, 24), 21, 21);
    const max = big.indexOf(Math.max(...big));
    expect([max % 21, Math.floor(max / 21)]).toEqual([10, 10]);
    expect(Math.max(...big)).toBe(1);
    expect(Array.from(upsampleHeatmap({ width: 2, height: 2, values: [0, 0, 0, 0] }, 3, 3))).toEqual(new Array(9).fill(0));
  });

  it('colours from blue (cold) to dark red (hot)', () => {
    expect(heatColour(0)).toEqual([0, 0, 128]);
    expect(heatColour(0.5)).toEqual([128, 255, 128]);
    expect(heatColour(1)).toEqual([128, 0, 0]);
    expect(heatColour(7)).toEqual(heatColour(1));
  });
});
