import { TensorInfo } from '../common/types';
import { decodeFloat32, numel, HOST_LITTLE_ENDIAN } from './dtypes';
import { RandomAccessFile } from '../common/fileio';
import { CheckpointError, CancelToken, throwIfCancelled } from '../common/errors';
import { reserveMemory } from '../common/limits';
import { Arena, createArena, SLOT_BYTES } from './simd';
import type { SideSpec, Values } from './pairTypes';
import { StridedView, ViewReader, viewOf } from './viewRead';
import { SlabReader } from './slabRead';
import { inflateToFile, InflateReader } from './inflateRead';
import { elementsOf, storedDType, storedSize } from './storedElements';
import { rmSync } from 'node:fs';

/**
 * Reads tensor data described by TensorInfo.location. The only module that turns stored
 * bytes into numbers. Contiguous tensors stream in chunks with positioned reads; strided and
 * permuted ones (Keras, TF.js and ONNX kernels, torch views, TF.js weights spanning shards)
 * stream in canonical order through blocked transposes (viewRead.ts); chunked or compressed HDF5
 * datasets a hyperslab at a time (slabRead.ts); deflated npz members through a streaming
 * inflater (inflateRead.ts). Quantized and float16 storage is decoded as it is read, in every one
 * of these paths (storedElements.ts). Only loader-backed ones (small HDF5 datasets, ONNX typed
 * fields) are materialised, then handed out in the same chunked form.
 */
export class FilePool {
  private files = new Map<string, Promise<RandomAccessFile>>();
  /**
   * Chunk buffers returned by finished streams, reused by the next ones. Without this each
   * tensor pair allocated four fresh megabyte buffers, and a compare of 60 tensors could
   * hold hundreds of MB of them before a garbage collection came around to freeing them.
   * Buffers up to a slot's size come from a WebAssembly memory arena (src/core/tensor/simd.ts),
   * so the SIMD kernel runs on the bytes where the file read put them.
   */
  private spare: Uint8Array[] = [];
  private arena: Arena | undefined | null;

  /** A buffer of at least `bytes` bytes, 16-aligned. Give it back with `release`. */
  acquire(bytes: number): Uint8Array {
    if (bytes <= SLOT_BYTES) {
      if (this.arena === undefined) this.arena = createArena() ?? null;
      const slot = this.arena?.take();
      if (slot) return slot;
    }
    const i = this.spare.findIndex((b) => b.byteLength >= bytes);
    if (i >= 0) return this.spare.splice(i, 1)[0];
    reserveMemory(bytes);
    return new Uint8Array(Math.max(bytes, 16));
  }

  /**
   * Small tensors are read through one window per file: a state dict of 50,000 small tensors
   * would otherwise cost 100,000 reads, each a round trip to libuv's thread pool (most of a
   * compare's time, measured). Tensors are compared in file order, so one window read serves
   * the next few hundred of them.
   */
  private windows = new Map<string, Window>();
  private spareWindows: Uint8Array[] = [];

  /**
   * Copies bytes [position, position + length) of `path` into `into`, through the file's window:
   * synchronously when the window holds them, else after one read of the next window.
   */
  readSmall(path: string, position: number, length: number, into: Uint8Array): void | Promise<void> {
    const w = this.windows.get(path);
    if (w?.bytes && position >= w.start && position + length <= w.end) {
      into.set(w.bytes.subarray(position - w.start, position - w.start + length));
      return;
    }
    return this.readWindow(path, position, length, into);
  }

