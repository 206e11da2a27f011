// How close the pair kernel's sums must be to a float64 loop over the same float32 values.
// The SIMD kernel (src/core/tensor/simd.ts) sums at most 16 products per lane in float32 before
// folding them into float64; with the rounding of the subtraction and of each product, a
// block's relative error is at most ~18 × 2^-24 ≈ 1.1e-6 of its sum of magnitudes, and the
// float64 total of many blocks is no worse. The JS loops are float64 throughout: 1e-12.
import assert from 'node:assert/strict';
import type { PairSums } from '../../../src/core/tensor/kernels';

export const SIMD_RELATIVE = 2e-6;

export function assertSumsClose(actual: PairSums, expected: PairSums, what: string, relative = SIMD_RELATIVE): void {
  // The dot product can cancel: its error is relative to the sum of |s·t|, at most √(ss·tt).
  const scale: Record<keyof PairSums, number> = {
    n: 0, nonFiniteSource: 0, nonFiniteTarget: 0,
    sumSqDiff: Math.abs(expected.sumSqDiff), sumSqSource: Math.abs(expected.sumSqSource), sumSqTarget: Math.abs(expected.sumSqTarget),
    dot: Math.sqrt(expected.sumSqSource * expected.sumSqTarget), maxAbsDiff: Math.abs(expected.maxAbsDiff),
  };
  for (const k of Object.keys(expected) as (keyof PairSums)[]) {
    const a = actual[k], e = expected[k];
    const tol = scale[k] === 0 ? 0 : relative * Math.max(1e-300, scale[k]);
    assert.ok(Math.abs(a - e) <= tol, `${what}: ${k} is ${a}, a float64 loop gives ${e} (allowed ±${tol})`);
  }
}
