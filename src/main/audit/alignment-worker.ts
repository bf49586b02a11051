/** A search thread of alignment-pool.ts: searches the pairs it is sent among the packed thumbnails. */
import { parentPort, workerData } from 'node:worker_threads';
import { buffersOf, searchRange, searchesFor, unpackThumb, type Doubtful, type PackedThumbs } from './pair-search';
import type { FromSearchThread, ToSearchThread } from './alignment-pool';

const port = parentPort;
if (!port) throw new Error('alignment-worker.ts runs as a worker thread (alignment-pool.ts starts it).');
const { thumbs, doubtful } = workerData as { thumbs: PackedThumbs; doubtful: Doubtful };

port.on('message', (m: ToSearchThread) => {
  const count = m.pairs.length / 2;
  const out = { id: m.id, ...searchesFor(count) } satisfies FromSearchThread;
  searchRange((i) => unpackThumb(thumbs, i), m.pairs, doubtful, out, 0, count);
  port.postMessage(out, buffersOf(out));
});
