// Permuted and strided tensors are read in canonical order a band at a time (viewRead.ts): the
// values are exactly those of the whole-tensor transpose, for every permutation of ranks 1-4,
// strided views with gaps and repeats, and bands and reads far smaller than the tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RandomAccessFile } from '../../src/core/common/fileio';
import { StridedView, ViewReader } from '../../src/core/tensor/viewRead';

const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-view-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** Stored elements 0..count-1 as float32 values equal to their index (+ a header to offset them). */
function storage(count: number, header = 12): string {
  const f = join(dir, `s${count}_${header}.bin`);
  const b = Buffer.alloc(header + count * 4);
  for (let i = 0; i < count; i++) b.writeFloatLE(i, header + i * 4);
  writeFileSync(f, b);
  return f;
}

/** What canonical element i is: the stored index, computed the slow obvious way. */
function expected(v: StridedView): number[] {
  const n = v.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let rem = i, off = v.base;
    for (let a = v.shape.length - 1; a >= 0; a--) { off += (rem % v.shape[a]) * v.strides[a]; rem = Math.floor(rem / v.shape[a]); }
    out.push(off);
  }
  return out;
}

async function readAll(v: StridedView, sizes: { band: number; span: number }, chunk: number): Promise<number[]> {
  const f = await RandomAccessFile.open(v.file);
  try {
    const r = new ViewReader(v, f, 't', sizes);
    const n = v.shape.reduce((a, b) => a * b, 1);
    const out = new Float64Array(n);
    for (let s = 0; s < n; s += chunk) { const c = Math.min(chunk, n - s); const part = new Float64Array(c); r.read(s, c, part); out.set(part, s); }
    return [...out];
  } finally { await f.close(); }
}

const SIZES = [{ band: 7, span: 5 }, { band: 64, span: 16 }, { band: 1 << 20, span: 1 << 20 }];

test('every permutation of shapes up to rank 4 reads as the transpose, whatever the band and read sizes', async () => {
  for (const stored of [[5], [3, 7], [4, 1, 6], [2, 3, 4, 5], [3, 3, 2, 4]]) {
    const n = stored.reduce((a, b) => a * b, 1);
    const file = storage(n);
    const storedStrides = stored.map((_, k) => stored.slice(k + 1).reduce((a, b) => a * b, 1));
    for (const perm of permutations(stored.length)) {
      const v: StridedView = { file, dtype: 'F32', littleEndian: true, offset: 12, base: 0, shape: perm.map((p) => stored[p]), strides: perm.map((p) => storedStrides[p]), storedElements: n };
      for (const sizes of SIZES) {
        for (const chunk of [1, 5, 64]) {
          assert.deepEqual(await readAll(v, sizes, chunk), expected(v), `stored ${stored} perm ${perm} band ${sizes.band} span ${sizes.span} chunk ${chunk}`);
        }
      }
    }
  }
});

test('strided views (gaps, an offset, repeats by stride 0, channels-last) read exactly their elements', async () => {
  const file = storage(400);
  const views: Array<Pick<StridedView, 'base' | 'shape' | 'strides'>> = [
    { base: 3, shape: [5, 6], strides: [20, 2] }, // every other column of a slice
    { base: 0, shape: [4, 3, 2, 2], strides: [12, 1, 6, 3] }, // channels-last conv [O, I, kh, kw]
    { base: 7, shape: [3, 4], strides: [0, 1] }, // expand
    { base: 0, shape: [6, 5], strides: [1, 60] }, // a transposed slice with a huge row stride
    { base: 11, shape: [], strides: [] }, // a scalar
  ];
  for (const p of views) {
    const v: StridedView = { file, dtype: 'F32', littleEndian: true, offset: 12, storedElements: 400, ...p };
    for (const sizes of SIZES) assert.deepEqual(await readAll(v, sizes, 4), expected(v), JSON.stringify(p));
  }
});

test('a view that reaches past its storage is refused, naming the tensor', async () => {
  const file = storage(10);
  const f = await RandomAccessFile.open(file);
  try {
    assert.throws(() => new ViewReader({ file, dtype: 'F32', littleEndian: true, offset: 12, base: 0, shape: [4, 4], strides: [1, 4], storedElements: 10 }, f, 'w'),
      /tensor w reaches element 15 of a storage of 10/);
  } finally { await f.close(); }
});

test('stored elements split over three files (a TF.js weight spanning shards) read as the transpose, reads crossing the file edges', async () => {
  const stored = [6, 7, 5];
  const n = 210;
  // Elements 0..n-1 cut after 37 and 151 elements; each run behind a header of a different length.
  const cuts = [0, 37, 151, n];
  const runs = cuts.slice(0, -1).map((from, i) => {
    const to = cuts[i + 1], header = 3 + i * 5;
    const b = Buffer.alloc(header + (to - from) * 4 + 9);
    for (let e = from; e < to; e++) b.writeFloatLE(e, header + (e - from) * 4);
    const file = join(dir, `run${i}.bin`);
    writeFileSync(file, b);
    return { file, offset: header, length: (to - from) * 4 };
  });
  const storedStrides = [35, 5, 1];
  const files = await Promise.all(runs.map((r) => RandomAccessFile.open(r.file)));
  try {
    for (const perm of permutations(3)) {
      const v: StridedView = { file: runs[0].file, dtype: 'F32', littleEndian: true, offset: runs[0].offset, base: 0, shape: perm.map((p) => stored[p]), strides: perm.map((p) => storedStrides[p]), storedElements: n, runs };
      for (const sizes of SIZES) {
        const r = new ViewReader(v, files, 't', sizes);
        const out = new Float64Array(n);
        r.read(0, n, out);
        assert.deepEqual([...out], expected(v), `perm ${perm} band ${sizes.band} span ${sizes.span}`);
      }
    }
    // A run shorter than its file claims to be is refused, naming that file.
    assert.throws(() => new ViewReader({ file: runs[0].file, dtype: 'F32', littleEndian: true, offset: 0, base: 0, shape: [n], strides: [1], storedElements: n, runs: [runs[0], { ...runs[1], length: 10_000 }, runs[2]] }, files, 'w'),
      (e: Error) => e.message.includes('run1.bin') && /truncated/.test(e.message));
  } finally { await Promise.all(files.map((f) => f.close())); }
});
