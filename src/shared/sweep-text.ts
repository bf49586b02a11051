/**
 * A sweep's grid from text as people type it, one comma list per field ("0.01, 0.001"): the CLI's
 * flags and the Sweep form both read it here, so a value means the same in both. A bad item is a
 * bad_request naming the grid field (the CLI says which flag that is).
 */
import type { SweepField, SweepGrid } from './domain';
import { StudioError } from './errors';

const NUMBER_FIELDS: readonly SweepField[] = ['scenario', 'lr', 'headSize', 'seed', 'epochs', 'patience', 'batchSize'];
const TEXT_FIELDS: readonly SweepField[] = ['model', 'cutLayer', 'freezeTo'];

/** The items of a comma list; undefined for a blank field. */
export function commaList(text: string | undefined, field: string): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new StudioError('bad_request', `${field}: an empty value in "${text}".`, field);
  return items;
}

/**
 * The grid of the texts given (blank fields left out, to take the scenario's default). `augment`
 * takes on, off or both ("on,off"). The contract's schema checks ranges afterwards.
 */
export function gridFromText(texts: Partial<Record<SweepField, string>>): Partial<SweepGrid> {
  const grid: Record<string, unknown> = {};
  for (const field of NUMBER_FIELDS) {
    const items = commaList(texts[field], field);
    if (!items) continue;
    grid[field] = items.map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n)) throw new StudioError('bad_request', `${field}: ${s} is not a number.`, field);
      return n;
    });
  }
  for (const field of TEXT_FIELDS) {
    const items = commaList(texts[field], field);
    if (items) grid[field] = items;
  }
  const augment = commaList(texts.augment, 'augment');
  if (augment) {
    const bad = augment.find((a) => a !== 'on' && a !== 'off');
    if (bad) throw new StudioError('bad_request', `augment: on, off or on,off, not ${bad}.`, 'augment');
    grid.augment = augment.map((a) => a === 'on');
  }
  return grid as Partial<SweepGrid>;
}
