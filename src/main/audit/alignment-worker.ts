/** A search thread of alignment-pool.ts: searches the pairs it is sent among the packed thumbnails. */
import { parentPort, workerData } from 'node:worker_threads';
import { searchPair, unpackThumb, type Doubtful, type PackedThumbs } from './pair-search';
import type { FromSearchThread, ToSearchThread } from './alignment-pool';

const port = parentPort;
if (!port) throw new Error('alignment-worker.ts runs as a worker thread (alignment-pool.ts starts it).');
const { thumbs, doubtful } = workerData as { thumbs: PackedThumbs; doubtful: Doubtful };

port.on('message', (m: ToSearchThread) => {
  const count = m.pairs.length / 2;
  const out = { id: m.id, score: new Float64Array(count), mirrored: new Uint8Array(count), edges: new Float64Array(count) } satisfies FromSearchThread;
  for (let k = 0; k < count; k++) {
    const found = searchPair(unpackThumb(thumbs, m.pairs[2 * k] as number), unpackThumb(thumbs, m.pairs[2 * k + 1] as number), doubtful);
    out.score[k] = found.score;
    out.mirrored[k] = found.mirrored ? 1 : 0;
    out.edges[k] = found.edges;
  }
  port.postMessage(out, [out.score.buffer, out.mirrored.buffer, out.edges.buffer]);
});
