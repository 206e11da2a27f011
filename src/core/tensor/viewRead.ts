// Reads a tensor stored in another element order than the canonical one (a Keras or TF.js kernel,
// an ONNX MatMul weight, a Fortran-order .npy, a strided torch view) in canonical order, a band
// at a time, with positioned reads: never the whole tensor in memory, whatever its size.
//
// Every such tensor is a strided view of a run of stored elements: canonical element
// (i0, i1, ...) is stored element base + i0*s0 + i1*s1 + .... Two ways to fill a band:
// - transposed views (axis 0 is the fastest in storage: every kernel stored [in, out]): a band is
//   W whole slices of axis 0; for each of the M other indices the W elements are one run of the
//   file, read and scattered into the band (a blocked transpose: W × M tiles);
// - any other view: the band is cut in rows of the last axis, grouped while the bytes they span
//   stay few and dense enough to read at once (channels-last convs, slices); a row that is too
//   sparse is read element by element.
// Reads are synchronous (a pread each, like the pair threads'): a band is thousands of them.
// The stored elements may be split over several files (a TF.js weight spanning shards, `runs`):
// a read that crosses from one file to the next is split there.
import { ByteRun, DTYPE_SIZE, DType, TensorInfo } from '../common/types';
import { CheckpointError } from '../common/errors';
import { readSync } from 'node:fs';
import { describeFsError, RandomAccessFile } from '../common/fileio';
import { decodeInto, numel } from './dtypes';
import { elementsOf, StoredElements } from './storedElements';

export interface StridedView {
  file: string;
  dtype: DType;
  littleEndian: boolean;
  /** Byte offset in the file of stored element 0. */
  offset: number;
  /** Stored element of canonical element 0. */
  base: number;
  /** Canonical shape and, per canonical axis, the stride in stored elements. */
  shape: number[];
  strides: number[];
  /** Stored elements the view may touch (bounds check). */
  storedElements: number;
  /** When the stored bytes are split over files: the runs, in order (`file` and `offset` are then the first's). */
  runs?: ByteRun[];
  /**
   * How stored elements decode when they are not plain `dtype` (quantized integers, float16
   * storage): each read run is dequantized as it is decoded, by its stored index.
   */
  elements?: StoredElements;
}

/** The tensor as a strided view of stored elements, when its bytes lie in one file (else undefined). */
export function viewOf(t: TensorInfo): StridedView | undefined {
  const loc = t.location;
  const stored = t.storedShape ?? t.shape;
  let strides: number[], base = 0, storedElements: number;
  if (loc.kind === 'contiguous') {
    strides = new Array(stored.length);
    for (let k = stored.length - 1, s = 1; k >= 0; k--) { strides[k] = s; s *= stored[k]; }
    storedElements = numel(stored);
  } else if (loc.kind === 'strided') {
    strides = loc.strides;
    base = loc.storageOffset;
    storedElements = loc.storageElements;
  } else if (loc.kind === 'segmented' && loc.segments.length > 0) {
    return { ...viewOf({ ...t, location: { kind: 'contiguous', file: loc.segments[0].file, offset: loc.segments[0].offset, littleEndian: loc.littleEndian } })!, runs: loc.segments };
  } else {
    return undefined;
  }
  const perm = t.permute ?? stored.map((_, k) => k);
  return {
    file: loc.file, dtype: t.dtype, littleEndian: loc.littleEndian, offset: loc.offset, base,
    shape: perm.map((p) => stored[p]), strides: perm.map((p) => strides[p]), storedElements,
    ...(t.storage ? { elements: elementsOf(t) } : {}),
  };
}

/** Canonical elements per band (16 MB of float64). */
const BAND_ELEMENTS = 1 << 21;
/** Stored elements one read may span (4 MB of float32). */
const MAX_SPAN = 1 << 20;
/** A group of runs is read at once only when at least this share of what it spans is wanted. */
const MIN_DENSITY = 0.5;

/** Canonical-order reads of one view: `read(start, count, out)` with `start` moving forward. */
export class ViewReader {
  private readonly n: number;
  private readonly band: Float64Array;
  private bandStart = 0;
  private bandEnd = 0;
  private readonly bytes: Uint8Array;
  private readonly scratch: Float64Array;
  private readonly size: number;
  /** The runs the stored bytes are made of, with a descriptor each and where each starts in the whole. */
  private readonly runs: Array<ByteRun & { fd: number; start: number }>;

  private readonly maxSpan: number;

