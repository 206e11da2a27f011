import { DType, DTYPE_SIZE } from '../common/types';
import { arenaOf } from './simd';

// Decoding of stored elements into numbers. Half floats (F16, BF16) go through 64K-entry
// tables built once on first use: in JS a lookup beats bit twiddling per element, and every
// half value is exactly representable in float32, so a Float32Array table loses nothing.
// (Chunks in a WebAssembly arena are decoded by SIMD instead: see decodeFloat32.)

/** True on little-endian hosts (all that Node runs on in practice); typed-array views are host-endian. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;
let bf16Table: Float32Array | undefined;

/** float16 bit pattern → value, for all 65536 patterns (subnormals, ±Inf and NaN included). */
export function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m ? NaN : s * Infinity;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (f16Table = t);
}

/** bfloat16 bit pattern → value: bfloat16 is the top half of a float32. */
export function bfloat16Table(): Float32Array {
  if (bf16Table) return bf16Table;
  const t = new Float32Array(65536);
  const u = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) u[h] = h << 16;
  return (bf16Table = t);
}

/** Number of elements of a shape; throws a RangeError when it is not a safe integer. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d}`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new RangeError(`shape [${shape.join(', ')}] has too many elements`);
  }
  return n;
}

export function byteLengthOf(dtype: DType, shape: readonly number[]): number {
  return numel(shape) * DTYPE_SIZE[dtype];
}

/**
 * Decodes `count` elements of `dtype` from `src` (starting at byte 0) into `out` at `outOffset`.
 * Little-endian fast paths use typed-array views when aligned.
 */
export function decodeInto(src: Uint8Array, dtype: DType, littleEndian: boolean, count: number, out: Float64Array, outOffset = 0): void {
  const size = DTYPE_SIZE[dtype];
  if (src.byteLength < count * size) throw new RangeError('short buffer');
  const aligned = (src.byteOffset % size) === 0;
  if (littleEndian && aligned && HOST_LITTLE_ENDIAN) {
    switch (dtype) {
      case 'F32': { const v = new Float32Array(src.buffer, src.byteOffset, count); for (let i = 0; i < count; i++) out[outOffset + i] = v[i]; return; }
      case 'F64': { out.set(new Float64Array(src.buffer, src.byteOffset, count), outOffset); return; }
      case 'F16': { const t = halfTable(); const v = new Uint16Array(src.buffer, src.byteOffset, count); for (let i = 0; i < count; i++) out[outOffset + i] = t[v[i]]; return; }
      case 'BF16': { const t = bfloat16Table(); const v = new Uint16Array(src.buffer, src.byteOffset, count); for (let i = 0; i < count; i++) out[outOffset + i] = t[v[i]]; return; }
      case 'I32': { const v = new Int32Array(src.buffer, src.byteOffset, count); for (let i = 0; i < count; i++) out[outOffset + i] = v[i]; return; }
      case 'I16': { const v = new Int16Array(src.buffer, src.byteOffset, count); for (let i = 0; i < count; i++) out[outOffset + i] = v[i]; return; }
      case 'I64': { const v = new BigInt64Array(src.buffer, src.byteOffset, count); for (let i = 0; i < count; i++) out[outOffset + i] = Number(v[i]); return; }
      default: break;
    }
  }
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case 'F64': for (let i = 0; i < count; i++) out[outOffset + i] = dv.getFloat64(i * 8, le); return;
    case 'F32': for (let i = 0; i < count; i++) out[outOffset + i] = dv.getFloat32(i * 4, le); return;
    case 'F16': { const t = halfTable(); for (let i = 0; i < count; i++) out[outOffset + i] = t[dv.getUint16(i * 2, le)]; return; }
    case 'BF16': { const t = bfloat16Table(); for (let i = 0; i < count; i++) out[outOffset + i] = t[dv.getUint16(i * 2, le)]; return; }
    case 'I64': for (let i = 0; i < count; i++) out[outOffset + i] = Number(dv.getBigInt64(i * 8, le)); return;
    case 'I32': for (let i = 0; i < count; i++) out[outOffset + i] = dv.getInt32(i * 4, le); return;
    case 'I16': for (let i = 0; i < count; i++) out[outOffset + i] = dv.getInt16(i * 2, le); return;
    case 'I8': for (let i = 0; i < count; i++) out[outOffset + i] = dv.getInt8(i); return;
    case 'U8': for (let i = 0; i < count; i++) out[outOffset + i] = src[i]; return;
    case 'BOOL': for (let i = 0; i < count; i++) out[outOffset + i] = src[i] ? 1 : 0; return;
  }
}

/**
 * Decodes `count` little-endian F32, F16 or BF16 elements from `src` into a Float32Array,
 * exactly (every F16/BF16 value is a float32). `src` must be 2-byte aligned for the half
 * types (tensorData's chunk buffers are). Returns a view of `src` itself for aligned F32:
 * no copy at all.
 */
export function decodeFloat32(src: Uint8Array, dtype: 'F32' | 'F16' | 'BF16', count: number, out: Float32Array): Float32Array {
  if (src.byteLength < count * DTYPE_SIZE[dtype]) throw new RangeError('short buffer');
  if (dtype === 'F32') {
    if (src.byteOffset % 4 === 0) return new Float32Array(src.buffer, src.byteOffset, count);
    new Uint8Array(out.buffer, out.byteOffset, count * 4).set(src.subarray(0, count * 4));
    return out.subarray(0, count);
  }
  const t = dtype === 'F16' ? halfTable() : bfloat16Table();
  const v = new Uint16Array(src.buffer, src.byteOffset, count);
  let i = 0;
  // In a WebAssembly arena (tensorData's chunk buffers) SIMD decodes 4 at a time, about
  // 10x faster than the table; the table does the rest, and everything elsewhere.
  const arena = src.buffer === out.buffer ? arenaOf(src.buffer) : undefined;
  if (arena && count >= 4) {
    i = count & ~3;
    (dtype === 'F16' ? arena.f16ToF32 : arena.bf16ToF32)(src.byteOffset, out.byteOffset, i);
  }
  for (; i < count; i++) out[i] = t[v[i]];
  return out.subarray(0, count);
}

export function isFloatDType(d: DType): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';
}
