// The accumulation kernel must give the sums of a plain float64 loop, whatever array type
// the chunks come in, and must skip (and count) NaN/Inf pairs instead of poisoning a layer.
import { assertSumsClose } from './helpers/sumsClose';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateBf16, accumulatePair, emptySums, mergeSums, metricsOf, PairSums } from '../../src/core/tensor/kernels';
import { createArena } from '../../src/core/tensor/simd';

/** Deterministic pseudo-random floats (xorshift), so a failure reproduces. */
function randoms(n: number, seed: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

/** The definition, one element at a time in float64. */
function naive(s: ArrayLike<number>, t: ArrayLike<number>): PairSums {
  const r = emptySums();
  for (let i = 0; i < s.length; i++) {
    const a = s[i], b = t[i];
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      if (!Number.isFinite(a)) r.nonFiniteSource++;
      if (!Number.isFinite(b)) r.nonFiniteTarget++;
      continue;
    }
    r.n++;
    r.sumSqDiff += (a - b) ** 2; r.sumSqSource += a * a; r.sumSqTarget += b * b; r.dot += a * b;
    r.maxAbsDiff = Math.max(r.maxAbsDiff, Math.abs(a - b));
  }
  return r;
}

function close(actual: PairSums, expected: PairSums, what: string): void {
  for (const k of Object.keys(expected) as (keyof PairSums)[]) {
    const a = actual[k], e = expected[k];
    const tol = 1e-12 * Math.max(1, Math.abs(e));
    assert.ok(Math.abs(a - e) <= tol, `${what}: ${k} is ${a}, a float64 loop gives ${e}`);
  }
}

test('float32 chunks give the same sums as a float64 loop over the same values', () => {
  const s64 = randoms(100_003, 1, 0.1);
  const t64 = randoms(100_003, 2, 0.1).map((x, i) => s64[i] + x * 0.01);
  const s = Float32Array.from(s64), t = Float32Array.from(t64);
  const acc = emptySums();
  accumulatePair(acc, s, t, s.length);
  close(acc, naive(s, t), 'Float32Array');
});

test('float64 chunks and mixed or plain-array chunks give the same sums as a float64 loop', () => {
  const s = randoms(50_001, 3, 10), t = randoms(50_001, 4, 10);
  const a = emptySums(); accumulatePair(a, s, t, s.length); close(a, naive(s, t), 'Float64Array');
  const b = emptySums(); accumulatePair(b, Float32Array.from(s), t, s.length); close(b, naive(Float32Array.from(s), t), 'Float32Array with Float64Array');
  const c = emptySums(); accumulatePair(c, Array.from(s), Array.from(t), s.length); close(c, naive(s, t), 'plain arrays');
});

test('only the first `length` elements are added', () => {
  const s = new Float32Array([1, 2, 3, 100]), t = new Float32Array([1, 1, 1, -100]);
  const acc = emptySums();
  accumulatePair(acc, s, t, 3);
  assert.equal(acc.n, 3);
  assert.equal(acc.sumSqDiff, 0 + 1 + 4);
  assert.equal(acc.maxAbsDiff, 2);
  accumulatePair(acc, s, t, 0);
  assert.equal(acc.n, 3);
});

test('NaN and Inf pairs are skipped and counted per side, the rest summed exactly', () => {
  for (const Arr of [Float32Array, Float64Array]) {
    const s = Arr.from(randoms(10_000, 5)), t = Arr.from(randoms(10_000, 6));
    s[17] = NaN; t[17] = NaN; s[400] = Infinity; t[9999] = -Infinity; s[5000] = NaN;
    const acc = emptySums();
    accumulatePair(acc, s, t, s.length);
    close(acc, naive(s, t), Arr.name);
    assert.equal(acc.n, 10_000 - 4);
    assert.equal(acc.nonFiniteSource, 3);
    assert.equal(acc.nonFiniteTarget, 2);
    assert.ok(Number.isFinite(acc.sumSqDiff) && Number.isFinite(acc.maxAbsDiff));
  }
});

test('a huge but finite float64 pair is summed (to Inf), not dropped as non-finite', () => {
  const acc = emptySums();
  accumulatePair(acc, new Float64Array([1e300, 1]), new Float64Array([-1e300, 1]), 2);
  assert.equal(acc.n, 2);
  assert.equal(acc.nonFiniteSource + acc.nonFiniteTarget, 0);
  assert.equal(acc.sumSqDiff, Infinity);
});