  private async readWindow(path: string, position: number, length: number, into: Uint8Array): Promise<void> {
    let w = this.windows.get(path);
    if (!w || position < w.start || position + length > w.end) {
      const file = await this.get(path);
      // Past the file's end when the tensor is: the read then fails naming the file.
      const end = Math.max(position + length, Math.min(file.size, position + SMALL_READ_WINDOW));
      // A spare buffer large enough, else one the window's size (a small file's window is
      // small); none for a window past the file's end, whose read fails before reading.
      const k = this.spareWindows.findIndex((b) => b.byteLength >= end - position);
      const buffer = end > file.size ? undefined : k >= 0 ? this.spareWindows.splice(k, 1)[0] : new Uint8Array(end - position);
      const fresh: Window = { start: position, end, data: file.read(position, end - position, buffer), buffer, readers: 0 };
      fresh.data.then((b) => { fresh.bytes = b; }, () => undefined);
      const old = this.windows.get(path);
      this.windows.set(path, w = fresh);
      if (old) { old.retired = true; this.recycle(old); }
    }
    w.readers++;
    try {
      const data = await w.data;
      into.set(data.subarray(position - w.start, position - w.start + length));
    } finally {
      w.readers--;
      if (w.retired) this.recycle(w);
    }
  }

  /**
   * A replaced window's buffer serves the next window once its read is done and nobody is
   * still copying out of it: a state dict of 100,000 small tensors read ~230 windows of 1 MB,
   * each a fresh buffer outside the heap until a garbage collection freed it (60 MB at a time).
   */
  private recycle(w: Window): void {
    if (w.readers > 0 || !w.bytes || !w.buffer || this.spareWindows.length >= 4) return;
    this.spareWindows.push(w.buffer);
    w.buffer = undefined;
  }

  get(path: string): Promise<RandomAccessFile> {
    let f = this.files.get(path);
    if (!f) { f = RandomAccessFile.open(path); this.files.set(path, f); }
    return f;
  }

  /** Gives buffers back for reuse; keeps a few of the others, the largest. */
  release(...bufs: Uint8Array[]): void {
    for (const b of bufs) {
      if (this.arena && b.buffer === this.arena.memory.buffer) this.arena.give(b);
      else this.spare.push(b);
    }
    if (this.spare.length > 8) this.spare = this.spare.sort((a, b) => b.byteLength - a.byteLength).slice(0, 8);
  }

  async closeAll(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    this.windows.clear();
    this.spareWindows = [];
    this.spare = [];
    await Promise.all(all.map(async (p) => { try { await (await p).close(); } catch { /* already failed to open */ } }));
  }
}

interface Window {
  start: number; end: number; data: Promise<Uint8Array>; bytes?: Uint8Array;
  /** The buffer the window was read into, reused by a later window once this one is done. */
  buffer?: Uint8Array;
  /** Reads waiting to copy out of it; once replaced (retired) and none, its buffer is reused. */
  readers: number; retired?: boolean;
}

/** Tensors up to this many bytes are read through a file's window (FilePool.readSmall). */
export const SMALL_TENSOR_BYTES = 64 * 1024;
/** Bytes one window read takes: 1 MB, like a chunk. */
const SMALL_READ_WINDOW = 1 << 20;

/** Largest tensor we materialise whole (elements). Larger ones must be contiguous to stream. */
export const MAX_MATERIALISED_ELEMENTS = 1 << 28;
/**
 * Elements per chunk: 1 MB of float32 per side, one arena slot (simd.ts SLOT_BYTES). Large
 * enough that a read's round trip to libuv's thread pool is small next to copying the bytes,
 * small enough to stay in cache for the kernel; 64K to 256K elements measured the same on a
 * 1 GB pair (`bench/driver.ts --chunk=N`).
 */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 18;

export interface Chunk { data: Float64Array; start: number; length: number }


/** Whether a pair can take the small-pair path: both small, stored as plain floats. */
export function smallPair(s: TensorInfo, t: TensorInfo): boolean {
  return s.location.kind === 'contiguous' && t.location.kind === 'contiguous' && float32Capable(s) && float32Capable(t) && storedBytes(s) <= SMALL_TENSOR_BYTES && storedBytes(t) <= SMALL_TENSOR_BYTES;
}

