/**
 * The gallery's window onto a listing of up to 100,000+ images: rows are fetched in pages for
 * the visible range plus a margin, cached, and refetched (stale rows kept on screen meanwhile)
 * after the store says images changed. Framework-free so it can be unit tested; React
 * subscribes to `version`.
 */
import type { ImageRow } from '../../../shared/domain';

export type PageFetcher = (offset: number, limit: number) => Promise<{ rows: ImageRow[]; total: number }>;

interface Page {
  rows: ImageRow[];
  gen: number;
}

export const PAGE_SIZE = 200;

/** The page numbers covering indices [start, end] (inclusive). */
export function pagesFor(start: number, end: number, pageSize = PAGE_SIZE): number[] {
  if (end < start) return [];
  const out: number[] = [];
  for (let p = Math.floor(Math.max(0, start) / pageSize); p <= Math.floor(end / pageSize); p++) out.push(p);
  return out;
}

export class PageCache {
  private readonly pages = new Map<number, Page>();
  private readonly inflight = new Map<number, number>(); // page -> generation requested
  private readonly listeners = new Set<() => void>();
  private gen = 0;
  private disposed = false;
  private lastRange: [number, number] = [0, 0];
  /** Rows in the listing; null until the first page arrives. */
  total: number | null = null;
  private totalGen = -1;
  /** Bumped whenever something visible may have changed. */
  version = 0;
  error: unknown = null;

  constructor(
    private readonly fetch: PageFetcher,
    readonly pageSize = PAGE_SIZE,
    private readonly maxPages = 120,
  ) {}

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  private notify(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  get(index: number): ImageRow | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.rows[index % this.pageSize];
  }

  /** Makes sure the pages covering [start, end] are loaded (and current). */
  ensure(start: number, end: number): void {
    if (this.disposed) return;
    this.lastRange = [start, end];
    // Until a page of the current generation arrives the total is unknown or stale: ask anyway.
    const known = this.total !== null && this.totalGen === this.gen;
    const last = known ? Math.min(end, this.total! - 1) : end;
    for (const p of pagesFor(start, last, this.pageSize)) void this.load(p);
    this.evict();
  }

  private load(p: number): Promise<void> {
    const have = this.pages.get(p);
    if (have && have.gen === this.gen) return Promise.resolve();
    if (this.inflight.get(p) === this.gen) return this.waitFor(p);
    const gen = this.gen;
    this.inflight.set(p, gen);
    return this.fetch(p * this.pageSize, this.pageSize).then(
      (r) => {
        if (this.disposed) return;
        if (this.inflight.get(p) === gen) this.inflight.delete(p);
        const current = this.pages.get(p);
        if (current && current.gen > gen) return;
        this.pages.set(p, { rows: r.rows, gen });
        if (gen === this.gen || this.total === null) {
          this.total = r.total;
          this.totalGen = gen;
        }
        this.error = null;
        this.notify();
        if (gen !== this.gen && this.isWanted(p)) void this.load(p);
      },
      (err: unknown) => {
        if (this.inflight.get(p) === gen) this.inflight.delete(p);
        this.error = err;
        this.notify();
      },
    );
  }

  private waitFor(p: number): Promise<void> {
    return new Promise((resolve) => {
      const off = this.subscribe(() => {
        if (!this.inflight.has(p) || this.disposed) {
          off();
          resolve();
        }
      });
    });
  }

  private isWanted(p: number): boolean {
    const [s, e] = this.lastRange;
    return p >= Math.floor(s / this.pageSize) && p <= Math.floor(e / this.pageSize);
  }

  /** Keeps at most maxPages, dropping those farthest from the last range. */
  private evict(): void {
    if (this.pages.size <= this.maxPages) return;
    const mid = Math.floor((this.lastRange[0] + this.lastRange[1]) / 2 / this.pageSize);
    const order = [...this.pages.keys()].sort((a, b) => Math.abs(b - mid) - Math.abs(a - mid));
    for (const p of order.slice(0, this.pages.size - this.maxPages)) this.pages.delete(p);
  }

  /** The store changed: every page is stale; the visible ones are refetched at once. */
  invalidate(): void {
    this.gen++;
    const [s, e] = this.lastRange;
    // Pages far from view are dropped rather than shown stale later.
    for (const p of [...this.pages.keys()]) if (!this.isWanted(p)) this.pages.delete(p);
    this.ensure(s, e);
  }

  /** Ids at indices [start, end] in display order, loading any page that is missing. */
  async idsBetween(start: number, end: number): Promise<number[]> {
    const last = this.total === null ? end : Math.min(end, this.total - 1);
    const need = pagesFor(start, last, this.pageSize);
    await Promise.all(need.map((p) => (this.pages.has(p) ? Promise.resolve() : this.load(p))));
    const ids: number[] = [];
    for (let i = start; i <= last; i++) {
      const row = this.get(i);
      if (row) ids.push(row.id);
    }
    return ids;
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
    this.pages.clear();
  }
}
