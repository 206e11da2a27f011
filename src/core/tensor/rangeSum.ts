// Sums one range of a tensor pair straight from the files: synchronous positioned reads into a
// WebAssembly arena, a chunk at a time, and the SIMD kernel on the bytes while they are still
// in the core's cache. A pair thread (pairThread.ts) runs one of these; so does the calling
// thread when it takes its share of the ranges (pairThreads.ts).
import { closeSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from '../common/errors';
import { describeFsError } from '../common/fileio';
import { DTYPE_SIZE } from '../common/types';
import { decodeFloat32 } from './dtypes';
import { createArena, SLOT_BYTES } from './simd';
import { PairAccumulator } from './pairAccumulator';
import type { RangeJob, RangeSums, SideSpec } from './pairTypes';

/** Elements per read: 256 KB of float32 per side, so both sides and the kernel stay in a core's L2 cache. */
const CHUNK_ELEMENTS = 1 << 16;

export class RangeSummer {
  private readonly bytes: Uint8Array[];
  private readonly decoded: Uint8Array[];

  constructor() {
    const arena = createArena();
    // Without WebAssembly SIMD (never on Node 20 or VS Code's Electron) plain buffers and the JS loops do.
    const slot = (): Uint8Array => arena?.take() ?? new Uint8Array(SLOT_BYTES);
    this.bytes = [slot(), slot()];
    this.decoded = [slot(), slot()];
  }

  sum(job: RangeJob): RangeSums {
    const acc = new PairAccumulator(job.geometry, job.start, job.start + job.count);
    const fds: number[] = [];
    try {
      fds.push(open(job.source.file));
      fds.push(open(job.target.file));
      const end = job.start + job.count;
      const bf16 = job.source.dtype === 'BF16' && job.target.dtype === 'BF16';
      for (let start = job.start; start < end; start += CHUNK_ELEMENTS) {
        const count = Math.min(CHUNK_ELEMENTS, end - start);
        this.read(job.source, fds[0], 0, start, count);
        this.read(job.target, fds[1], 1, start, count);
        // bfloat16 pairs are summed where the read put them; others (and the chunks the fused
        // sum turns down) decoded to float32 first.
        if (bf16 && acc.addBf16(this.bytes[0], this.bytes[1], count)) continue;
        acc.add(this.values(job.source, 0, count), this.values(job.target, 1, count), start, count);
      }
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    return acc.sums();
  }

  private read(side: SideSpec, fd: number, k: number, start: number, count: number): void {
    const size = DTYPE_SIZE[side.dtype];
    readFully(fd, side.file, this.bytes[k], count * size, side.offset + start * size);
  }

  private values(side: SideSpec, k: number, count: number): Float32Array {
    const out = this.decoded[k];
    return decodeFloat32(this.bytes[k], side.dtype, count, new Float32Array(out.buffer, out.byteOffset, count));
  }
}

function open(file: string): number {
  try { return openSync(file, 'r'); } catch (e) { throw new CheckpointError(file, describeFsError(e)); }
}

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