function storedBytes(t: TensorInfo): number {
  try { return numel(t.shape) * storedSize(t); } catch { return Infinity; }
}

/**
 * Reads small pairs (see smallPair) one after the other into four buffers kept for the whole
 * compare: no stream, no per-tensor buffers or promises, a copy out of the file's window. A
 * state dict of 50,000 small tensors spent most of its time setting up streams for them.
 * The values are valid until the next `read`.
 */
export class SmallPairs {
  private readonly raw: [Uint8Array, Uint8Array];
  private readonly decoded: [Float32Array, Float32Array];
  private readonly owned: Uint8Array[];

  constructor(private readonly pool: FilePool) {
    this.owned = [pool.acquire(SMALL_TENSOR_BYTES), pool.acquire(SMALL_TENSOR_BYTES), pool.acquire(2 * SMALL_TENSOR_BYTES), pool.acquire(2 * SMALL_TENSOR_BYTES)];
    this.raw = [this.owned[0], this.owned[1]];
    this.decoded = [asF32(this.owned[2]), asF32(this.owned[3])];
  }

  /** The pair's values; at once (no promise) when both lie in their file's window already, as most do. */
  read(s: TensorInfo, t: TensorInfo): [Float32Array, Float32Array] | Promise<[Float32Array, Float32Array]> {
    const a = this.fill(s, 0), b = this.fill(t, 1);
    if (a || b) return Promise.all([a, b]).then(() => this.both(s, t));
    return this.both(s, t);
  }

  private both(s: TensorInfo, t: TensorInfo): [Float32Array, Float32Array] {
    const n = numel(s.shape);
    return [this.values(s, 0, n), this.values(t, 1, n)];
  }

  dispose(): void { this.pool.release(...this.owned); }

  private fill(t: TensorInfo, k: 0 | 1): void | Promise<void> {
    const loc = t.location as ContiguousLocation;
    return this.pool.readSmall(loc.file, loc.offset, storedBytes(t), this.raw[k]);
  }

  private values(t: TensorInfo, k: 0 | 1, n: number): Float32Array {
    return decodeFloat32(this.raw[k], storedDType(t) as 'F32' | 'F16' | 'BF16', n, this.decoded[k]);
  }
}

function asF32(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
}

/** Aligned chunks of a source and a target tensor: elements [start, start + length) of each. */
export interface PairChunk { start: number; length: number; source: Values; target: Values }

/**
 * Yields the tensor's values in canonical order, `chunkElements` at a time (last may be shorter).
 * The chunk's `data` is reused: it is valid until the next call of `next()`.
 * While the consumer works on one chunk, the next one is already being read.
 */
export async function* streamTensor(t: TensorInfo, pool: FilePool, chunkElements = DEFAULT_CHUNK_ELEMENTS, token?: CancelToken): AsyncGenerator<Chunk> {
  const n = numel(t.shape);
  const side = await openSide(t, pool, chunkElements, 'f64', token);
  let pending: Promise<void> | undefined;
  try {
    pending = n > 0 ? side.fetch(0, Math.min(chunkElements, n), 0) : undefined;
    for (let start = 0, slot = 0; start < n; start += chunkElements, slot ^= 1) {
      throwIfCancelled(token);
      const count = Math.min(chunkElements, n - start);
      await pending;
      const next = start + chunkElements;
      pending = next < n ? side.fetch(next, Math.min(chunkElements, n - next), slot ^ 1) : undefined;
      yield { data: side.values(slot, start, count) as Float64Array, start, length: count };
    }
  } finally {
    // A consumer that stops early must not leave a read writing into our buffers.
    await pending?.catch(() => undefined);
    side.dispose();
  }
}

/**
 * Streams a source and a target tensor of the same element count in lockstep: both files
 * are read at once, and the next pair of chunks is read while the consumer computes on
 * this one. Values come as Float32Array when both tensors are F32/F16/BF16 or quantized
 * integers stored contiguously (F32 is handed out without any copy, halves are decoded exactly
 * by table, integers dequantized to the float32 they stand for), else as Float64Array.
 * Chunk buffers are reused: valid until the next `next()`.
 * Memory: four chunk buffers (two per side), however large the tensors.
 */
