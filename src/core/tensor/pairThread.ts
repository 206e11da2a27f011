// A pair thread's entry (bundled as dist/pair-thread.js; pairThreads.ts starts and feeds it):
// sums the ranges it is sent (rangeSum.ts) and posts their sums back. Each thread reads and
// computes on its own core, so a compare uses every core for the copy out of the page cache,
// which is most of its time.
import { parentPort, workerData } from 'node:worker_threads';
import { CheckpointError } from '../common/errors';
import { RangeSummer } from './rangeSum';
import { adoptSimdModule } from './simd';
import type { PairThreadReply, RangeJob } from './pairTypes';

const port = parentPort;
if (!port) throw new Error('pairThread.ts runs only as a worker thread');
adoptSimdModule((workerData as { simd?: unknown } | undefined)?.simd);
const summer = new RangeSummer();

// One range at a time, in the order sent: a direct read's sum is asynchronous, and two at once
// would share the summer's buffers.
let queue: Promise<void> = Promise.resolve();
port.on('message', (job: RangeJob) => { queue = queue.then(() => reply(job)); });

async function reply(job: RangeJob): Promise<void> {
  let reply: PairThreadReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const sums = await summer.sum(job);
    for (const b of [sums.filters, sums.cells]) if (b) transfer.push(b.sq.buffer as ArrayBuffer, b.n.buffer as ArrayBuffer);
    if (sums.filters) transfer.push(sums.filters.ss.buffer as ArrayBuffer, sums.filters.tt.buffer as ArrayBuffer, sums.filters.st.buffer as ArrayBuffer);
    reply = { id: job.id, sums };
  } catch (e) {
    reply = e instanceof CheckpointError
      ? { id: job.id, failed: { file: e.file, problem: e.problem } }
      : { id: job.id, failed: { problem: `${(e as Error)?.stack ?? e}` } };
  }
  port!.postMessage(reply, transfer);
}
