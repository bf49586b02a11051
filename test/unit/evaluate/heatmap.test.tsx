// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { ConfusionHeatmap } from '../../../src/renderer/components/ConfusionHeatmap';

afterEach(cleanup);

const names = ['apple', 'banana', 'cherry'];
const matrix = [
  [5, 1, 0],
  [0, 3, 1],
  [2, 0, 8],
];

const cell = (r: number, c: number): HTMLElement => document.querySelector(`[data-testid="cm-cell"][data-true="${r}"][data-pred="${c}"]`)!;

describe('ConfusionHeatmap', () => {
  it('renders class names on both axes and the counts', () => {
    render(<ConfusionHeatmap classNames={names} matrix={matrix} />);
    const grid = screen.getByRole('grid', { name: 'Confusion matrix' });
    expect(within(grid).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['true ↓ / predicted →', ...names]);
    expect(within(grid).getAllByRole('rowheader').map((h) => h.textContent)).toEqual(names);
    const cells = within(grid).getAllByRole('gridcell');
    expect(cells.map((c) => c.textContent)).toEqual(['5', '1', '0', '0', '3', '1', '2', '0', '8']);
    expect(cell(2, 0).getAttribute('aria-label')).toBe('true cherry, predicted apple: 2 images (20% of cherry)');
  });

  it('switches to row-normalised percentages and back', () => {
    render(<ConfusionHeatmap classNames={names} matrix={matrix} />);
    fireEvent.click(screen.getByRole('button', { name: 'Row %' }));
    expect(screen.getAllByRole('gridcell').map((c) => c.textContent)).toEqual(['83%', '17%', '0%', '0%', '75%', '25%', '20%', '0%', '80%']);
    expect(screen.getByRole('button', { name: 'Row %' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Counts' }));
    expect(cell(0, 0).textContent).toBe('5');
  });

  it('moves between cells with the arrow keys and opens one with Enter, or a click', () => {
    const onOpen = vi.fn();
    render(<ConfusionHeatmap classNames={names} matrix={matrix} onOpen={onOpen} />);
    expect(cell(0, 0).tabIndex).toBe(0);
    expect(cell(0, 1).tabIndex).toBe(-1);
    cell(0, 0).focus();
    fireEvent.keyDown(cell(0, 0), { key: 'ArrowRight' });
    expect(document.activeElement).toBe(cell(0, 1));
    fireEvent.keyDown(cell(0, 1), { key: 'ArrowDown' });
    fireEvent.keyDown(cell(1, 1), { key: 'ArrowDown' });
    fireEvent.keyDown(cell(2, 1), { key: 'ArrowDown' }); // stays on the last row
    expect(document.activeElement).toBe(cell(2, 1));
    expect(cell(2, 1).tabIndex).toBe(0);
    fireEvent.keyDown(cell(2, 1), { key: 'ArrowLeft' });
    fireEvent.keyDown(cell(2, 0), { key: 'Enter' });
    expect(onOpen).toHaveBeenLastCalledWith(2, 0);
    fireEvent.keyDown(cell(2, 0), { key: 'End' });
    expect(document.activeElement).toBe(cell(2, 2));
    fireEvent.click(cell(1, 2));
    expect(onOpen).toHaveBeenLastCalledWith(1, 2);
    expect(onOpen).toHaveBeenCalledTimes(2);
  });

  it('colours the diagonal green and mistakes red by their share of the row', () => {
    render(<ConfusionHeatmap classNames={names} matrix={matrix} />);
    expect(cell(2, 2).style.background).toMatch(/rgba\(47, 158, 68/);
    expect(cell(2, 0).style.background).toMatch(/rgba\(224, 49, 49/);
    expect(cell(1, 0).style.background).toBe('transparent');
  });
});
