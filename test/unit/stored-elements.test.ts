// Quantized storage decodes a run of stored elements at a time, wherever a run starts and ends
// (a chunk, a shard run, a tile of the blocked transpose): every run gives, bit for bit, the
// float32 a whole-tensor dequantization gives (Math.fround(q * scale[c] + offset[c]), c the
// channel along the quantized axis), per tensor and per channel, through the 256-entry table for
// long runs of 8-bit integers and the multiply-add otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Affine, STORED_INT_BYTES, StoredInt, TensorInfo } from '../../src/core/common/types';
import { elementsOf } from '../../src/core/tensor/storedElements';
import { quantizedStorage } from '../../src/core/formats/quantized';
import { CheckpointError } from '../../src/core/common/errors';

/** The whole tensor dequantized the straightforward way (what the readers did before streaming). */
function whole(q: ArrayLike<number>, shape: number[], a: Affine): Float32Array {
  const out = new Float32Array(q.length);
  const axis = a.axis ?? 0;
  const inner = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  for (let i = 0; i < q.length; i++) {
    const c = a.scale.length > 1 ? Math.floor(i / inner) % shape[axis] : 0;
    out[i] = q[i] * a.scale[c] + a.offset[c];
  }
  return out;
}

const INTS: Record<StoredInt, (n: number) => ArrayLike<number> & { buffer: ArrayBufferLike; byteLength: number }> = {
  uint8: (n) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255),
  int8: (n) => Int8Array.from({ length: n }, (_, i) => ((i * 37 + 11) & 255) - 128),
  uint16: (n) => Uint16Array.from({ length: n }, (_, i) => (i * 7919) & 65535),
  int16: (n) => Int16Array.from({ length: n }, (_, i) => ((i * 7919) & 65535) - 32768),
  int32: (n) => Int32Array.from({ length: n }, (_, i) => (i * 104729) - 5e6),
};

const CASES: { shape: number[]; axis?: number; perChannel: boolean }[] = [
  { shape: [6, 2000], perChannel: false },          // per tensor
  { shape: [6, 2000], axis: 0, perChannel: true },  // long runs (the table, for 8-bit)
  { shape: [40, 3, 3, 8], axis: 3, perChannel: true }, // channels last: a channel per element
  { shape: [8, 3, 3, 40], axis: 0, perChannel: true }, // short runs of 360
];

for (const kind of Object.keys(INTS) as StoredInt[]) {
  test(`${kind}: any split into runs decodes to the whole dequantization, bit for bit`, () => {
    for (const { shape, axis, perChannel } of CASES) {
      const n = shape.reduce((x, y) => x * y, 1);
      const channels = perChannel ? shape[axis!] : 1;
      const scale = Array.from({ length: channels }, (_, c) => Math.fround(0.0123 * (c + 1) / 7));
      const affine: Affine = { scale, offset: scale.map((s, c) => -((c % 5) - 2) * s), ...(perChannel ? { axis } : {}) };
      const q = INTS[kind](n);
      const bytes = new Uint8Array(q.buffer, 0, q.byteLength);
      const t: TensorInfo = { name: 'w', dtype: 'F32', shape, storage: quantizedStorage(kind, affine, shape, 'f', 'w'), location: { kind: 'contiguous', file: 'f', offset: 0, littleEndian: true } };
      const e = elementsOf(t);
      assert.equal(e.size, STORED_INT_BYTES[kind]);
      const want = whole(q, shape, affine);
      // Runs start at any byte alignment (a loader's bytes, a tile inside a read buffer).
      const padded = new Uint8Array(bytes.byteLength + 3);
      for (const [run, shift] of [[n, 0], [n, 1], [1000, 0], [1000, 3], [357, 0], [357, 2], [1, 1]]) {
        padded.fill(0).set(bytes, shift);
        for (const out of [new Float64Array(n), new Float32Array(n)]) {
          for (let first = 0; first < n; first += run) {
            const count = Math.min(run, n - first);
            const src = padded.subarray(shift + first * e.size, shift + (first + count) * e.size);
            if (out instanceof Float64Array) e.decode(src, first, count, out, first);
            else e.decodeFloat32!(src, first, count, out, first);
          }
          for (let i = 0; i < n; i++) if (out[i] !== want[i]) assert.fail(`${kind} [${shape}] axis ${axis} runs of ${run} at byte ${shift}: element ${i} is ${out[i]}, whole gives ${want[i]}`);
        }
      }
    }
  });
}

test('8-bit per-channel runs decoded in any order (tiles of a transpose, two readers of one tensor) give each channel its own values', () => {
  // The tensor keeps its channel table between runs: a run of another channel must not see the last one's.
  const shape = [6, 2000], n = 12000;
  for (const kind of ['int8', 'uint8'] as StoredInt[]) {
    const scale = Array.from({ length: 6 }, (_, c) => Math.fround(0.0123 * (c + 1) / 7));
    const affine: Affine = { scale, offset: scale.map((s, c) => -((c % 5) - 2) * s), axis: 0 };
    const q = INTS[kind](n);
    const bytes = new Uint8Array(q.buffer, 0, q.byteLength);
    const t: TensorInfo = { name: 'w', dtype: 'F32', shape, storage: quantizedStorage(kind, affine, shape, 'f', 'w'), location: { kind: 'contiguous', file: 'f', offset: 0, littleEndian: true } };
    const e = elementsOf(t);
    const want = whole(q, shape, affine);
    const firsts = Array.from({ length: Math.ceil(n / 1500) }, (_, k) => k * 1500);
    for (const order of [firsts.slice().reverse(), firsts.filter((_, k) => k % 2 === 0).concat(firsts.filter((_, k) => k % 2 === 1))]) {
      for (const out of [new Float64Array(n), new Float32Array(n)]) {
        for (const first of order) {
          const count = Math.min(1500, n - first);
          if (out instanceof Float64Array) e.decode(bytes.subarray(first, first + count), first, count, out, first);
          else e.decodeFloat32!(bytes.subarray(first, first + count), first, count, out, first);
        }
        for (let i = 0; i < n; i++) if (out[i] !== want[i]) assert.fail(`${kind} runs in order ${order.join(',')}: element ${i} is ${out[i]}, whole gives ${want[i]}`);
      }
    }
  }
});

