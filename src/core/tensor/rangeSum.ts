// Sums one range of a tensor pair straight from the files: synchronous positioned reads into a
// WebAssembly arena, a chunk at a time, and the SIMD kernel on the bytes while they are still
// in the core's cache. A pair thread (pairThread.ts) runs one of these; so does the calling
// thread when it takes its share of the ranges (pairThreads.ts).
//
// A job may ask for direct reads (O_DIRECT: the disk writes into our buffer, past the page
// cache). The engine asks for them when a pair is larger than half the machine's memory: the page
// cache cannot keep such a pair for a second compare, and filling it costs, per byte, a page to
// allocate (and, once memory is full, another to reclaim) and a copy out of it: most of the
// CPU a compare of 30 GB of shards took, on a machine where that CPU is shared. Direct reads
// have no read-ahead behind them, so they are issued ahead of the sums: both sides' next chunk
// is being read (by libuv's threads) while this one is summed.
import { closeSync, constants, openSync, read, readSync } from 'node:fs';
import { CheckpointError } from '../common/errors';
import { describeFsError } from '../common/fileio';
import { DTYPE_SIZE } from '../common/types';
import { decodeFloat32 } from './dtypes';
import { createArena, SLOT_BYTES } from './simd';
import { PairAccumulator } from './pairAccumulator';
import type { RangeJob, RangeSums, SideSpec } from './pairTypes';

/** Elements per read: 256 KB of float32 per side, so both sides and the kernel stay in a core's L2 cache. */
const CHUNK_ELEMENTS = 1 << 16;
/**
 * What direct reads align to (offset, length and buffer address): the page size, a multiple of
 * every disk's logical block. Our buffers are arena slots, which start at multiples of 64 KiB.
 */
const DIRECT_ALIGN = 4096;
/**
 * Bytes of a direct read's data: a slot less the alignment on both ends. A direct read waits for
 * the disk, so it is a megabyte rather than a chunk: fewer, larger requests keep the disk streaming.
 */
const DIRECT_BYTES = SLOT_BYTES - 2 * DIRECT_ALIGN;
/** Float32 values a decode slot holds. */
const DECODED_ELEMENTS = SLOT_BYTES / 4;
/** O_DIRECT where the platform has it (Linux); elsewhere direct reads are plain ones. */
const O_DIRECT = (constants as { O_DIRECT?: number }).O_DIRECT;

export class RangeSummer {
  /** Direct reads done by the summers of this thread (tests check that the direct path ran). */
  static directReads = 0;
  /** Byte slots: source and target of the chunk summed, and of the chunk read meanwhile (direct reads). */
  private readonly bytes: Uint8Array[][];
  private readonly decoded: Uint8Array[];

  constructor() {
    const arena = createArena();
    // Without WebAssembly SIMD (never on Node 20 or VS Code's Electron) plain buffers and the JS loops do.
    const slot = (): Uint8Array => arena?.take() ?? new Uint8Array(SLOT_BYTES);
    this.bytes = [[slot(), slot()], [slot(), slot()]];
    this.decoded = [slot(), slot()];
  }

  /** The range's sums: at once through the page cache, as a promise when reading past it. */
  sum(job: RangeJob): RangeSums | Promise<RangeSums> {
    const acc = new PairAccumulator(job.geometry, job.start, job.start + job.count);
    const sides: Opened[] = [];
    let async = false;
    try {
      sides.push(open(job.source.file, job.direct));
      sides.push(open(job.target.file, job.direct));
      if (sides[0].direct || sides[1].direct) {
        async = true;
        return this.sumDirect(job, acc, sides);
      }
      const end = job.start + job.count;
      for (let start = job.start; start < end; start += CHUNK_ELEMENTS) {
        const count = Math.min(CHUNK_ELEMENTS, end - start);
        const [s, t] = this.bytes[0];
        readFully(sides[0].fd, job.source.file, s, count * DTYPE_SIZE[job.source.dtype], job.source.offset + start * DTYPE_SIZE[job.source.dtype]);
        readFully(sides[1].fd, job.target.file, t, count * DTYPE_SIZE[job.target.dtype], job.target.offset + start * DTYPE_SIZE[job.target.dtype]);
        this.add(job, acc, s, t, start, count);
      }
      return acc.sums();
    } finally {
      if (!async) for (const s of sides) closeSync(s.fd);
    }
  }

  /** Direct reads, a slot's worth a step, the next step's read while this one is summed. */
  private async sumDirect(job: RangeJob, acc: PairAccumulator, sides: Opened[]): Promise<RangeSums> {
    const end = job.start + job.count;
    // As many elements as a slot holds past its alignment (the same on both sides).
    const step = Math.floor(DIRECT_BYTES / Math.max(DTYPE_SIZE[job.source.dtype], DTYPE_SIZE[job.target.dtype]));
    const fetch = (start: number, k: number) => {
      const count = Math.min(step, end - start);
      return Promise.all([this.readAhead(job.source, sides[0], this.bytes[k][0], start, count), this.readAhead(job.target, sides[1], this.bytes[k][1], start, count)]);
    };
    let pending: Promise<Uint8Array[]> | undefined = fetch(job.start, 0);
    try {
      for (let start = job.start, k = 0; start < end; start += step, k ^= 1) {
        const [s, t] = await pending!;
        pending = start + step < end ? fetch(start + step, k ^ 1) : undefined;
        this.add(job, acc, s, t, start, Math.min(step, end - start));
      }
      return acc.sums();
    } finally {
      // A failed step must not leave a read writing into our slots, nor into a closed descriptor.
      await pending?.catch(() => undefined);
      for (const s of sides) closeSync(s.fd);
    }
  }

