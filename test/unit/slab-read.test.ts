// Chunked or compressed HDF5 datasets are read a box at a time (slabRead.ts): the values are
// exactly those of the whole-tensor transpose for every permutation of ranks 1-4, with bands far
// smaller than the tensor; boxes stay inside the dataset, and a band a whole number of chunks
// wide reads each chunk once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TensorInfo } from '../../src/core/common/types';
import { SlabReader } from '../../src/core/tensor/slabRead';

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** A dataset whose element i (C order of `stored`) is i, read by boxes; records the boxes. */
function dataset(stored: number[], chunks: number[], perm: number[]): { t: TensorInfo; boxes: Array<[number[], number[]]> } {
  const boxes: Array<[number[], number[]]> = [];
  const strides = stored.map((_, k) => stored.slice(k + 1).reduce((a, b) => a * b, 1));
  const read = async (start: number[], count: number[], into: Uint8Array): Promise<Uint8Array> => {
    boxes.push([start, count]);
    start.forEach((s, k) => assert.ok(s >= 0 && count[k] >= 1 && s + count[k] <= stored[k], `box ${start}/${count} inside ${stored}`));
    const n = count.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    const idx = count.map(() => 0);
    for (let i = 0; i < n; i++) {
      out[i] = idx.reduce((acc, x, k) => acc + (start[k] + x) * strides[k], 0);
      for (let k = count.length - 1; k >= 0; k--) { if (++idx[k] < count[k]) break; idx[k] = 0; }
    }
    const bytes = new Uint8Array(out.buffer);
    if (into.byteLength >= bytes.byteLength) { into.set(bytes); return into.subarray(0, bytes.byteLength); }
    return bytes;
  };
  const t: TensorInfo = { name: 'w', dtype: 'F32', shape: perm.map((p) => stored[p]), storedShape: stored, permute: perm, location: { kind: 'slabs', file: 'x.h5', chunks, littleEndian: true, read } };
  return { t, boxes };
}

function expected(stored: number[], perm: number[]): number[] {
  const shape = perm.map((p) => stored[p]);
  const strides = stored.map((_, k) => stored.slice(k + 1).reduce((a, b) => a * b, 1));
  const n = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let rem = i, off = 0;
    for (let a = shape.length - 1; a >= 0; a--) { off += (rem % shape[a]) * strides[perm[a]]; rem = Math.floor(rem / shape[a]); }
    out.push(off);
  }
  return out;
}

test('every permutation of shapes up to rank 4 reads as the transpose, whatever the band and chunk sizes', async () => {
  for (const stored of [[7], [5, 9], [4, 1, 6], [2, 3, 4, 5], [3, 3, 2, 4]]) {
    const n = stored.reduce((a, b) => a * b, 1);
    for (const perm of permutations(stored.length)) {
      for (const band of [1, 5, 13, 1 << 20]) {
        for (const chunks of [stored.map(() => 1), stored.map((d) => Math.max(1, d >> 1)), stored]) {
          const { t } = dataset(stored, chunks, perm);
          const r = new SlabReader(t, band, band * 2);
          const out = new Float64Array(n);
          for (let s = 0; s < n; s += 4) { const c = Math.min(4, n - s); const part = new Float64Array(c); await r.read(s, c, part); out.set(part, s); }
          assert.deepEqual([...out], expected(stored, perm), `stored ${stored} perm ${perm} band ${band} chunks ${chunks}`);
        }
      }
    }
  }
});

test('a Keras kernel [in, out] read as [out, in] takes bands a whole number of chunks wide: each chunk is read once', async () => {
  const stored = [40, 36], chunks = [8, 6];
  const { t, boxes } = dataset(stored, chunks, [1, 0]);
  const r = new SlabReader(t, 40 * 13, 40 * 13);
  const out = new Float64Array(40 * 36);
  await r.read(0, out.length, out);
  assert.deepEqual([...out], expected(stored, [1, 0]));
  // 13 rows would fit a band; 12 (two chunks of 6) are taken, so no chunk is in two bands.
  assert.deepEqual(boxes.map(([s, c]) => [s[1], c[1]]), [[0, 12], [12, 12], [24, 12]]);
  assert.ok(boxes.every(([s, c]) => s[0] === 0 && c[0] === 40));
});

test('a read that gives the wrong number of bytes is refused, naming the file and the tensor', async () => {
  const t: TensorInfo = { name: 'w', dtype: 'F32', shape: [4, 4], location: { kind: 'slabs', file: 'x.h5', chunks: [2, 2], littleEndian: true, read: async () => new Uint8Array(12) } };
  await assert.rejects(new SlabReader(t).read(0, 16, new Float64Array(16)), (e: Error) => e.message.includes('x.h5') && /tensor w: a read of 16 elements gave 12 bytes/.test(e.message));
});
