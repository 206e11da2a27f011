// How a tensor's stored elements become numbers, a run of them at a time: plain elements by their
// dtype, float16 storage as halves, quantized integers dequantized as they are decoded (per-tensor
// or per-channel scale and offset, the channel found from the element's stored index). Every reader
// of stored bytes (contiguous chunks, shard runs, the tiles of a blocked transpose, a loader's
// bytes) decodes through this, so quantized tensors stream like any other: no whole-tensor copy.
import { Affine, DType, DTYPE_SIZE, STORED_INT_BYTES, StoredInt, TensorInfo } from '../common/types';
import { decodeInto, HOST_LITTLE_ENDIAN } from './dtypes';

export interface StoredElements {
  /** Bytes per stored element. */
  size: number;
  /**
   * The stored type when the byte paths may decode it as a plain dtype (plain tensors; float16
   * storage is F16, bfloat16 BF16): F32/F16/BF16 take the float32 fast paths. Undefined for quantized integers.
   */
  dtype?: DType;
  /**
   * Stored elements [first, first + count) (stored order, C order of the stored shape), their
   * bytes at the start of `src`, into `out` from `outOffset` as float64.
   */
  decode(src: Uint8Array, first: number, count: number, out: Float64Array, outOffset?: number): void;
  /**
   * Quantized integers only (plain elements have none: decodeFloat32 in tensorData makes their
   * float32): the same values into a Float32Array, which holds them exactly (they are float32 by
   * definition), for the float32 chunks the SIMD kernel sums.
   */
  decodeFloat32?(src: Uint8Array, first: number, count: number, out: Float32Array, outOffset?: number): void;
}

/** The stored elements of `t` (little-endian or not, as its location says). */
export function elementsOf(t: TensorInfo): StoredElements {
  const le = t.location.littleEndian;
  const s = t.storage;
  const dtype: DType = storedDType(t) ?? t.dtype;
  if (!s || !('affine' in s)) {
    return { size: storedSize(t), dtype, decode: (src, _first, count, out, at = 0) => decodeInto(src, dtype, le, count, out, at) };
  }
  const kind = s.dtype;
  if (s.affine.block !== undefined) {
    // Blocked quantization on a path of its own: the per-channel one below stays as it was.
    const b = blockPlan(s.affine, t.storedShape ?? t.shape);
    const decode = (src: Uint8Array, first: number, count: number, out: Float64Array | Float32Array, at = 0) => dequantizeBlocked(src, kind, le, first, count, b, out, at);
    return { size: storedSize(t), decode, decodeFloat32: decode };
  }
  const plan = affinePlan(s.affine, t.storedShape ?? t.shape);
  // The tensor's own table: a reader decoding it a run at a time (a tile of 512 elements) builds it once per channel, not per run.
  const lut: ChannelTable = { table: new Float32Array(STORED_INT_BYTES[kind] === 1 ? 256 : 0), built: -1 };
  const decode = (src: Uint8Array, first: number, count: number, out: Float64Array | Float32Array, at = 0) => dequantizeInto(src, kind, le, first, count, plan, lut, out, at);
  return { size: storedSize(t), decode, decodeFloat32: decode };
}

/** Bytes per stored element of `t` (in the file: quantized storage counts its integers). */
export function storedSize(t: TensorInfo): number {
  return t.storage?.bytesPerElement ?? DTYPE_SIZE[t.dtype];
}

/** The stored type when it is a plain dtype (float16 storage: F16, bfloat16: BF16), undefined for quantized integers. */
export function storedDType(t: TensorInfo): DType | undefined {
  const s = t.storage;
  return !s ? t.dtype : s.dtype === 'float16' ? 'F16' : s.dtype === 'bfloat16' ? 'BF16' : undefined;
}

interface AffinePlan { scale: number[]; offset: number[]; /** Stored elements per channel step, and the channel count (1: per-tensor). */ inner: number; channels: number }

