/** Helpers for the unit tests: temporary folders and made-up job records. */
import type { JobInfo } from '../../src/shared/api';

export { removeTempDirs, tempDir } from '../fixtures/temp';

/** An export job in `state` with `done` of `total` steps; `over` sets anything else. */
export function jobInfo(state: JobInfo['state'], done = 0, total = 0, over: Partial<JobInfo<'export'>> = {}): JobInfo<'export'> {
  return { id: 'j1', kind: 'export', state, progress: { done, total }, createdAt: '2026-01-01T00:00:00Z', ...over };
}

/** What Mantine needs from the browser and jsdom lacks: matchMedia (the colour scheme) and ResizeObserver (ScrollArea, Slider). */
export function browserApisForMantine(): void {
  window.matchMedia ??= ((q: string) => ({ matches: false, media: q, onchange: null, addEventListener() {}, removeEventListener() {}, addListener() {}, removeListener() {}, dispatchEvent: () => false })) as typeof window.matchMedia;
  globalThis.ResizeObserver ??= class {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  };
}
