// The inner loop of every comparison: accumulate, in float64, the sums that RMSE, relative
// RMSE, cosine and max |diff| need, over aligned chunks of a source and a target tensor.
// Kept apart from metrics.ts so it can be optimised (and benchmarked) on its own.
//
// What the profile of a compare showed (README, "Performance", has the numbers), and so why
// the loops look the way they do:
// - `|d| = d < 0 ? -d : d` compiled to a branch that mispredicts half the time on
//   differences of random sign: 4x slower than Math.abs, which is branch-free.
// - A finiteness test per element costs a compare and a branch; instead the loop sums
//   blindly and checks the totals once: NaN or ±Inf anywhere makes a total non-finite,
//   and only then the range is summed again, element by element, skipping bad pairs.
// - One loop per array type (Float32Array, Float64Array) keeps each loop monomorphic:
//   a loop that has seen both runs slower on either. accumulatePair dispatches.
// - Float32 chunks that live in a WebAssembly arena (tensorData reads into one) go to the
//   SIMD loop of simd.ts: four float32 lanes per instruction, summed in short blocks that are
//   folded into float64 (simd.ts says why that keeps float64 accuracy), about 3x the JS loop.
// - bfloat16 pairs read by the range summer are summed from their raw bytes (accumulateBf16):
//   decoding them into a float32 buffer first had cost as much CPU as the sums themselves.

import { bfloat16Table } from './dtypes';
import { Arena, arenaOf } from './simd';

export interface PairSums {
  /** Finite pairs counted. */
  n: number;
  sumSqDiff: number;
  sumSqSource: number;
  sumSqTarget: number;
  dot: number;
  maxAbsDiff: number;
  /** Elements skipped because the source (or target) value was NaN or ±Inf. */
  nonFiniteSource: number;
  nonFiniteTarget: number;
}

export function emptySums(): PairSums {
  return { n: 0, sumSqDiff: 0, sumSqSource: 0, sumSqTarget: 0, dot: 0, maxAbsDiff: 0, nonFiniteSource: 0, nonFiniteTarget: 0 };
}

/**
 * Adds elements [0, length) of `s` and `t` to `acc`. Non-finite pairs are counted, not summed.
 * Fastest when both are Float32Array or both Float64Array (the chunks tensorData yields).
 */
export function accumulatePair(acc: PairSums, s: ArrayLike<number>, t: ArrayLike<number>, length: number): void {
  if (length <= 0) return;
  if (s instanceof Float32Array && t instanceof Float32Array) {
    if (length >= SIMD_MIN && s.buffer === t.buffer && simdF32(acc, s, t, length)) return;
    if (!sumF32(acc, s, t, length)) careful(acc, s, t, length);
  } else if (s instanceof Float64Array && t instanceof Float64Array) {
    if (!sumF64(acc, s, t, length)) careful(acc, s, t, length);
  } else {
    careful(acc, s, t, length);
  }
}

/** Below this many elements the call into WebAssembly costs more than it saves. */
const SIMD_MIN = 32;

function simdF32(acc: PairSums, s: Float32Array, t: Float32Array, length: number): boolean {
  const arena = arenaOf(s.buffer);
  if (!arena) return false;
  const n8 = length & ~7;
  arena.sumF32(s.byteOffset, t.byteOffset, n8);
  return commitSimd(acc, arena, n8, s.subarray(n8, length), t.subarray(n8, length));
}

const tailS = new Float32Array(8), tailT = new Float32Array(8);

/**
 * Adds `length` bfloat16 pairs, given as their raw bytes in a WebAssembly arena, summed where
 * they lie (simd.ts sumBF16: no decode pass). Returns false, having changed nothing, when the
 * bytes are not in an arena or the sums cannot be trusted from float32 lanes (non-finite or
 * tiny values): the caller then decodes them and calls accumulatePair, as for any other chunk.
 */
export function accumulateBf16(acc: PairSums, s: Uint8Array, t: Uint8Array, length: number): boolean {
  const arena = length >= SIMD_MIN && s.buffer === t.buffer ? arenaOf(s.buffer) : undefined;
  if (!arena) return false;
  const n8 = length & ~7;
  arena.sumBF16(s.byteOffset, t.byteOffset, n8);
  const table = bfloat16Table(), k = length - n8;
  const hs = new Uint16Array(s.buffer, s.byteOffset + 2 * n8, k), ht = new Uint16Array(t.buffer, t.byteOffset + 2 * n8, k);
  for (let i = 0; i < k; i++) { tailS[i] = table[hs[i]]; tailT[i] = table[ht[i]]; }
  return commitSimd(acc, arena, n8, tailS.subarray(0, k), tailT.subarray(0, k));
}

