// Boxes of a chunked (gzip, shuffle) HDF5 dataset read without HDF5: each chunk's bytes with a
// positioned read, where the chunk table (hdf5Layout.ts) says they are, and undone through the
// dataset's filter pipeline here, with Node's zlib. Why: h5wasm inflates in one WebAssembly
// thread, ~20x slower than reading the same bytes stored plainly; zlib's async inflate runs on
// libuv's thread pool, natively, on every core (both sides of a compare at once).
//
// Filters undone here: deflate (gzip), shuffle and fletcher32, in reverse pipeline order,
// skipping those a chunk's filter mask says were not applied to it. Datasets with any other
// filter HDF5 has built in (szip, nbit, scaleoffset) are read through h5wasm instead
// (hdf5Filters says which); others (lzf, blosc, bitshuffle... plugins h5wasm does not ship) are
// refused when the file is opened, naming the file, the dataset and the filter.
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { inflate as inflateCb } from 'node:zlib';
import { CheckpointError } from '../common/errors';
import type { ChunkTable } from './hdf5Layout';

const inflate = promisify(inflateCb) as (b: Buffer, o: { maxOutputLength: number; chunkSize: number }) => Promise<Buffer>;

/** HDF5 filter ids (H5Zpublic.h). */
export const FILTER = { deflate: 1, shuffle: 2, fletcher32: 3, szip: 4, nbit: 5, scaleoffset: 6 } as const;
/** Filters undone here. */
const NATIVE = new Set<number>([FILTER.deflate, FILTER.shuffle, FILTER.fletcher32]);
/** Filters HDF5 (and so h5wasm) has built in. */
const BUILT_IN = new Set<number>(Object.values(FILTER));

export interface Hdf5Filter { id: number; name: string; cd_values: number[] }

/** 'native' (read here), 'hdf5' (h5wasm can), or the first filter nobody here can undo. */
export function filterSupport(filters: readonly Hdf5Filter[]): 'native' | 'hdf5' | Hdf5Filter {
  const unknown = filters.find((f) => !BUILT_IN.has(f.id));
  if (unknown) return unknown;
  return filters.every((f) => NATIVE.has(f.id)) ? 'native' : 'hdf5';
}

/** What reading a chunked dataset natively needs: plain data, posted by the HDF5 thread. */
export interface ChunkedDataset extends ChunkTable {
  /** Dataset path, for messages. */
  dataset: string;
  shape: number[];
  elementSize: number;
  filters: Hdf5Filter[];
}

/** Chunks decoded at once per box read: enough to keep libuv's pool (4 threads) busy. */
const IN_FLIGHT = 4;

let decoded = 0;
/** Chunks this thread has decoded here (not through HDF5) so far: tests tell the two paths apart by it. */
export function chunksDecodedNatively(): number { return decoded; }

/** One chunk's stored bytes undone through the pipeline: the chunk's elements in C order. */
export async function decodeChunk(raw: Buffer, mask: number, d: ChunkedDataset, displayPath: string): Promise<Buffer> {
  decoded++;
  const chunkBytes = d.chunk.reduce((a, b) => a * b, 1) * d.elementSize;
  let b = raw;
  for (let i = d.filters.length - 1; i >= 0; i--) {
    if (mask & (1 << i)) continue;
    const f = d.filters[i];
    if (f.id === FILTER.fletcher32) b = checkFletcher32(b, d, displayPath);
    else if (f.id === FILTER.deflate) {
      // One output buffer the chunk's size: one trip to the pool per chunk, not one per 16 KB.
      try { b = await inflate(b, { maxOutputLength: chunkBytes, chunkSize: Math.max(64, chunkBytes) }); } catch (e) {
        throw new CheckpointError(displayPath, `dataset ${d.dataset}: a gzip chunk does not inflate (${(e as Error).message}): the file is damaged`);
      }
    } else if (f.id === FILTER.shuffle) b = unshuffle(b, f.cd_values[0] ?? d.elementSize);
    else throw new CheckpointError(displayPath, `dataset ${d.dataset}: HDF5 filter ${f.name || f.id} is not undone here`);
  }
  if (b.byteLength !== chunkBytes) throw new CheckpointError(displayPath, `dataset ${d.dataset}: a chunk holds ${b.byteLength} bytes, not the ${chunkBytes} its shape needs: the file is damaged`);
  return b;
}