export async function* streamPair(s: TensorInfo, t: TensorInfo, pool: FilePool, chunkElements = DEFAULT_CHUNK_ELEMENTS, token?: CancelToken): AsyncGenerator<PairChunk> {
  const n = numel(s.shape);
  if (numel(t.shape) !== n) throw new Error(`streamPair: ${s.name} has ${n} elements, ${t.name} has ${numel(t.shape)}`);
  const mode: Mode = float32Streams(s) && float32Streams(t) ? 'f32' : 'f64';
  const [a, b] = await Promise.all([openSide(s, pool, chunkElements, mode, token), openSide(t, pool, chunkElements, mode, token)]);
  const fetch = (start: number, slot: number): Promise<unknown> => {
    const count = Math.min(chunkElements, n - start);
    return Promise.all([a.fetch(start, count, slot), b.fetch(start, count, slot)]);
  };
  let pending: Promise<unknown> | undefined;
  try {
    pending = n > 0 ? fetch(0, 0) : undefined;
    for (let start = 0, slot = 0; start < n; start += chunkElements, slot ^= 1) {
      throwIfCancelled(token);
      const count = Math.min(chunkElements, n - start);
      await pending;
      pending = start + chunkElements < n ? fetch(start + chunkElements, slot ^ 1) : undefined;
      yield { start, length: count, source: a.values(slot, start, count), target: b.values(slot, start, count) };
    }
  } finally {
    await pending?.catch(() => undefined);
    a.dispose(); b.dispose();
  }
}

type Mode = 'f32' | 'f64';

/** Stored so that chunks can be handed out as float32 without loss or reordering (float16 storage included). */
export function float32Capable(t: TensorInfo): boolean {
  const d = storedDType(t);
  return (d === 'F32' || d === 'F16' || d === 'BF16') && isPlainContiguous(t) && t.location.littleEndian && HOST_LITTLE_ENDIAN;
}

/**
 * Streamed as float32 chunks: float32Capable, or quantized integers in canonical order (their
 * values are float32 by definition, dequantized into the chunk: the SIMD kernel then sums them).
 */
function float32Streams(t: TensorInfo): boolean {
  return float32Capable(t) || (!!t.storage && !storedDType(t) && isPlainContiguous(t) && HOST_LITTLE_ENDIAN);
}

/** Stored in canonical order as a plain run of bytes (in one file, over several, or in a deflate stream). */
function isPlainContiguous(t: TensorInfo): boolean {
  const k = t.location.kind;
  return (k === 'contiguous' || k === 'segmented' || k === 'deflated') && !t.permute;
}

type ContiguousLocation = Extract<TensorInfo['location'], { kind: 'contiguous' }>;

function assertInFile(t: TensorInfo, loc: ContiguousLocation, file: RandomAccessFile): void {
  const end = loc.offset + numel(t.shape) * storedSize(t);
  if (end > file.size) throw new CheckpointError(loc.file, `tensor ${t.name} needs bytes ${loc.offset}..${end} but the file has ${file.size} (truncated?)`);
}

/**
 * The tensor as a pair thread reads it (contiguous little-endian F32/F16/BF16), with its
 * extent checked against the file; undefined when it is stored any other way.
 */
export async function threadSide(t: TensorInfo, pool: FilePool): Promise<SideSpec | undefined> {
  if (!float32Capable(t) || t.location.kind !== 'contiguous') return undefined; // narrows the location's type
  const loc = t.location;
  assertInFile(t, loc, await pool.get(loc.file));
  return { file: loc.file, offset: loc.offset, dtype: storedDType(t) as SideSpec['dtype'] };
}