/** Takes the module's sums of the first n elements, adds the tail (under 8 pairs) in JS, and commits. */
function commitSimd(acc: PairSums, arena: Arena, n: number, s: Float32Array, t: Float32Array): boolean {
  const r = arena.result, e = arena.extremes;
  let dd = r[0], ss = r[1], tt = r[2], st = r[3];
  let mx = Math.max(e[0], e[1], e[2], e[3], -e[4], -e[5], -e[6], -e[7]);
  // The module multiplies in float32: products under ~1e-38 lose digits and under ~1e-45
  // vanish. Sums that small on average (values or differences under ~1e-15) may have, so the
  // float64 loop does the chunk again: a difference of 1e-25 between values of 1e-22 must not
  // come out as "identical". Exact zeros (mx = 0, an all-zero source) are not that case.
  const tiny = n * SUBNORMAL_RISK;
  if ((dd < tiny && mx > 0) || (ss < tiny && ss > 0) || (tt < tiny && tt > 0)) return false;
  for (let i = 0; i < s.length; i++) {
    const a = s[i], b = t[i], d = a - b;
    dd += d * d; ss += a * a; tt += b * b; st += a * b;
    const ad = Math.abs(d);
    if (ad > mx) mx = ad;
  }
  return commit(acc, n + s.length, dd, ss, tt, st, mx);
}

/** A mean square below this (RMS under ~9e-16) may have lost float32 products to underflow. */
const SUBNORMAL_RISK = 2 ** -100;

// The two fast loops are the same text on different array types (see the header comment).
// Each returns false, having changed nothing, when a total came out non-finite.
function sumF32(acc: PairSums, s: Float32Array, t: Float32Array, length: number): boolean {
  let dd = 0, ss = 0, tt = 0, st = 0, mx = 0;
  for (let i = 0; i < length; i++) {
    const a = s[i], b = t[i], d = a - b;
    dd += d * d; ss += a * a; tt += b * b; st += a * b;
    const ad = Math.abs(d);
    if (ad > mx) mx = ad;
  }
  return commit(acc, length, dd, ss, tt, st, mx);
}

function sumF64(acc: PairSums, s: Float64Array, t: Float64Array, length: number): boolean {
  let dd = 0, ss = 0, tt = 0, st = 0, mx = 0;
  for (let i = 0; i < length; i++) {
    const a = s[i], b = t[i], d = a - b;
    dd += d * d; ss += a * a; tt += b * b; st += a * b;
    const ad = Math.abs(d);
    if (ad > mx) mx = ad;
  }
  return commit(acc, length, dd, ss, tt, st, mx);
}

function commit(acc: PairSums, n: number, dd: number, ss: number, tt: number, st: number, mx: number): boolean {
  // (x - x) is 0 exactly when x is finite. A sum can also overflow to Inf from finite
  // float64 inputs near 1e154; the careful loop then gives the same Inf, correctly counted.
  if ((dd - dd) + (ss - ss) + (tt - tt) + (st - st) + (mx - mx) !== 0) return false;
  acc.n += n; acc.sumSqDiff += dd; acc.sumSqSource += ss; acc.sumSqTarget += tt; acc.dot += st;
  if (mx > acc.maxAbsDiff) acc.maxAbsDiff = mx;
  return true;
}

/** Element-by-element: skips (and counts) pairs where either side is NaN or ±Inf. */
function careful(acc: PairSums, s: ArrayLike<number>, t: ArrayLike<number>, length: number): void {
  let n = 0, dd = 0, ss = 0, tt = 0, st = 0, mx = acc.maxAbsDiff, badS = 0, badT = 0;
  for (let i = 0; i < length; i++) {
    const a = s[i], b = t[i];
    const d = a - b;
    // d - d is 0 only when d is finite: one test catches NaN and Inf on either side.
    if (d - d !== 0) {
      if (!Number.isFinite(a)) badS++;
      if (!Number.isFinite(b)) badT++;
      continue;
    }
    n++;
    dd += d * d; ss += a * a; tt += b * b; st += a * b;
    const ad = Math.abs(d);
    if (ad > mx) mx = ad;
  }
  acc.n += n; acc.sumSqDiff += dd; acc.sumSqSource += ss; acc.sumSqTarget += tt; acc.dot += st;
  acc.maxAbsDiff = mx; acc.nonFiniteSource += badS; acc.nonFiniteTarget += badT;
}

export function mergeSums(into: PairSums, other: PairSums): void {
  into.n += other.n; into.sumSqDiff += other.sumSqDiff; into.sumSqSource += other.sumSqSource;
  into.sumSqTarget += other.sumSqTarget; into.dot += other.dot;
  into.maxAbsDiff = Math.max(into.maxAbsDiff, other.maxAbsDiff);
  into.nonFiniteSource += other.nonFiniteSource; into.nonFiniteTarget += other.nonFiniteTarget;
}

export interface PairMetrics { rmse: number | null; relRmse: number | null; cosine: number | null; maxAbsDiff: number | null }

export function metricsOf(acc: PairSums): PairMetrics {
  if (acc.n === 0) return { rmse: null, relRmse: null, cosine: null, maxAbsDiff: null };
  const rmse = Math.sqrt(acc.sumSqDiff / acc.n);
  const rmsS = Math.sqrt(acc.sumSqSource / acc.n);
  const denom = Math.sqrt(acc.sumSqSource) * Math.sqrt(acc.sumSqTarget);
  return {
    rmse,
    relRmse: rmsS > 0 ? rmse / rmsS : (rmse === 0 ? 0 : null),
    cosine: denom > 0 ? acc.dot / denom : null,
    maxAbsDiff: acc.maxAbsDiff,
  };
}
