/**
 * The audit's long loops run on the host's event loop (the main process or a job's): a yield every
 * YIELD_MS lets requests, progress and a cancel through.
 */

/** Longest stretch of work between two yields. */
export const YIELD_MS = 20;

/** When a long loop is due a yield (`due`), and the yield itself (`pause`: false once `signal` is aborted). */
export class Pacer {
  private last = performance.now();
  constructor(private readonly signal?: AbortSignal) {}

  due(): boolean {
    return performance.now() - this.last > YIELD_MS;
  }

  async pause(): Promise<boolean> {
    await new Promise<void>((r) => setImmediate(r));
    this.last = performance.now();
    return !this.signal?.aborted;
  }
}