test('accumulating in chunks, or merging partial sums, equals one pass', () => {
  const s = Float32Array.from(randoms(70_001, 7)), t = Float32Array.from(randoms(70_001, 8));
  const whole = emptySums(); accumulatePair(whole, s, t, s.length);
  const chunked = emptySums();
  for (let i = 0; i < s.length; i += 4099) accumulatePair(chunked, s.subarray(i), t.subarray(i), Math.min(4099, s.length - i));
  close(chunked, whole, 'chunked');
  const a = emptySums(), b = emptySums();
  accumulatePair(a, s, t, 30_000); accumulatePair(b, s.subarray(30_000), t.subarray(30_000), s.length - 30_000);
  mergeSums(a, b);
  close(a, whole, 'merged');
});

test('metrics: identical tensors give rmse 0 and cosine 1; no finite pair gives nulls', () => {
  const s = Float32Array.from(randoms(1000, 9));
  const acc = emptySums(); accumulatePair(acc, s, s, s.length);
  const m = metricsOf(acc);
  assert.equal(m.rmse, 0); assert.equal(m.relRmse, 0); assert.equal(m.maxAbsDiff, 0);
  assert.ok(Math.abs(m.cosine! - 1) < 1e-12);
  const none = emptySums(); accumulatePair(none, new Float32Array([NaN]), new Float32Array([1]), 1);
  assert.deepEqual(metricsOf(none), { rmse: null, relRmse: null, cosine: null, maxAbsDiff: null });
});

test('float32 chunks in a WebAssembly arena (the SIMD loop) give the sums of a float64 loop, at any offset and length', () => {
  const arena = createArena();
  assert.ok(arena, 'this Node has WebAssembly SIMD');
  const a = arena.take()!, b = arena.take()!;
  const s = new Float32Array(a.buffer, a.byteOffset, 50_000), t = new Float32Array(b.buffer, b.byteOffset, 50_000);
  s.set(randoms(50_000, 10, 0.2)); t.set(randoms(50_000, 11, 0.2));
  for (const [from, len] of [[0, 50_000], [1, 49_999], [3, 33], [5, 37], [0, 35], [7, 12_345]]) {
    const acc = emptySums();
    accumulatePair(acc, s.subarray(from), t.subarray(from), len);
    assertSumsClose(acc, naive(s.subarray(from, from + len), t.subarray(from, from + len)), `offset ${from}, length ${len}`);
  }
  // Largest difference found in any lane, on either side of zero.
  s.fill(0, 0, 64); t.fill(0, 0, 64); t[13] = 5; s[42] = -7;
  const m = emptySums(); accumulatePair(m, s, t, 64);
  assert.equal(m.maxAbsDiff, 7);
  s[50] = NaN; t[3] = Infinity;
  const bad = emptySums(); accumulatePair(bad, s, t, 1000);
  assertSumsClose(bad, naive(s.subarray(0, 1000), t.subarray(0, 1000)), 'with NaN and Inf');
  assert.equal(bad.nonFiniteSource, 1); assert.equal(bad.nonFiniteTarget, 1);
});

test('tiny values (1e-22) in the SIMD loop keep their RMSE, relative RMSE and cosine: float32 products do not underflow to "identical"', () => {
  const arena = createArena();
  assert.ok(arena);
  const a = arena.take()!, b = arena.take()!;
  const n = 65_536;
  const s = new Float32Array(a.buffer, a.byteOffset, n), t = new Float32Array(b.buffer, b.byteOffset, n);
  for (const scale of [1e-15, 1e-20, 1e-22, 1e-25, 1e-30]) {
    s.set(randoms(n, 5, scale)); for (let i = 0; i < n; i++) t[i] = s[i] * 1.01;
    const acc = emptySums();
    accumulatePair(acc, s, t, n);
    const m = metricsOf(acc), e = metricsOf(naive(s, t));
    assert.ok(Math.abs(m.rmse! - e.rmse!) <= 1e-6 * e.rmse!, `scale ${scale}: rmse ${m.rmse} vs ${e.rmse}`);
    assert.ok(Math.abs(m.relRmse! - e.relRmse!) <= 1e-6 * e.relRmse!, `scale ${scale}: relRmse ${m.relRmse} vs ${e.relRmse}`);
    assert.ok(Math.abs(m.cosine! - e.cosine!) <= 1e-6, `scale ${scale}: cosine ${m.cosine} vs ${e.cosine}`);
  }
});