function affinePlan(a: Affine, stored: readonly number[]): AffinePlan {
  if (a.scale.length <= 1) return { scale: [a.scale[0] ?? 1], offset: [a.offset[0] ?? 0], inner: 1, channels: 1 };
  const axis = a.axis ?? 0;
  return { scale: a.scale, offset: a.offset, inner: innerOf(stored, axis), channels: stored[axis] ?? a.scale.length };
}

/** Stored elements per step along `axis` (the product of the axes after it, at least 1). */
function innerOf(stored: readonly number[], axis: number): number {
  let inner = 1;
  for (let k = axis + 1; k < stored.length; k++) inner *= stored[k];
  return Math.max(inner, 1);
}

/**
 * value = Math.fround(q * scale[c] + offset[c]): the float32 the model computes with (what a
 * Float32Array holding the dequantized values gives, bit for bit), c = (index / inner) % channels.
 */
function dequantizeInto(src: Uint8Array, kind: StoredInt, le: boolean, first: number, count: number, p: AffinePlan, lut: ChannelTable, out: Float64Array | Float32Array, at: number): void {
  if (STORED_INT_BYTES[kind] === 1 && (p.channels === 1 || p.inner >= TABLE_MIN_RUN)) { byTable(src, kind === 'int8', first, count, p, lut, out, at); return; }
  const q = intsOf(src, kind, le, count);
  if (p.channels === 1) {
    const s = p.scale[0], o = p.offset[0];
    for (let i = 0; i < count; i++) out[at + i] = Math.fround(q[i] * s + o);
    return;
  }
  let c = firstChannel(first, p);
  if (p.inner === 1) {
    // A channel per element (ONNX per-column weights, TFLite depthwise axis 3): a wrapping
    // counter, no division per element (4M int8 per column: 7.5 -> 3.0 ns per element).
    const { scale, offset, channels } = p;
    for (let i = 0; i < count; i++) {
      out[at + i] = Math.fround(q[i] * scale[c] + offset[c]);
      if (++c === channels) c = 0;
    }
    return;
  }
  // A run of elements of one channel at a time (a whole filter): the channel's scale and offset
  // are looked up once per run, the channel advancing with a wrapping counter.
  let end = Math.min(count, p.inner - (first % p.inner));
  for (let i = 0; i < count; end = Math.min(count, end + p.inner)) {
    const s = p.scale[c], o = p.offset[c];
    for (; i < end; i++) out[at + i] = Math.fround(q[i] * s + o);
    if (++c === p.channels) c = 0;
  }
}

/** The channel of stored element `first`. */
function firstChannel(first: number, p: AffinePlan): number {
  return Math.floor(first / p.inner) % p.channels;
}

interface BlockPlan { scale: number[]; offset: number[]; /** Stored elements per step along the axis, the axis's length, its blocks and their length. */ inner: number; length: number; blocks: number; block: number }

function blockPlan(a: Affine, stored: readonly number[]): BlockPlan {
  const axis = a.axis ?? 0;
  const length = stored[axis], block = a.block!;
  return { scale: a.scale, offset: a.offset, inner: innerOf(stored, axis), length, blocks: Math.ceil(length / block), block };
}

/**
 * Blocked dequantization: element (outer o, axis index x, inner j) takes the scale and offset of
 * index (o * blocks + floor(x / block)) * inner + j. The three counters advance with the element,
 * no division per element.
 */
function dequantizeBlocked(src: Uint8Array, kind: StoredInt, le: boolean, first: number, count: number, p: BlockPlan, out: Float64Array | Float32Array, at: number): void {
  const q = intsOf(src, kind, le, count);
  const { inner, length, blocks, block, scale, offset } = p;
  let j = first % inner;
  const step = Math.floor(first / inner);
  let x = step % length, o = Math.floor(step / length);
  let row = (o * blocks + Math.floor(x / block)) * inner;
  for (let i = 0; i < count; i++) {
    const c = row + j;
    out[at + i] = Math.fround(q[i] * scale[c] + offset[c]);
    if (++j === inner) {
      j = 0;
      if (++x === length) { x = 0; o++; }
      row = (o * blocks + Math.floor(x / block)) * inner;
    }
  }
}

