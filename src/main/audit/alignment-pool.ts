/**
 * The alignment search over many pairs, on worker threads. The searches are independent and take
 * nearly all of the pixel check's time (about 8 minutes of CPU for the benchmark's 56,208 pairs),
 * so each core takes pairs in chunks until none are left; the host's event loop only hands them
 * out. Results come back in the pairs' order, the same as one search after another. A few pairs
 * are searched here (a thread costs more to start than they take).
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { GreyThumb } from '../media/perceptual-hash';
import { startWorker } from '../../shared/node/entry-script';
import { Pacer } from './pacer';
import { packThumbs, placeSearches, searchRange, searchesFor, type Doubtful, type PairSearches } from './pair-search';

/** Pairs a thread searches between two messages (about 0.1-0.5 s of work: progress and a cancel get through). */
const CHUNK = 64;
/** Below this many pairs the search stays on the calling thread. */
const MIN_PAIRS_FOR_THREADS = 4 * CHUNK;
/** Threads at most (the host and the engine need a core too on a larger machine). */
const MAX_THREADS = 8;

export interface ToSearchThread {
  id: number;
  /** Image indices, a and b of each pair in turn. */
  pairs: Int32Array;
}
export interface FromSearchThread extends PairSearches {
  id: number;
}

export interface SearchOptions {
  /** Threads to use (default: one per core, at most MAX_THREADS; 1: none, on the calling thread). */
  threads?: number;
  signal?: AbortSignal;
  /** Pairs searched so far. */
  onProgress?: (done: number) => void;
}

/** The alignment search of every pair (`pairs`: a and b of each in turn); null when cancelled. */
export async function searchPairs(thumbs: readonly GreyThumb[], pairs: Int32Array, doubtful: Doubtful, options: SearchOptions = {}): Promise<PairSearches | null> {
  const count = pairs.length >> 1;
  for (const i of pairs) if (!(i >= 0 && i < thumbs.length)) throw new RangeError(`Pair member ${i} is not one of the ${thumbs.length} images.`);
  const out = searchesFor(count);
  const threads = Math.min(options.threads ?? Math.min(os.availableParallelism(), MAX_THREADS), Math.ceil(count / CHUNK));
  if (threads <= 1 || (options.threads === undefined && count < MIN_PAIRS_FOR_THREADS)) return searchHere(thumbs, pairs, doubtful, out, options);
  return searchOnThreads(thumbs, pairs, doubtful, out, threads, options);
}

async function searchHere(thumbs: readonly GreyThumb[], pairs: Int32Array, doubtful: Doubtful, out: PairSearches, o: SearchOptions): Promise<PairSearches | null> {
  const pacer = new Pacer();
  for (let k = 0; k < out.score.length; k++) {
    if (pacer.due()) {
      o.onProgress?.(k);
      await pacer.pause();
    }
    if (o.signal?.aborted) return null;
    searchRange((i) => thumbs[i] as GreyThumb, pairs, doubtful, out, k, k + 1);
  }
  o.onProgress?.(out.score.length);
  return out;
}

function searchOnThreads(thumbs: readonly GreyThumb[], pairs: Int32Array, doubtful: Doubtful, out: PairSearches, threads: number, o: SearchOptions): Promise<PairSearches | null> {
  const count = out.score.length;
  const chunks = Math.ceil(count / CHUNK);
  const workerData = { thumbs: packThumbs(thumbs), doubtful };
  const workers: Worker[] = [];
  let next = 0;
  let finished = 0;
  let done = 0;
  return new Promise<PairSearches | null>((resolve, reject) => {
    let settled = false;
    const end = (result: PairSearches | null, error?: Error): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (error) reject(error);
      else resolve(result);
    };
    const onAbort = (): void => end(null);
    const send = (w: Worker): void => {
      if (next >= chunks) return;
      const id = next++;
      const slice = pairs.slice(2 * id * CHUNK, 2 * Math.min(count, (id + 1) * CHUNK));
      w.postMessage({ id, pairs: slice } satisfies ToSearchThread, [slice.buffer]);
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) return end(null);
    for (let t = 0; t < threads; t++) {
      const w = startWorker('alignment-worker', import.meta.url, 'alignment-worker.ts', { workerData });
      workers.push(w);
      w.on('message', (m: FromSearchThread) => {
        try {
          placeSearches(out, m, m.id * CHUNK);
          done += m.score.length;
          o.onProgress?.(done);
          if (++finished === chunks) end(out);
          else send(w);
        } catch (e) {
          end(null, e instanceof Error ? e : new Error(String(e)));
        }
      });
      w.on('error', (e) => end(null, new Error(`An alignment search thread failed: ${e.message}`)));
      w.on('exit', (code) => end(null, new Error(`An alignment search thread ended before its pairs were searched (exit code ${code}).`)));
      // Two chunks in flight each: a thread never waits for the next while the host is busy.
      send(w);
      send(w);
    }
  });
}