/** float32 values rounded to bfloat16 (to nearest even), as their 16-bit patterns. */
function toBf16(xs: Float64Array): Uint16Array {
  const f = new Float32Array(xs), u = new Uint32Array(f.buffer), out = new Uint16Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16;
  return out;
}
const bf16Values = (h: Uint16Array): Float32Array => { const u = new Uint32Array(h.length); for (let i = 0; i < h.length; i++) u[i] = h[i] << 16; return new Float32Array(u.buffer); };

test('bfloat16 pairs summed where the read put them (no decode) give the sums of a float64 loop over their values, at any offset and length', () => {
  const arena = createArena();
  assert.ok(arena);
  const a = arena.take()!, b = arena.take()!;
  const n = 50_000;
  const hs = new Uint16Array(a.buffer, a.byteOffset, n), ht = new Uint16Array(b.buffer, b.byteOffset, n);
  hs.set(toBf16(randoms(n, 20, 0.04))); ht.set(toBf16(randoms(n, 21, 0.04)));
  // A fine-tuned pair too: the target one bfloat16 step away in one value of eight.
  for (const [what, target] of [['unrelated', ht.slice()], ['one step apart', hs.map((h, i) => (i % 8 === 3 ? h ^ 1 : h))]] as const) {
    ht.set(target);
    for (const [from, len] of [[0, n], [1, n - 1], [3, 33], [5, 37], [0, 39], [7, 12_345]]) {
      const acc = emptySums();
      const bytes = (h: Uint16Array) => new Uint8Array(h.buffer, h.byteOffset + 2 * from, 2 * len);
      assert.ok(accumulateBf16(acc, bytes(hs), bytes(ht), len), `${what}: summed in the module`);
      assertSumsClose(acc, naive(bf16Values(hs.subarray(from, from + len)), bf16Values(ht.subarray(from, from + len))), `${what}, offset ${from}, length ${len}`);
    }
  }
  // The largest difference, in any lane of either half of a load.
  hs.fill(0, 0, 64); ht.fill(0, 0, 64); ht[13] = toBf16(new Float64Array([5]))[0]; hs[42] = toBf16(new Float64Array([-7]))[0];
  const m = emptySums();
  assert.ok(accumulateBf16(m, new Uint8Array(a.buffer, a.byteOffset, 128), new Uint8Array(b.buffer, b.byteOffset, 128), 64));
  assert.equal(m.maxAbsDiff, 7);
});

test('bfloat16 pairs with NaN, Inf or tiny values are turned down by the fused sum, unchanged, for the careful loops', () => {
  const arena = createArena();
  assert.ok(arena);
  const a = arena.take()!, b = arena.take()!;
  const n = 4096;
  const hs = new Uint16Array(a.buffer, a.byteOffset, n), ht = new Uint16Array(b.buffer, b.byteOffset, n);
  const sBytes = new Uint8Array(a.buffer, a.byteOffset, 2 * n), tBytes = new Uint8Array(b.buffer, b.byteOffset, 2 * n);
  for (const [what, fill] of [['NaN', () => { hs[100] = 0x7fc0; }], ['Inf', () => { ht[7] = 0x7f80; }], ['tiny (1e-25)', () => { hs.set(toBf16(randoms(n, 3, 1e-25))); ht.set(toBf16(randoms(n, 4, 1e-25))); }]] as const) {
    hs.set(toBf16(randoms(n, 1, 0.1))); ht.set(toBf16(randoms(n, 2, 0.1)));
    fill();
    const acc = emptySums();
    assert.equal(accumulateBf16(acc, sBytes, tBytes, n), false, what);
    assert.deepEqual(acc, emptySums(), `${what}: nothing added`);
    // What the range summer then does: decode and sum carefully, skipping bad pairs.
    accumulatePair(acc, bf16Values(hs), bf16Values(ht), n);
    assertSumsClose(acc, naive(bf16Values(hs), bf16Values(ht)), what, 1e-12);
  }
});