/** HDF5's shuffle stores byte k of every element together; this puts each element back together. */
function unshuffle(b: Buffer, size: number): Buffer {
  if (size <= 1) return b;
  const n = Math.floor(b.byteLength / size);
  const out = Buffer.allocUnsafe(b.byteLength);
  for (let k = 0; k < size; k++) {
    const from = k * n;
    for (let i = 0, o = k; i < n; i++, o += size) out[o] = b[from + i];
  }
  // Bytes past the last whole element are stored as they are.
  b.copy(out, n * size, n * size);
  return out;
}

/** Strips and checks the trailing Fletcher-32 checksum (HDF5's H5_checksum_fletcher32). */
function checkFletcher32(b: Buffer, d: ChunkedDataset, displayPath: string): Buffer {
  if (b.byteLength < 4) throw new CheckpointError(displayPath, `dataset ${d.dataset}: a chunk is too short for its checksum: the file is damaged`);
  const data = b.subarray(0, b.byteLength - 4);
  let sum1 = 0, sum2 = 0, i = 0;
  let words = data.byteLength >> 1;
  while (words) {
    let t = Math.min(words, 360);
    words -= t;
    do { sum1 += (data[i] << 8) | data[i + 1]; i += 2; sum2 += sum1; } while (--t);
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16); sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  if (data.byteLength & 1) {
    sum1 += data[i] << 8; sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16); sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >>> 16); sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  const sum = ((sum2 << 16) | sum1) >>> 0;
  const stored = b.readUInt32LE(b.byteLength - 4);
  // HDF5 before 1.6.3 wrote it byte-swapped on little-endian machines; HDF5 still accepts both.
  const swapped = ((sum & 0xff) << 24 | (sum & 0xff00) << 8 | (sum >>> 8) & 0xff00 | sum >>> 24) >>> 0;
  if (stored !== sum && stored !== swapped) throw new CheckpointError(displayPath, `dataset ${d.dataset}: a chunk fails its Fletcher-32 checksum: the file is damaged`);
  return data;
}

/**
 * Reads the box [start, start + count) of `d` into `into` (C order, little-endian), from the
 * file at `file` whose byte 0 is the HDF5 file's byte `offset` (a .keras member lies inside it).
 * Only the chunks the box touches are read, a few at a time.
 */