/** One tensor's side of a stream: `fetch` reads a chunk's bytes into a slot, `values` decodes it. */
interface Side {
  fetch(start: number, count: number, slot: number): Promise<void>;
  values(slot: number, start: number, count: number): Values;
  /** Returns the side's buffers to the pool; call once no read is in flight. */
  dispose(): void;
}

async function openSide(t: TensorInfo, pool: FilePool, chunkElements: number, mode: Mode, token?: CancelToken): Promise<Side> {
  const n = numel(t.shape);
  const loc0 = t.location;
  if (loc0.kind === 'slabs') {
    // Chunked or compressed HDF5: a hyperslab per band, never the whole dataset.
    const reader = new SlabReader(t);
    return float64Side(pool, n, chunkElements, (start, count, out) => reader.read(start, count, out));
  }
  if (loc0.kind === 'deflated') return deflatedSide(t, loc0, pool, chunkElements, mode);
  const view = isPlainContiguous(t) ? undefined : viewOf(t);
  if (view) {
    // Strided or permuted (or split over files): canonical order a band at a time, never the whole tensor.
    const reader = new ViewReader(view, await openView(view, pool), t.name);
    return float64Side(pool, n, chunkElements, async (start, count, out) => reader.read(start, count, out));
  }
  if (!isPlainContiguous(t)) {
    // Loader-backed: materialised (as float64: such a side never takes the float32 mode, see float32Capable).
    const all = await readTensor(t, pool, token);
    return { fetch: async () => undefined, values: (_slot, start, count) => all.subarray(start, start + count), dispose: () => undefined };
  }
  const loc = t.location;
  const size = storedSize(t);
  if (loc.kind === 'segmented') {
    // In C order over several files: each chunk read from the run(s) that hold it.
    const files = await Promise.all(loc.segments.map((r) => pool.get(r.file)));
    loc.segments.forEach((r, i) => {
      if (r.offset + r.length > files[i].size) throw new CheckpointError(r.file, `tensor ${t.name} needs bytes ${r.offset}..${r.offset + r.length} but the file has ${files[i].size} (truncated?)`);
    });
    const total = loc.segments.reduce((a, r) => a + r.length, 0);
    if (total < n * size) throw new CheckpointError(loc.segments[0]?.file ?? t.name, `tensor ${t.name} needs ${n * size} bytes but its ${loc.segments.length} file(s) hold ${total}`);
    return bytesSide(t, pool, chunkElements, mode, loc.littleEndian, async (start, count, into) => {
      const from = start * size, to = from + count * size;
      const reads: Promise<unknown>[] = [];
      for (let i = 0, at = 0; i < loc.segments.length && at < to; at += loc.segments[i].length, i++) {
        const r = loc.segments[i], lo = Math.max(from, at), hi = Math.min(to, at + r.length);
        if (lo < hi) reads.push(files[i].read(r.offset + (lo - at), hi - lo, into.subarray(lo - from, hi - from)));
      }
      await Promise.all(reads);
    });
  }
  const c = loc as ContiguousLocation;
  const file = await pool.get(c.file);
  assertInFile(t, c, file);
  return bytesSide(t, pool, chunkElements, mode, c.littleEndian, n * size <= SMALL_TENSOR_BYTES
    ? async (start, count, into) => { await pool.readSmall(c.file, c.offset + start * size, count * size, into); }
    : async (start, count, into) => { await file.read(c.offset + start * size, count * size, into); });
}

/**
 * A side over the tensor's bytes in canonical order, `fetchBytes(start, count, into)` reading
 * elements [start, start + count) into a chunk buffer; values decoded as the mode asks
 * (float32 handed out without a copy, halves decoded by table, the rest as float64: quantized
 * integers dequantized there, a chunk at a time).
 */