test('plain float tensors keep their float32 path: no dequantization into float32 is offered for them', () => {
  for (const dtype of ['F32', 'F16', 'BF16', 'F64'] as const) {
    const t: TensorInfo = { name: 'w', dtype, shape: [4], location: { kind: 'contiguous', file: 'f', offset: 0, littleEndian: true } };
    assert.equal(elementsOf(t).decodeFloat32, undefined, dtype);
    assert.equal(elementsOf(t).dtype, dtype);
  }
});

test('a per-channel quantization whose scales do not match its axis is refused, naming the file and the tensor', () => {
  assert.throws(() => quantizedStorage('int8', { scale: [1, 2, 3], offset: [0, 0, 0], axis: 0 }, [4, 2], 'model.tflite', 'dense/w'),
    (e: unknown) => e instanceof CheckpointError && e.file === 'model.tflite' && /dense\/w has 3 quantization scales for its axis 0 of shape \[4, 2\]/.test(e.message));
  assert.throws(() => quantizedStorage('int8', { scale: [1, 2], offset: [0, 0], axis: 5 }, [4, 2], 'model.tflite', 'dense/w'), CheckpointError);
});

/** Blocked quantization the straightforward way: element (o, x, j) takes scale index (o * ceil(D / B) + floor(x / B)) * inner + j. */
function wholeBlocked(q: ArrayLike<number>, shape: number[], a: Affine): Float32Array {
  const axis = a.axis ?? 0, d = shape[axis], b = a.block!, blocks = Math.ceil(d / b);
  const inner = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const j = i % inner, x = Math.floor(i / inner) % d, o = Math.floor(i / (inner * d));
    const c = (o * blocks + Math.floor(x / b)) * inner + j;
    out[i] = q[i] * a.scale[c] + a.offset[c];
  }
  return out;
}

test('blocked quantization: any split into runs decodes to the whole dequantization, bit for bit, blocks that do not divide the axis included', () => {
  const cases: { shape: number[]; axis: number; block: number }[] = [
    { shape: [6, 10, 7], axis: 1, block: 4 },   // a middle axis, a last block of 2
    { shape: [12, 5], axis: 0, block: 4 },      // a MatMul weight [in, out] blocked along in
    { shape: [5, 12], axis: 1, block: 5 },      // the last axis, a last block of 2
    { shape: [300, 64], axis: 1, block: 32 },   // long enough for several runs per row
  ];
  for (const kind of ['int8', 'uint8', 'int16', 'int32'] as StoredInt[]) {
    for (const { shape, axis, block } of cases) {
      const n = shape.reduce((x, y) => x * y, 1);
      const sshape = shape.map((d, k) => (k === axis ? Math.ceil(d / block) : d));
      const m = sshape.reduce((x, y) => x * y, 1);
      const scale = Array.from({ length: m }, (_, c) => Math.fround(0.0123 * ((c % 13) + 1) / 7));
      const affine: Affine = { scale, offset: scale.map((s, c) => -((c % 5) - 2) * s), axis, block };
      const q = INTS[kind](n);
      const bytes = new Uint8Array(q.buffer, 0, q.byteLength);
      const t: TensorInfo = { name: 'w', dtype: 'F32', shape, storage: quantizedStorage(kind, affine, shape, 'f', 'w'), location: { kind: 'contiguous', file: 'f', offset: 0, littleEndian: true } };
      const e = elementsOf(t);
      const want = wholeBlocked(q, shape, affine);
      for (const run of [n, 1000, 357, 33, 1]) {
        for (const out of [new Float64Array(n), new Float32Array(n)]) {
          for (let first = 0; first < n; first += run) {
            const count = Math.min(run, n - first);
            const src = bytes.slice(first * e.size, (first + count) * e.size);
            if (out instanceof Float64Array) e.decode(src, first, count, out, first);
            else e.decodeFloat32!(src, first, count, out, first);
          }
          for (let i = 0; i < n; i++) if (out[i] !== Math.fround(want[i])) assert.fail(`${kind} [${shape}] axis ${axis} block ${block}, runs of ${run}: element ${i} is ${out[i]}, whole gives ${want[i]}`);
        }
      }
    }
  }
});

test('a blocked quantization whose scales do not match its blocks is refused, naming the file and the tensor', () => {
  // [8, 6] in blocks of 4 along axis 1: ceil(6 / 4) = 2 blocks, so 16 scales; 8 (floor) are refused.
  assert.throws(() => quantizedStorage('int8', { scale: new Array(8).fill(1), offset: new Array(8).fill(0), axis: 1, block: 4 }, [8, 6], 'model.onnx', 'w'),
    (e: unknown) => e instanceof CheckpointError && e.file === 'model.onnx' && /w has 8 quantization scales for blocks of 4 along its axis 1 of shape \[8, 6\]/.test(e.message));
  assert.doesNotThrow(() => quantizedStorage('int8', { scale: new Array(16).fill(1), offset: new Array(16).fill(0), axis: 1, block: 4 }, [8, 6], 'model.onnx', 'w'));
});
