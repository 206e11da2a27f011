// Half-float decoding: every F16/BF16 value must come out exactly as PyTorch reads it,
// subnormals, ±0, ±Inf and NaN included, by every path the engine uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeInto, decodeFloat32, halfTable, bfloat16Table } from '../../src/core/tensor/dtypes';
import { DType } from '../../src/core/common/types';
import { createArena } from '../../src/core/tensor/simd';

const FIXTURE = join(__dirname, '../fixtures/dtypes/halfs.safetensors');

/** The fixture's tensors as raw bytes (header parsed by hand: 8-byte length, JSON). */
function fixture(): Record<string, { dtype: DType; bytes: Uint8Array }> {
  const buf = readFileSync(FIXTURE);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: DType; data_offsets: [number, number] }>;
  const out: Record<string, { dtype: DType; bytes: Uint8Array }> = {};
  for (const [k, v] of Object.entries(header)) {
    // Copy into a fresh buffer so typed-array views are aligned.
    out[k] = { dtype: v.dtype, bytes: new Uint8Array(buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])) };
  }
  return out;
}

const f32 = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);

/** Independent float16 → float64 reference, by arithmetic on the fields. */
function refHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m / 1024 * 2 ** -14;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1024 + m) / 1024 * 2 ** (e - 15);
}

function same(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

test('float16 values decode exactly as PyTorch reads them, subnormals, ±0, ±Inf and NaN included', () => {
  const fx = fixture();
  const expected = f32(fx.f16_as_f32.bytes);
  const count = expected.length;
  assert.ok(count > 600);
  const out64 = new Float64Array(count);
  decodeInto(fx.f16.bytes, 'F16', true, count, out64);
  const out32 = decodeFloat32(fx.f16.bytes, 'F16', count, new Float32Array(count));
  for (let i = 0; i < count; i++) {
    assert.ok(same(out64[i], expected[i]), `F16 element ${i}: ${out64[i]} vs torch ${expected[i]}`);
    assert.ok(same(out32[i], expected[i]), `F16 (float32 path) element ${i}: ${out32[i]} vs torch ${expected[i]}`);
  }
});

test('bfloat16 values decode exactly as PyTorch reads them', () => {
  const fx = fixture();
  const expected = f32(fx.bf16_as_f32.bytes);
  const count = expected.length;
  const out64 = new Float64Array(count);
  decodeInto(fx.bf16.bytes, 'BF16', true, count, out64);
  const out32 = decodeFloat32(fx.bf16.bytes, 'BF16', count, new Float32Array(count));
  for (let i = 0; i < count; i++) {
    assert.ok(same(out64[i], expected[i]), `BF16 element ${i}: ${out64[i]} vs torch ${expected[i]}`);
    assert.ok(same(out32[i], expected[i]), `BF16 (float32 path) element ${i}`);
  }
});

test('all 65536 float16 bit patterns match an independent decoder', () => {
  const t = halfTable();
  for (let h = 0; h < 65536; h++) assert.ok(same(t[h], refHalf(h)), `pattern 0x${h.toString(16)}: ${t[h]} vs ${refHalf(h)}`);
  assert.equal(t[0x0001], 2 ** -24); // smallest subnormal
  assert.equal(t[0x03ff], 1023 * 2 ** -24); // largest subnormal
  assert.equal(t[0x7bff], 65504); // largest finite
  assert.ok(Object.is(t[0x8000], -0));
});

test('all 65536 bfloat16 bit patterns are the top half of the float32 with the same bits', () => {
  const t = bfloat16Table();
  const dv = new DataView(new ArrayBuffer(4));
  for (let h = 0; h < 65536; h++) {
    dv.setUint32(0, h << 16);
    assert.ok(same(t[h], dv.getFloat32(0)), `pattern 0x${h.toString(16)}`);
  }
  assert.equal(t[0x3f80], 1);
  assert.equal(t[0x7f80], Infinity);
  assert.ok(Number.isNaN(t[0x7fc0]));
});

test('big-endian and unaligned half floats decode to the same values as aligned little-endian ones', () => {
  const fx = fixture();
  const le = fx.f16.bytes;
  const count = le.byteLength / 2;
  const be = new Uint8Array(le.byteLength + 1).subarray(1); // odd offset: not 2-aligned
  for (let i = 0; i < count; i++) { be[2 * i] = le[2 * i + 1]; be[2 * i + 1] = le[2 * i]; }
  for (const dtype of ['F16', 'BF16'] as const) {
    const a = new Float64Array(count), b = new Float64Array(count);
    decodeInto(le, dtype, true, count, a);
    decodeInto(be, dtype, false, count, b);
    for (let i = 0; i < count; i++) assert.ok(same(a[i], b[i]), `${dtype} element ${i}`);
  }
});

test('float32 chunks are handed out without a copy when aligned, and copied when not', () => {
  const src = new Uint8Array(new Float32Array([1.5, -2, 3.25]).buffer);
  const view = decodeFloat32(src, 'F32', 3, new Float32Array(3));
  assert.equal(view.buffer, src.buffer);
  assert.deepEqual([...view], [1.5, -2, 3.25]);
  const odd = new Uint8Array(13).subarray(1);
  odd.set(src);
  const copy = decodeFloat32(odd, 'F32', 3, new Float32Array(3));
  assert.notEqual(copy.buffer, odd.buffer);
  assert.deepEqual([...copy], [1.5, -2, 3.25]);
});

test('the SIMD decoders (chunks in a WebAssembly arena) give every float16 and bfloat16 pattern exactly', () => {
  const arena = createArena();
  assert.ok(arena, 'this Node has WebAssembly SIMD');
  const src = arena.take()!, dst = arena.take()!;
  const bits = new Uint16Array(src.buffer, src.byteOffset, 65536);
  for (let h = 0; h < 65536; h++) bits[h] = h;
  const raw = new Uint8Array(src.buffer, src.byteOffset, 65536 * 2);
  const out = new Float32Array(dst.buffer, dst.byteOffset, 65536);
  for (const [dtype, table] of [['F16', halfTable()], ['BF16', bfloat16Table()]] as const) {
    out.fill(12345);
    const got = decodeFloat32(raw, dtype, 65536, out);
    assert.equal(got.buffer, dst.buffer);
    for (let h = 0; h < 65536; h++) assert.ok(same(got[h], table[h]), `${dtype} 0x${h.toString(16)}: ${got[h]} vs ${table[h]}`);
    // An odd count and an odd offset: the last elements go through the table.
    const part = decodeFloat32(raw.subarray(2 * 1001), dtype, 7, out.subarray(3));
    for (let k = 0; k < 7; k++) assert.ok(same(part[k], table[1001 + k]), `${dtype} tail ${k}`);
  }
});