function bytesSide(t: TensorInfo, pool: FilePool, chunkElements: number, mode: Mode, littleEndian: boolean, fetchBytes: (start: number, count: number, into: Uint8Array) => Promise<void>, onDispose?: () => void): Side {
  const n = numel(t.shape);
  const elements = elementsOf(t);
  const size = elements.size;
  const per = Math.min(chunkElements, Math.max(n, 1));
  const f32 = mode === 'f32' && elements.dtype !== 'F32';
  const f64 = mode === 'f64' && !(elements.dtype === 'F64' && littleEndian && HOST_LITTLE_ENDIAN);
  const owned = [pool.acquire(per * size), pool.acquire(per * size)];
  if (f32 || f64) owned.push(pool.acquire(per * (f32 ? 4 : 8)));
  const bytes = [owned[0].subarray(0, per * size), owned[1].subarray(0, per * size)];
  const fetch = (start: number, count: number, slot: number) => fetchBytes(start, count, bytes[slot]);
  const dispose = (): void => { pool.release(...owned); onDispose?.(); };
  if (mode === 'f32') {
    const out = f32 ? new Float32Array(owned[2].buffer, owned[2].byteOffset, per) : new Float32Array(0);
    // Quantized integers (float32Streams): dequantized into the float32 chunk.
    const dequantize = elements.decodeFloat32;
    if (dequantize) return { fetch, dispose, values: (slot, start, count) => { dequantize(bytes[slot].subarray(0, count * size), start, count, out); return out.subarray(0, count); } };
    const dtype = elements.dtype as 'F32' | 'F16' | 'BF16';
    return { fetch, dispose, values: (slot, _start, count) => decodeFloat32(bytes[slot], dtype, count, out) };
  }
  if (!f64) return { fetch, dispose, values: (slot, _start, count) => new Float64Array(owned[slot].buffer, owned[slot].byteOffset, count) };
  const out = new Float64Array(owned[2].buffer, owned[2].byteOffset, per);
  return {
    fetch, dispose,
    values: (slot, start, count) => { elements.decode(bytes[slot].subarray(0, count * size), start, count, out); return out.subarray(0, count); },
  };
}

/** The open file of each of a view's runs (or its one file). */
async function openView(view: StridedView, pool: FilePool): Promise<RandomAccessFile | RandomAccessFile[]> {
  return view.runs ? Promise.all(view.runs.map((r) => pool.get(r.file))) : pool.get(view.file);
}

/** A side whose values are float64 filled by `fill` (a band reader), two chunk buffers from the pool. */
function float64Side(pool: FilePool, n: number, chunkElements: number, fill: (start: number, count: number, out: Float64Array) => Promise<void>, onDispose?: () => void): Side {
  const per = Math.min(chunkElements, Math.max(n, 1));
  const owned = [pool.acquire(per * 8), pool.acquire(per * 8)];
  const out = owned.map((b) => new Float64Array(b.buffer, b.byteOffset, per));
  return {
    fetch: (start, count, slot) => fill(start, count, out[slot]),
    values: (slot, _start, count) => out[slot].subarray(0, count),
    dispose: () => { pool.release(...owned); onDispose?.(); },
  };
}

type DeflatedLocation = Extract<TensorInfo['location'], { kind: 'deflated' }>;

/**
 * A deflated member: in C order it is inflated as it is read, a chunk at a time (reads only go
 * forward). In another order (a Fortran-order array) it is inflated to a temporary file first,
 * read from there through the blocked transpose, and the file removed when the side is done.
 */
