import { TensorInfo } from './types';
import { DTYPE_SIZE } from './types';
import { decodeInto, numel } from './dtypes';
import { RandomAccessFile } from './fileio';
import { CheckpointError, CancelToken, throwIfCancelled } from './errors';

/**
 * Reads tensor data described by TensorInfo.location. The only module that turns stored
 * bytes into numbers. Contiguous tensors stream in chunks with positioned reads; strided,
 * permuted or loader-backed tensors are materialised (they are small in practice: Keras
 * kernels, deflated npz members) and then handed out in the same chunked form.
 */
export class FilePool {
  private files = new Map<string, Promise<RandomAccessFile>>();
  get(path: string): Promise<RandomAccessFile> {
    let f = this.files.get(path);
    if (!f) { f = RandomAccessFile.open(path); this.files.set(path, f); }
    return f;
  }
  async closeAll(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    await Promise.all(all.map(async (p) => { try { await (await p).close(); } catch { /* already failed to open */ } }));
  }
}

/** Largest tensor we materialise whole (elements). Larger ones must be contiguous to stream. */
export const MAX_MATERIALISED_ELEMENTS = 1 << 28;
export const DEFAULT_CHUNK_ELEMENTS = 1 << 18;

export interface Chunk { data: Float64Array; start: number; length: number }

/** Yields the tensor's values in canonical order, `chunkElements` at a time (last may be shorter). */
export async function* streamTensor(t: TensorInfo, pool: FilePool, chunkElements = DEFAULT_CHUNK_ELEMENTS, token?: CancelToken): AsyncGenerator<Chunk> {
  const n = numel(t.shape);
  const loc = t.location;
  if (loc.kind === 'contiguous' && !t.permute && !t.dequantize) {
    const file = await pool.get(loc.file);
    const size = DTYPE_SIZE[t.dtype];
    const end = loc.offset + n * size;
    if (end > file.size) throw new CheckpointError(loc.file, `tensor ${t.name} needs bytes ${loc.offset}..${end} but the file has ${file.size} (truncated?)`);
    const bytes = new Uint8Array(chunkElements * size);
    const out = new Float64Array(chunkElements);
    for (let start = 0; start < n; start += chunkElements) {
      throwIfCancelled(token);
      const count = Math.min(chunkElements, n - start);
      const raw = await file.read(loc.offset + start * size, count * size, bytes);
      decodeInto(raw, t.dtype, loc.littleEndian, count, out);
      yield { data: out, start, length: count };
    }
    return;
  }
  const all = await readTensor(t, pool, token);
  for (let start = 0; start < n; start += chunkElements) {
    const count = Math.min(chunkElements, n - start);
    yield { data: all.subarray(start, start + count), start, length: count };
  }
}

/** Reads the whole tensor into a Float64Array in canonical layout. */
export async function readTensor(t: TensorInfo, pool: FilePool, token?: CancelToken): Promise<Float64Array> {
  const n = numel(t.shape);
  if (n > MAX_MATERIALISED_ELEMENTS) throw new CheckpointError(fileOf(t), `tensor ${t.name} has ${n} elements, too many to load at once`);
  const size = DTYPE_SIZE[t.dtype];
  const loc = t.location;
  let values: Float64Array;
  if (loc.kind === 'contiguous') {
    values = new Float64Array(n);
    for await (const c of streamTensor({ ...t, permute: undefined, dequantize: undefined }, pool, DEFAULT_CHUNK_ELEMENTS, token)) values.set(c.data.subarray(0, c.length), c.start);
  } else if (loc.kind === 'loader') {
    const raw = await loc.load();
    if (raw.byteLength < n * size) throw new CheckpointError(fileOf(t), `tensor ${t.name} has ${raw.byteLength} bytes of data, needs ${n * size}`);
    values = new Float64Array(n);
    decodeInto(raw, t.dtype, loc.littleEndian, n, values);
  } else {
    values = await readStrided(t, pool, n, token);
  }
  if (t.dequantize) {
    const { scale, min } = t.dequantize;
    for (let i = 0; i < n; i++) values[i] = values[i] * scale + min;
  }
  if (t.permute) values = permute(values, t.storedShape ?? t.shape, t.permute);
  return values;
}

function fileOf(t: TensorInfo): string {
  return t.location.kind === 'loader' ? t.name : t.location.file;
}

async function readStrided(t: TensorInfo, pool: FilePool, n: number, token?: CancelToken): Promise<Float64Array> {
  const loc = t.location;
  if (loc.kind !== 'strided') throw new Error('unreachable');
  const shape = t.storedShape ?? t.shape;
  const { strides, storageOffset } = loc;
  if (strides.length !== shape.length) throw new CheckpointError(loc.file, `tensor ${t.name}: ${strides.length} strides for ${shape.length} dimensions`);
  // Extent of storage the view touches; must lie inside the storage.
  let maxIndex = storageOffset;
  for (let k = 0; k < shape.length; k++) {
    if (strides[k] < 0) throw new CheckpointError(loc.file, `tensor ${t.name}: negative stride`);
    if (shape[k] > 0) maxIndex += (shape[k] - 1) * strides[k];
  }
  if (n > 0 && maxIndex >= loc.storageElements) {
    throw new CheckpointError(loc.file, `tensor ${t.name} reaches element ${maxIndex} of a storage of ${loc.storageElements}`);
  }
  const span = n === 0 ? 0 : maxIndex - storageOffset + 1;
  const storage = await readTensor({ name: t.name, dtype: t.dtype, shape: [span], location: { kind: 'contiguous', file: loc.file, offset: loc.offset + storageOffset * DTYPE_SIZE[t.dtype], littleEndian: loc.littleEndian } }, pool, token);
  const out = new Float64Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let p = 0;
    for (let k = 0; k < shape.length; k++) p += idx[k] * strides[k];
    out[i] = storage[p];
    for (let k = shape.length - 1; k >= 0; k--) { if (++idx[k] < shape[k]) break; idx[k] = 0; }
  }
  return out;
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