/** Runs of one channel at least this long are dequantized through a 256-entry table of the channel. */
const TABLE_MIN_RUN = 1024;

/** A tensor's 256-entry table and the channel it holds (-1: none yet). */
interface ChannelTable { table: Float32Array; built: number }

/**
 * 8-bit integers through a table of their 256 values (one channel's, built when a run of another
 * channel starts): a lookup per element instead of a multiply-add and a rounding (a 250M-element
 * int8 pair: 4.3 -> 2.2 ns per element, most of its compare). Entries are Math.fround(q * s + o):
 * the same values.
 */
function byTable(src: Uint8Array, signed: boolean, first: number, count: number, p: AffinePlan, lut: ChannelTable, out: Float64Array | Float32Array, at: number): void {
  const table = lut.table;
  // Into float32 (the streamed chunks) four bytes are loaded at a time, from the first aligned
  // byte on: 1.36 -> 0.82 ns per element in a loop alone. words[j] holds bytes head + 4j .. + 3.
  const head = (4 - (src.byteOffset & 3)) & 3;
  const words = out instanceof Float32Array && HOST_LITTLE_ENDIAN && count - head >= 4 ? new Uint32Array(src.buffer, src.byteOffset + head, (count - head) >> 2) : undefined;
  // Runs of one channel (the whole call when per tensor), the channel advancing with a wrapping counter.
  let c = firstChannel(first, p);
  let end = p.channels === 1 ? count : Math.min(count, p.inner - (first % p.inner));
  for (let i = 0; i < count; end = Math.min(count, end + p.inner), c = c + 1 === p.channels ? 0 : c + 1) {
    if (c !== lut.built) {
      const s = p.scale[c], o = p.offset[c];
      for (let b = 0; b < 256; b++) table[b] = Math.fround((signed ? (b << 24) >> 24 : b) * s + o);
      lut.built = c;
    }
    // Separate loops so that each sees one kind of output array.
    if (words) {
      const o32 = out as Float32Array;
      for (; i < end && (i < head || ((i - head) & 3) !== 0); i++) o32[at + i] = table[src[i]];
      for (; i + 4 <= end; i += 4) {
        const w = words[(i - head) >> 2];
        o32[at + i] = table[w & 255]; o32[at + i + 1] = table[(w >>> 8) & 255];
        o32[at + i + 2] = table[(w >>> 16) & 255]; o32[at + i + 3] = table[w >>> 24];
      }
      for (; i < end; i++) o32[at + i] = table[src[i]];
    } else if (out instanceof Float32Array) for (; i < end; i++) out[at + i] = table[src[i]];
    else for (; i < end; i++) out[at + i] = table[src[i]];
  }
}

type Ints = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array;

/** The first `count` stored integers of `src` as a typed array (a view when aligned, little-endian on a little-endian host). */
function intsOf(src: Uint8Array, kind: StoredInt, le: boolean, count: number): Ints {
  const size = STORED_INT_BYTES[kind];
  if (src.byteLength < count * size) throw new RangeError('short buffer');
  if (size > 1 && (le !== HOST_LITTLE_ENDIAN || src.byteOffset % size !== 0)) {
    // Unaligned (a loader's bytes may be) or foreign-endian: decoded one by one.
    const dv = new DataView(src.buffer, src.byteOffset, count * size);
    const out = kind === 'int32' ? new Int32Array(count) : kind === 'int16' ? new Int16Array(count) : new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = kind === 'int32' ? dv.getInt32(i * 4, le) : kind === 'int16' ? dv.getInt16(i * 2, le) : dv.getUint16(i * 2, le);
    return out;
  }
  switch (kind) {
    case 'uint8': return new Uint8Array(src.buffer, src.byteOffset, count);
    case 'int8': return new Int8Array(src.buffer, src.byteOffset, count);
    case 'uint16': return new Uint16Array(src.buffer, src.byteOffset, count);
    case 'int16': return new Int16Array(src.buffer, src.byteOffset, count);
    case 'int32': return new Int32Array(src.buffer, src.byteOffset, count);
  }
}
