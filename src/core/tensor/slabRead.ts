// Reads a tensor whose storage is read a box at a time (a chunked or compressed HDF5 dataset,
// location kind 'slabs') in canonical order, a band at a time: never the whole dataset.
//
// A band is a box of the canonical shape: fixed indices on the leading axes, a range of one axis
// (the split axis), whole later axes; its elements are consecutive in canonical order. The box
// is read in stored order (one hyperslab of the stored shape) and permuted into the band (a
// blocked transpose when the tensor is a Keras kernel). The range is a whole number of the
// storage's chunks along that axis when a chunk-wide band fits: every chunk is then inflated once.
import { DTYPE_SIZE, TensorInfo } from '../common/types';
import { CheckpointError } from '../common/errors';
import { decodeInto, numel } from './dtypes';
import { unravel } from './viewRead';

type SlabLocation = Extract<TensorInfo['location'], { kind: 'slabs' }>;

/** Canonical elements a band aims at (16 MB of float64). */
const BAND_ELEMENTS = 1 << 21;
/** A band may grow to this many elements to be one chunk wide (each chunk inflated once). */
const MAX_ALIGNED_BAND = 1 << 22;

export class SlabReader {
  private readonly shape: number[];
  private readonly stored: number[];
  private readonly perm: number[];
  private readonly loc: SlabLocation;
  private readonly size: number;
  private band = new Float64Array(0);
  private scratch = new Float64Array(0);
  /** The bytes of a band, shared with the thread that reads them (one buffer, reused). */
  private shared: Uint8Array = new Uint8Array(0);
  private bandStart = 0;
  private bandEnd = 0;

  /** `bandElements` (tests): smaller bands, to cross their edges on small tensors. */
  constructor(private readonly t: TensorInfo, private readonly bandElements = BAND_ELEMENTS, private readonly maxAligned = MAX_ALIGNED_BAND) {
    if (t.location.kind !== 'slabs') throw new Error(`SlabReader: ${t.name} is not read by slabs`);
    this.loc = t.location;
    this.stored = t.storedShape ?? t.shape;
    this.perm = t.permute ?? this.stored.map((_, k) => k);
    this.shape = this.perm.map((p) => this.stored[p]);
    this.size = DTYPE_SIZE[t.dtype];
  }

  /** Canonical elements [start, start + count) into `out`, `start` moving forward. */
  async read(start: number, count: number, out: Float64Array): Promise<void> {
    let done = 0;
    while (done < count) {
      const at = start + done;
      if (at < this.bandStart || at >= this.bandEnd) await this.loadBand(at);
      const k = Math.min(count - done, this.bandEnd - at);
      out.set(this.band.subarray(at - this.bandStart, at - this.bandStart + k), done);
      done += k;
    }
  }

  private async loadBand(at: number): Promise<void> {
    const { shape, perm } = this;
    const rank = shape.length;
    const idx = unravel(at, shape);
    // Split axis: the first whose later axes fit in a band (the last axis always does).
    let k = 0, inner = numel(shape.slice(1));
    while (k < rank - 1 && inner > this.bandElements) { k++; inner /= shape[k]; }
    let w = 1;
    if (rank > 0) {
      const chunk = Math.max(1, Math.min(this.loc.chunks[perm[k]] ?? 1, shape[k]));
      const fit = Math.max(1, Math.floor(this.bandElements / inner));
      w = chunk * inner <= Math.max(this.maxAligned, this.bandElements) ? chunk * Math.max(1, Math.floor(fit / chunk)) : fit;
    }
    const j0 = rank > 0 ? idx[k] - (idx[k] % w) : 0;
    const rows = rank > 0 ? Math.min(w, shape[k] - j0) : 1;
    // The canonical box, and the stored hyperslab it is.
    const boxStart = shape.map((_, a) => (a < k ? idx[a] : a === k ? j0 : 0));
    const boxCount = shape.map((d, a) => (a < k ? 1 : a === k ? rows : d));
    const start = new Array<number>(rank), count = new Array<number>(rank);
    perm.forEach((p, a) => { start[p] = boxStart[a]; count[p] = boxCount[a]; });
    const n = rows * inner;
    if (this.shared.byteLength < n * this.size) this.shared = new Uint8Array(new SharedArrayBuffer(n * this.size));
    const bytes = await this.loc.read(start, count, this.shared.subarray(0, n * this.size));
    if (bytes.byteLength !== n * this.size) {
      throw new CheckpointError(this.loc.file, `tensor ${this.t.name}: a read of ${n} elements gave ${bytes.byteLength} bytes`);
    }
    if (this.band.length < n) this.band = new Float64Array(n);
    const identity = perm.every((p, a) => p === a);
    if (identity) {
      decodeInto(bytes, this.t.dtype, this.loc.littleEndian, n, this.band);
    } else {
      if (this.scratch.length < n) this.scratch = new Float64Array(n);
      decodeInto(bytes, this.t.dtype, this.loc.littleEndian, n, this.scratch);
      permuteInto(this.scratch, count, perm, this.band);
    }
    let first = 0;
    for (let a = 0; a < rank; a++) first = first * shape[a] + boxStart[a];
    this.bandStart = first;
    this.bandEnd = first + n;
  }
}

/**
 * C-order `values` of shape `stored`, permuted (canonical axis a is stored axis perm[a]) into
 * `out`. Rank 2 is a blocked transpose; higher ranks walk the output keeping the source offset.
 */
function permuteInto(values: Float64Array, stored: number[], perm: number[], out: Float64Array): void {
  const rank = stored.length;
  const strides = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) { strides[a] = s; s *= stored[a]; }
  const shape = perm.map((p) => stored[p]);
  const st = perm.map((p) => strides[p]);
  if (rank === 2) {
    const [r, c] = shape, [s0, s1] = st;
    const B = 64;
    for (let i0 = 0; i0 < r; i0 += B) {
      for (let j0 = 0; j0 < c; j0 += B) {
        const i1 = Math.min(r, i0 + B), j1 = Math.min(c, j0 + B);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[i * c + j] = values[i * s0 + j * s1];
      }
    }
    return;
  }
  const n = values.length;
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1, len = shape[last], sl = st[last];
  let off = 0;
  for (let i = 0; i < n; i += len) {
    for (let e = 0; e < len; e++) out[i + e] = values[off + e * sl];
    for (let a = last - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) { off += st[a]; break; }
      off -= (shape[a] - 1) * st[a];
      idx[a] = 0;
    }
  }
}