export async function readChunkedBox(d: ChunkedDataset, file: string, offset: number, displayPath: string, start: readonly number[], count: readonly number[], into: Uint8Array): Promise<Uint8Array> {
  const rank = d.shape.length, s = d.elementSize;
  const nbytes = count.reduce((a, b) => a * b, 1) * s;
  if (into.byteLength < nbytes) throw new Error(`readChunkedBox: ${nbytes} bytes do not fit in ${into.byteLength}`);
  const out = into.subarray(0, nbytes);
  const grid = d.shape.map((n, k) => Math.ceil(n / d.chunk[k]));
  const first = start.map((x, k) => Math.floor(x / d.chunk[k]));
  const last = start.map((x, k) => Math.floor((x + count[k] - 1) / d.chunk[k]));
  // The chunks the box touches, as grid coordinates.
  const cells: number[][] = [];
  const g = [...first];
  for (;;) {
    cells.push([...g]);
    let k = rank - 1;
    while (k >= 0 && ++g[k] > last[k]) { g[k] = first[k]; k--; }
    if (k < 0) break;
  }
  const chunkBytes = d.chunk.reduce((a, b) => a * b, 1) * s;
  // Deflate can grow incompressible data a little; more than that is no chunk of this dataset.
  const maxStored = chunkBytes + (chunkBytes >> 8) + 1024;
  const fh = await open(file, 'r').catch((e) => { throw new CheckpointError(displayPath, `cannot be read: ${(e as Error).message}`); });
  try {
    const place = (cell: number[], bytes: Buffer) => {
      // The part of the chunk inside the box, copied a run along the last axis at a time.
      const lo = cell.map((c, k) => Math.max(start[k], c * d.chunk[k]));
      const hi = cell.map((c, k) => Math.min(start[k] + count[k], (c + 1) * d.chunk[k], d.shape[k]));
      const run = (hi[rank - 1] - lo[rank - 1]) * s;
      const idx = [...lo];
      for (;;) {
        let src = 0, dst = 0;
        for (let k = 0; k < rank; k++) { src = src * d.chunk[k] + (idx[k] - cell[k] * d.chunk[k]); dst = dst * count[k] + (idx[k] - start[k]); }
        out.set(bytes.subarray(src * s, src * s + run), dst * s);
        let k = rank - 2;
        while (k >= 0 && ++idx[k] >= hi[k]) { idx[k] = lo[k]; k--; }
        if (k < 0) break;
      }
    };
    let next = 0;
    let failure: { e: unknown } | undefined;
    const worker = async () => {
      while (next < cells.length && !failure) {
        const cell = cells[next++];
        try { await readOne(cell); } catch (e) { failure ??= { e }; }
      }
    };
    const readOne = async (cell: number[]) => {
      const i = cell.reduce((acc, c, k) => acc * grid[k] + c, 0);
      const size = d.size[i];
      if (size > maxStored) throw new CheckpointError(displayPath, `dataset ${d.dataset}: a chunk claims ${size} stored bytes, more than a ${chunkBytes}-byte chunk can take: the file is damaged`);
      const raw = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(raw, 0, size, offset + d.address[i]);
      if (bytesRead !== size) throw new CheckpointError(displayPath, `dataset ${d.dataset}: a chunk at byte ${d.address[i]} runs past the end of the file (truncated?)`);
      place(cell, await decodeChunk(raw, d.mask[i], d, displayPath));
    };
    // Every read has ended before the file is closed, a failure or not.
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, cells.length) }, worker));
    if (failure) throw failure.e;
  } finally {
    await fh.close();
  }
  return out;
}

type BoxRead = (start: number[], count: number[], into: Uint8Array) => Promise<Uint8Array>;

/**
 * Reads boxes of `d` natively once its first and last chunks, read so, equal what HDF5 reads
 * there; else (a table or pipeline misread, a chunk that does not decode) every box goes through
 * `viaHdf5`, as without a table.
 */
export function chunkedBoxReader(d: ChunkedDataset, file: string, offset: number, displayPath: string, viaHdf5: BoxRead): BoxRead {
  let trusted: Promise<boolean> | undefined;
  const agrees = async (): Promise<boolean> => {
    const grid = d.shape.map((n, k) => Math.ceil(n / d.chunk[k]));
    for (const cell of [grid.map(() => 0), grid.map((g) => g - 1)]) {
      const start = cell.map((c, k) => c * d.chunk[k]);
      const count = start.map((s, k) => Math.min(d.chunk[k], d.shape[k] - s));
      const n = count.reduce((a, b) => a * b, 1) * d.elementSize;
      let mine: Uint8Array;
      try { mine = await readChunkedBox(d, file, offset, displayPath, start, count, new Uint8Array(n)); } catch { return false; }
      const theirs = await viaHdf5(start, count, new Uint8Array(n));
      if (!Buffer.from(mine.buffer, mine.byteOffset, mine.byteLength).equals(theirs)) return false;
    }
    return true;
  };
  return async (start, count, into) => {
    trusted ??= agrees();
    return (await trusted) ? readChunkedBox(d, file, offset, displayPath, start, count, into) : viaHdf5(start, count, into);
  };
}
