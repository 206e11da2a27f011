// A pair thread's entry (bundled as dist/pair-thread.js; pairThreads.ts starts and feeds it).
// It sums ranges of tensor pairs: reads both sides' bytes with synchronous positioned reads
// into its own WebAssembly arena, a chunk at a time, and runs the SIMD kernel on them while
// they are still in the core's cache. Each thread reads and computes on its own core, so a
// compare uses every core for the copy out of the page cache, which is most of its time.
import { parentPort } from 'node:worker_threads';
import { closeSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from './errors';
import { describeFsError } from './fileio';
import { DTYPE_SIZE } from './types';
import { decodeFloat32 } from './dtypes';
import { createArena, SLOT_BYTES } from './simd';
import { PairAccumulator } from './pairAccumulator';
import type { PairThreadReply, RangeJob, SideSpec } from './pairThreads';

const port = parentPort;
if (!port) throw new Error('pairThread.ts runs only as a worker thread');

/** Elements per read: 256 KB of float32 per side, so both sides and the kernel stay in a core's L2 cache. */
const CHUNK_ELEMENTS = 1 << 16;

const arena = createArena();
// Without WebAssembly (never on Node 20 or VS Code's Electron) plain buffers and the JS loops do.
const slot = (): Uint8Array => arena?.take() ?? new Uint8Array(SLOT_BYTES);
const bytes = [slot(), slot()];
const decoded = [slot(), slot()];

function readFully(fd: number, file: string, into: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = readSync(fd, into, done, length - done, position + done);
    } catch (e) {
      throw new CheckpointError(file, describeFsError(e));
    }
    if (got === 0) throw new CheckpointError(file, `truncated while reading at byte ${position + done}`);
    done += got;
  }
}

function values(side: SideSpec, fd: number, k: number, start: number, count: number) {
  const size = DTYPE_SIZE[side.dtype];
  readFully(fd, side.file, bytes[k], count * size, side.offset + start * size);
  return decodeFloat32(bytes[k], side.dtype, count, new Float32Array(decoded[k].buffer, decoded[k].byteOffset, count));
}

function open(file: string): number {
  try { return openSync(file, 'r'); } catch (e) { throw new CheckpointError(file, describeFsError(e)); }
}

function sumRange(job: RangeJob) {
  const acc = new PairAccumulator(job.geometry, job.start, job.start + job.count);
  const fds: number[] = [];
  try {
    fds.push(open(job.source.file));
    fds.push(open(job.target.file));
    const end = job.start + job.count;
    for (let start = job.start; start < end; start += CHUNK_ELEMENTS) {
      const count = Math.min(CHUNK_ELEMENTS, end - start);
      const s = values(job.source, fds[0], 0, start, count);
      const t = values(job.target, fds[1], 1, start, count);
      acc.add(s, t, start, count);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return acc.sums();
}

port.on('message', (job: RangeJob) => {
  let reply: PairThreadReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const sums = sumRange(job);
    for (const b of [sums.filters, sums.cells]) if (b) transfer.push(b.sq.buffer as ArrayBuffer, b.n.buffer as ArrayBuffer);
    reply = { id: job.id, sums };
  } catch (e) {
    reply = e instanceof CheckpointError
      ? { id: job.id, failed: { file: e.file, problem: e.problem } }
      : { id: job.id, failed: { problem: `${(e as Error)?.stack ?? e}` } };
  }
  port.postMessage(reply, transfer);
});