  /** `sizes` (tests): smaller bands and reads, to cross their edges on small tensors. */
  /** `files`: the open file of each run (one file when the view has no runs). */
  constructor(private readonly v: StridedView, files: RandomAccessFile | RandomAccessFile[], private readonly name: string, sizes?: { band: number; span: number }) {
    this.n = numel(v.shape);
    this.size = v.elements?.size ?? DTYPE_SIZE[v.dtype];
    checkExtent(v, name);
    const need = v.storedElements * this.size;
    const runs = v.runs ?? [{ file: v.file, offset: v.offset, length: need }];
    const opened = Array.isArray(files) ? files : [files];
    let start = 0;
    this.runs = runs.map((r, i) => {
      const f = opened[i];
      if (!f || r.offset + r.length > f.size) {
        throw new CheckpointError(r.file, `tensor ${name} needs bytes ${r.offset}..${r.offset + r.length} but the file has ${f?.size ?? 0} (truncated?)`);
      }
      const run = { ...r, fd: f.fd, start };
      start += r.length;
      return run;
    });
    if (start < need) throw new CheckpointError(v.file, `tensor ${name} needs ${need} bytes but its ${runs.length} file(s) hold ${start}`);
    this.maxSpan = sizes?.span ?? MAX_SPAN;
    this.band = new Float64Array(Math.min(sizes?.band ?? BAND_ELEMENTS, Math.max(this.n, 1)));
    this.bytes = new Uint8Array(this.maxSpan * this.size);
    this.scratch = new Float64Array(this.maxSpan);
  }

  /** Canonical elements [start, start + count) into `out` (forward order: each band is read once). */
  read(start: number, count: number, out: Float64Array): void {
    let done = 0;
    while (done < count) {
      const at = start + done;
      if (at < this.bandStart || at >= this.bandEnd) this.loadBand(at);
      const k = Math.min(count - done, this.bandEnd - at);
      out.set(this.band.subarray(at - this.bandStart, at - this.bandStart + k), done);
      done += k;
    }
  }

  /** Loads the band that holds canonical element `at`. Bands tile the tensor the same way every time. */
  private loadBand(at: number): void {
    const { shape, strides } = this.v;
    const m = numel(shape.slice(1));
    const transposed = shape.length >= 2 && m > 0 && m <= this.band.length && strides.slice(1).every((s, k) => s > strides[0] || shape[k + 1] === 1);
    if (transposed) {
      const w = Math.max(1, Math.floor(this.band.length / m));
      const i0 = Math.floor(at / m) - (Math.floor(at / m) % w);
      const rows = Math.min(w, shape[0] - i0);
      this.bandStart = i0 * m;
      this.bandEnd = (i0 + rows) * m;
      this.transposedBand(i0, rows, m);
    } else {
      this.bandStart = at - (at % this.band.length);
      this.bandEnd = Math.min(this.n, this.bandStart + this.band.length);
      this.rowsBand(this.bandStart, this.bandEnd - this.bandStart);
    }
  }

  /** Band of canonical slices i0..i0+rows of axis 0: one run of `rows` elements per other index. */
  private transposedBand(i0: number, rows: number, m: number): void {
    const { shape, strides } = this.v;
    const s0 = strides[0];
    const runSpan = (rows - 1) * s0 + 1;
    const offsets = restOffsets(shape, strides, this.v.base + i0 * s0, m);
    let r = 0;
    while (r < m) {
      // Runs r..g-1 read at once while they are dense enough and fit.
      let lo = offsets[r], hi = offsets[r] + runSpan, g = r + 1;
      while (g < m) {
        const nlo = Math.min(lo, offsets[g]), nhi = Math.max(hi, offsets[g] + runSpan);
        if (nhi - nlo > this.maxSpan || (g + 1 - r) * rows < MIN_DENSITY * (nhi - nlo)) break;
        lo = nlo; hi = nhi; g++;
      }
      if (hi - lo <= this.maxSpan) {
        this.fetch(lo, hi - lo);
        for (let q = r; q < g; q++) {
          const o = offsets[q] - lo;
          for (let w = 0; w < rows; w++) this.band[w * m + q] = this.scratch[o + w * s0];
        }
      } else {
        // One run wider than a read (a huge stride): element by element.
        for (let w = 0; w < rows; w++) this.band[w * m + r] = this.element(offsets[r] + w * s0);
      }
      r = g;
    }
  }

  /** Band of `count` canonical elements from `start`, in rows of the last axis. */
  private rowsBand(start: number, count: number): void {
    const { shape, strides } = this.v;
    const rank = shape.length;
    if (rank === 0) { this.band[0] = this.element(this.v.base); return; }
    const len = shape[rank - 1], sl = strides[rank - 1];
    const idx = unravel(start, shape);
    let done = 0;
    while (done < count) {
      // A group of (parts of) rows, read at once while dense enough and within this.maxSpan.
      const rowsOff: number[] = [], rowsFirst: number[] = [], rowsLen: number[] = [];
      let lo = Infinity, hi = -Infinity, wanted = 0;
      while (done + wanted < count) {
        const first = idx[rank - 1];
        // A row part never spans more than one read.
        const fits = sl > 0 ? Math.floor((this.maxSpan - 1) / sl) + 1 : len;
        const k = Math.min(len - first, count - done - wanted, fits);
        let off = this.v.base;
        for (let a = 0; a < rank; a++) off += idx[a] * strides[a];
        const nlo = Math.min(lo, off), nhi = Math.max(hi, off + (k - 1) * sl + 1);
        if (rowsOff.length > 0 && (nhi - nlo > this.maxSpan || (wanted + k) < MIN_DENSITY * (nhi - nlo))) break;
        rowsOff.push(off); rowsFirst.push(done + wanted); rowsLen.push(k);
        lo = nlo; hi = nhi; wanted += k;
        advance(idx, shape, k);
      }
      if (hi - lo <= this.maxSpan) {
        this.fetch(lo, hi - lo);
        for (let q = 0; q < rowsOff.length; q++) {
          const o = rowsOff[q] - lo, at = rowsFirst[q];
          for (let e = 0; e < rowsLen[q]; e++) this.band[at + e] = this.scratch[o + e * sl];
        }
      } else {
        const at = rowsFirst[0];
        for (let e = 0; e < rowsLen[0]; e++) this.band[at + e] = this.element(rowsOff[0] + e * sl);
      }
      done += wanted;
    }
  }