  private add(job: RangeJob, acc: PairAccumulator, s: Uint8Array, t: Uint8Array, start: number, count: number): void {
    // bfloat16 pairs are summed where the read put them; others (and the chunks the fused sum
    // turns down) decoded to float32 first, a slot of float32 at a time (a direct read's chunk
    // holds more elements than that).
    if (job.source.dtype === 'BF16' && job.target.dtype === 'BF16' && acc.addBf16(s, t, count)) return;
    const ss = DTYPE_SIZE[job.source.dtype], ts = DTYPE_SIZE[job.target.dtype];
    for (let p = 0; p < count; p += DECODED_ELEMENTS) {
      const c = Math.min(DECODED_ELEMENTS, count - p);
      acc.add(this.values(s.subarray(p * ss), job.source, 0, c), this.values(t.subarray(p * ts), job.target, 1, c), start + p, c);
    }
  }

  /** Elements [start, start + count) of one side into `slot`, directly when its file was so opened; where they lie in it. */
  private async readAhead(side: SideSpec, f: Opened, slot: Uint8Array, start: number, count: number): Promise<Uint8Array> {
    const size = DTYPE_SIZE[side.dtype];
    const position = side.offset + start * size, length = count * size;
    if (!f.direct) {
      await readFullyAsync(f.fd, side.file, slot, length, position, length, false);
      return slot.subarray(0, length);
    }
    // Whole aligned blocks around the elements; at the file's end the read comes up short, and
    // only the elements' bytes must have come.
    const from = position - (position % DIRECT_ALIGN);
    const shift = position - from;
    const span = Math.ceil((shift + length) / DIRECT_ALIGN) * DIRECT_ALIGN;
    try {
      await readFullyAsync(f.fd, side.file, slot, span, from, shift + length, true);
      RangeSummer.directReads++;
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw new CheckpointError(side.file, describeFsError(e));
      // A file system that opens files for direct reads but refuses the reads: plain ones from here on.
      if (f.direct) { closeSync(f.fd); Object.assign(f, open(side.file, false)); }
      return this.readAhead(side, f, slot, start, count);
    }
    if (shift % size === 0) return slot.subarray(shift, shift + length);
    // A tensor at an offset that is no multiple of its element size (no writer does this, the
    // format allows it): moved to the slot's start, where the typed views of it can lie.
    slot.copyWithin(0, shift, shift + length);
    return slot.subarray(0, length);
  }

  private values(bytes: Uint8Array, side: SideSpec, k: number, count: number): Float32Array {
    const out = this.decoded[k];
    return decodeFloat32(bytes, side.dtype, count, new Float32Array(out.buffer, out.byteOffset, count));
  }
}

interface Opened { fd: number; direct: boolean }

/** The file, opened for direct reads when asked and the file system allows them (tmpfs before Linux 6.6 does not), else plainly. */
function open(file: string, direct: boolean | undefined): Opened {
  if (direct && O_DIRECT !== undefined) {
    try { return { fd: openSync(file, constants.O_RDONLY | O_DIRECT), direct: true }; } catch { /* below, plainly: it names the file's problem if it has one */ }
  }
  try { return { fd: openSync(file, 'r'), direct: false }; } catch (e) { throw new CheckpointError(file, describeFsError(e)); }
}

/** Reads `length` bytes at `position` into `into` (a plain read: all of them, or the error names the file). */
function readFully(fd: number, file: string, into: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    let got: number;
    try { got = readSync(fd, into, done, length - done, position + done); } catch (e) { throw new CheckpointError(file, describeFsError(e)); }
    done += checked(file, got, done, length, position, false);
  }
}

/**
 * The same through libuv's threads, stopping once `need` bytes have come: a direct read's last
 * block may pass the file's end. A direct read's errors are thrown as they come (the caller
 * falls back on EINVAL); a plain read's name the file.
 */
async function readFullyAsync(fd: number, file: string, into: Uint8Array, length: number, position: number, need: number, direct: boolean): Promise<void> {
  let done = 0;
  while (done < need) {
    let got: number;
    try {
      got = await new Promise<number>((resolve, reject) => read(fd, into, done, length - done, position + done, (e, n) => (e ? reject(e) : resolve(n))));
    } catch (e) {
      if (direct) throw e;
      throw new CheckpointError(file, describeFsError(e));
    }
    done += checked(file, got, done, need, position, direct);
  }
}

/** Bytes a read gave, or the error of a file that ended first (short of a whole block, a direct read has met the file's end). */
function checked(file: string, got: number, done: number, need: number, position: number, direct: boolean): number {
  if (got === 0 || (direct && got % DIRECT_ALIGN !== 0 && done + got < need)) throw new CheckpointError(file, `truncated while reading at byte ${position + done + got}`);
  return got;
}
