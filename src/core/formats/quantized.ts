// Quantized weights are judged as the floats they stand for: the file's integers (or float16
// halves) are turned into float32 on read (TF.js `quantization`, TFLite per-tensor or
// per-channel scale and zero point, TFLite float16 weights that a DEQUANTIZE op widens).
// Comparing the integers themselves would say nothing about the network: two quantizations of
// the same layer use different scales, and integer tensors are never judged.
import { TensorInfo, TensorLocation } from '../common/types';
import { RandomAccessFile } from '../common/fileio';
import { decodeFloat32 } from '../tensor/dtypes';

export type StoredInt = 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32';

export const STORED_INT_BYTES: Record<StoredInt, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4 };

/**
 * value = q * scale[c] + offset[c], c the index along `axis` (per-channel quantization) or 0.
 * TF.js: scale, offset = min. TFLite: scale, offset = -zero_point * scale.
 */
export interface Affine { scale: number[]; offset: number[]; axis?: number }

function readInt(dv: DataView, kind: StoredInt, i: number): number {
  switch (kind) {
    case 'uint8': return dv.getUint8(i);
    case 'int8': return dv.getInt8(i);
    case 'uint16': return dv.getUint16(i * 2, true);
    case 'int16': return dv.getInt16(i * 2, true);
    case 'int32': return dv.getInt32(i * 4, true);
  }
}

/** Little-endian float32 bytes of the dequantized values of `raw` (stored shape `shape`). */
export function dequantize(raw: Uint8Array, kind: StoredInt, shape: readonly number[], affine: Affine): Uint8Array {
  const n = Math.floor(raw.byteLength / STORED_INT_BYTES[kind]);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  const { scale, offset } = affine;
  if (scale.length <= 1) {
    const s = scale[0] ?? 1, o = offset[0] ?? 0;
    for (let i = 0; i < n; i++) out[i] = readInt(dv, kind, i) * s + o;
  } else {
    // Channel of element i along `axis`: (i / inner) % channels, inner = product of later dims.
    const axis = affine.axis ?? 0;
    let inner = 1;
    for (let k = axis + 1; k < shape.length; k++) inner *= shape[k];
    const channels = shape[axis] ?? scale.length;
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / inner) % channels;
      out[i] = readInt(dv, kind, i) * scale[c] + offset[c];
    }
  }
  return new Uint8Array(out.buffer);
}

/** A location whose loader reads the stored integers with `read` and hands out float32. */
export function dequantizedLocation(read: () => Promise<Uint8Array>, kind: StoredInt, storedShape: readonly number[], affine: Affine): TensorLocation {
  return { kind: 'loader', littleEndian: true, load: async () => dequantize(await read(), kind, storedShape, affine) };
}

/**
 * A location whose loader reads `count` stored float16 (or bfloat16) values with `read` and hands
 * out their float32 (exact: every half is a float32). For weights a converter quantized to float16
 * (TF.js `quantization: {dtype: float16}`, TFLite's float16 quantization, ONNX float16/bfloat16
 * initializers): the model computes in float32.
 */
export function float16Location(read: () => Promise<Uint8Array>, count: number, half: 'F16' | 'BF16' = 'F16'): TensorLocation {
  return {
    kind: 'loader', littleEndian: true, load: async () => {
      const raw = await read();
      // A half needs 2-byte alignment to be viewed as Uint16Array.
      const src = raw.byteOffset % 2 === 0 ? raw : raw.slice();
      const out = decodeFloat32(src, half, count, new Float32Array(count));
      return new Uint8Array(out.buffer, out.byteOffset, count * 4);
    },
  };
}

/** The `storage` note of a tensor stored as `dtype` (shown beside its F32). */
export function storageOf(dtype: string, bytesPerElement: number): NonNullable<TensorInfo['storage']> {
  return { dtype, bytesPerElement };
}

/** A reader of `bytes` bytes of `path` at `start`, for a loader location (opens the file for each read). */
export function fileBytes(path: string, start: number, bytes: number): () => Promise<Uint8Array> {
  return async () => {
    const f = await RandomAccessFile.open(path);
    try { return await f.read(start, bytes); } finally { await f.close(); }
  };
}