  /** Stored elements [first, first + count) into `scratch`, as float64. */
  private fetch(first: number, count: number): void {
    const bytes = count * this.size;
    this.readStored(first * this.size, bytes);
    if (this.v.elements) this.v.elements.decode(this.bytes.subarray(0, bytes), first, count, this.scratch);
    else decodeInto(this.bytes.subarray(0, bytes), this.v.dtype, this.v.littleEndian, count, this.scratch);
  }

  /** Bytes [at, at + length) of the stored bytes into `this.bytes`, from the run(s) that hold them. */
  private readStored(at: number, length: number): void {
    if (this.runs.length === 1) { readFully(this.runs[0].fd, this.runs[0].file, this.bytes, length, this.runs[0].offset + at, 0); return; }
    let done = 0;
    for (const r of this.runs) {
      if (done === length) break;
      const pos = at + done;
      if (pos >= r.start + r.length) continue;
      const k = Math.min(length - done, r.start + r.length - pos);
      readFully(r.fd, r.file, this.bytes, k, r.offset + (pos - r.start), done);
      done += k;
    }
  }

  private element(stored: number): number {
    this.fetch(stored, 1);
    return this.scratch[0];
  }
}

/** Refuses a view that reaches outside its stored elements (offsets from an untrusted header). */
function checkExtent(v: StridedView, name: string): void {
  let max = v.base;
  for (let k = 0; k < v.shape.length; k++) {
    if (v.strides[k] < 0) throw new CheckpointError(v.file, `tensor ${name}: negative stride`);
    if (v.shape[k] > 0) max += (v.shape[k] - 1) * v.strides[k];
  }
  const n = numel(v.shape);
  if (n > 0 && max >= v.storedElements) {
    throw new CheckpointError(v.file, `tensor ${name} reaches element ${max} of a storage of ${v.storedElements}`);
  }
  // A view may repeat stored elements (stride 0, torch.expand), but a file of a few bytes must
  // not make us work through billions: repeats beyond what a real broadcast needs are refused.
  const span = n === 0 ? 0 : max - v.base + 1;
  if (n > MAX_BROADCAST_ELEMENTS && n > 64 * span) {
    throw new CheckpointError(v.file, `tensor ${name} is a view of ${n} elements over ${span} stored ones (stride 0); refused as too large to expand`);
  }
}

/** Elements of a stride-0 view we expand without question (larger ones must be mostly stored data). */
const MAX_BROADCAST_ELEMENTS = 1 << 22;

/** Stored offset of each combination of the indices of axes 1.. (canonical order), from `base`. */
function restOffsets(shape: number[], strides: number[], base: number, m: number): Float64Array {
  const out = new Float64Array(m);
  const rank = shape.length;
  const idx = new Array(rank).fill(0);
  let off = base;
  for (let r = 0; r < m; r++) {
    out[r] = off;
    for (let a = rank - 1; a >= 1; a--) {
      if (++idx[a] < shape[a]) { off += strides[a]; break; }
      off -= (shape[a] - 1) * strides[a];
      idx[a] = 0;
    }
  }
  return out;
}

/** Index of canonical element `i` of `shape`. */
export function unravel(i: number, shape: number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let a = shape.length - 1; a >= 0; a--) { idx[a] = i % shape[a]; i = Math.floor(i / shape[a]); }
  return idx;
}

/** Moves a canonical index `k` elements forward (k never passes the end of the current row). */
function advance(idx: number[], shape: number[], k: number): void {
  const last = shape.length - 1;
  idx[last] += k;
  for (let a = last; a > 0 && idx[a] >= shape[a]; a--) { idx[a] = 0; idx[a - 1]++; }
}

/** `length` bytes at `position` of the file into `into` from `at`. */
function readFully(fd: number, file: string, into: Uint8Array, length: number, position: number, at: number): void {
  let done = 0;
  while (done < length) {
    let got: number;
    try { got = readSync(fd, into, at + done, length - done, position + done); } catch (e) { throw new CheckpointError(file, describeFsError(e)); }
    if (got === 0) throw new CheckpointError(file, `truncated while reading at byte ${position + done}`);
    done += got;
  }
  RandomAccessFile.bytesRead += length;
}