async function deflatedSide(t: TensorInfo, loc: DeflatedLocation, pool: FilePool, chunkElements: number, mode: Mode): Promise<Side> {
  const n = numel(t.shape);
  const size = storedSize(t);
  const region = { file: loc.file, offset: loc.offset, compressedSize: loc.compressedSize, inflatedSize: loc.inflatedSize, what: `zip entry ${loc.member}` };
  if (t.permute) {
    const path = await inflateToFile(region, loc.skip + n * size);
    let file: RandomAccessFile | undefined;
    try {
      file = await RandomAccessFile.open(path);
      const view = viewOf({ ...t, location: { kind: 'contiguous', file: path, offset: loc.skip, littleEndian: loc.littleEndian } })!;
      const reader = new ViewReader(view, file, t.name);
      const opened = file;
      return float64Side(pool, n, chunkElements, async (start, count, out) => reader.read(start, count, out), () => {
        void opened.close().catch(() => undefined).finally(() => rmSync(path, { force: true }));
      });
    } catch (e) {
      await file?.close().catch(() => undefined);
      rmSync(path, { force: true });
      throw e;
    }
  }
  const reader = new InflateReader(region, await pool.get(loc.file));
  return bytesSide(t, pool, chunkElements, mode, loc.littleEndian, async (start, count, into) => {
    if (reader.position === 0 && loc.skip > 0) await reader.skip(loc.skip);
    if (reader.position !== loc.skip + start * size) throw new Error(`tensor ${t.name}: deflated data read out of order`);
    await reader.read(into, count * size);
    // After the last chunk: the member must end where it says (a zip bomb is refused as a whole read would).
    if (start + count === n) await reader.finish();
  }, () => reader.close());
}

/** Reads the whole tensor into a Float64Array in canonical layout. */
export async function readTensor(t: TensorInfo, pool: FilePool, token?: CancelToken): Promise<Float64Array> {
  const n = numel(t.shape);
  if (n > MAX_MATERIALISED_ELEMENTS) throw new CheckpointError(fileOf(t), `tensor ${t.name} has ${n} elements, too many to load at once`);
  const size = storedSize(t);
  const loc = t.location;
  if (loc.kind !== 'loader') {
    // The side checks the tensor (extent, repeats) before anything the size of the tensor is allocated.
    const side = await openSide(t, pool, DEFAULT_CHUNK_ELEMENTS, 'f64', token);
    try {
      reserveMemory(n * 8);
      const values = new Float64Array(n);
      for (let start = 0; start < n; start += DEFAULT_CHUNK_ELEMENTS) {
        throwIfCancelled(token);
        const count = Math.min(DEFAULT_CHUNK_ELEMENTS, n - start);
        await side.fetch(start, count, 0);
        values.set(side.values(0, start, count) as Float64Array, start);
      }
      return values;
    } finally {
      side.dispose();
    }
  }
  reserveMemory(n * 8);
  const raw = await loc.load();
  if (raw.byteLength < n * size) throw new CheckpointError(fileOf(t), `tensor ${t.name} has ${raw.byteLength} bytes of data, needs ${n * size}`);
  let values: Float64Array = new Float64Array(n);
  elementsOf(t).decode(raw, 0, n, values);
  if (t.permute) values = permute(values, t.storedShape ?? t.shape, t.permute);
  return values;
}

function fileOf(t: TensorInfo): string {
  const loc = t.location;
  return loc.kind === 'loader' ? t.name : loc.kind === 'segmented' ? loc.segments[0]?.file ?? t.name : loc.file;
}

/** Transposes C-order `values` of `stored` shape so that canonical axis k is stored axis perm[k]. */
export function permute(values: Float64Array, stored: number[], perm: number[]): Float64Array {
  const rank = stored.length;
  const outShape = perm.map((p) => stored[p]);
  const storedStrides = new Array(rank);
  let s = 1;
  for (let k = rank - 1; k >= 0; k--) { storedStrides[k] = s; s *= stored[k]; }
  const stridesInOut = perm.map((p) => storedStrides[p]);
  const out = new Float64Array(values.length);
  const idx = new Array(rank).fill(0);
  for (let i = 0; i < values.length; i++) {
    let p = 0;
    for (let k = 0; k < rank; k++) p += idx[k] * stridesInOut[k];
    out[i] = values[p];
    for (let k = rank - 1; k >= 0; k--) { if (++idx[k] < outShape[k]) break; idx[k] = 0; }
  }
  return out;
}
