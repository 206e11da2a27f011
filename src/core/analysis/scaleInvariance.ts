// The change of a kernel with the scale a following normalization removes factored out.
// A BatchNorm after a conv (or linear) layer normalises each output channel by its own batch
// statistics, so the layer computes the same function whatever positive scale each output
// filter has: judging the raw kernel would call a rescaled copy "retrain". LayerNorm/GroupNorm
// remove a scale common to the whole output (per group, but a common scale is always safe).
//
// From each filter's Σs², Σt² and Σ(s−t)² (kept while streaming, pairAccumulator.ts) the
// distance of the unit-norm filters is exact: ‖s/|s| − t/|t|‖² = 2 − 2cos = (Σ(s−t)² − (|s| − |t|)²) / (|s||t|).
import type { PairSums } from '../tensor/kernels';
import type { FilterBins } from '../tensor/pairTypes';
import type { ScaleInvariantMetrics } from '../shared/reportTypes';

/** 2 − 2cos of one filter pair, and its cosine; undefined for a filter with no finite pair. */
function unitDistance(n: number, sq: number, ss: number, tt: number, st: number): { d: number; cos: number | null } | undefined {
  if (n === 0) return undefined;
  if (ss === 0 && tt === 0) return { d: 0, cos: null }; // both all zeros: nothing changed
  if (ss === 0 || tt === 0) return { d: 2, cos: null }; // one side dead: as unrelated as two random filters
  const a = Math.sqrt(ss), b = Math.sqrt(tt), ab = a * b;
  const cos = Math.max(-1, Math.min(1, st / ab));
  // Two ways to the same number; the one through Σ(s−t)² keeps the digits of a small change
  // (2 − 2cos cancels), the one through the cosine those of a change mostly of scale.
  const viaDiff = (sq - (a - b) * (a - b)) / ab;
  const d = sq / ab < 1 ? viaDiff : 2 - 2 * cos;
  return { d: Math.max(0, Math.min(4, d)), cos };
}

/** Cosines keep 7 significant digits in the report, like the grid cells. */
function round7(x: number): number {
  return Number(x.toPrecision(7));
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Per-output-filter invariance (a BatchNorm follows). */
export function perFilterInvariant(bins: FilterBins, total: PairSums): ScaleInvariantMetrics {
  let sum = 0, count = 0, cosSum = 0, cosCount = 0, minCos = Infinity;
  const filterCosine: (number | null)[] = new Array(bins.sq.length);
  const ratios: number[] = [];
  for (let i = 0; i < bins.sq.length; i++) {
    const u = unitDistance(bins.n[i], bins.sq[i], bins.ss[i], bins.tt[i], bins.st[i]);
    filterCosine[i] = u?.cos === null || u === undefined ? null : round7(u.cos);
    if (!u) continue;
    sum += u.d; count++;
    if (u.cos !== null) { cosSum += u.cos; cosCount++; minCos = Math.min(minCos, u.cos); }
    if (bins.ss[i] > 0) ratios.push(Math.sqrt(bins.tt[i] / bins.ss[i]));
  }
  const relRmse = count ? Math.sqrt(sum / count) : null;
  return {
    per: 'filter', relRmse, rmse: scaled(relRmse, total),
    meanCosine: cosCount ? cosSum / cosCount : null, minCosine: cosCount ? minCos : null,
    scaleRatio: median(ratios), filterCosine,
  };
}

/** Whole-kernel invariance (LayerNorm, GroupNorm: only a common scale is removed). */
export function perTensorInvariant(total: PairSums): ScaleInvariantMetrics {
  const u = unitDistance(total.n, total.sumSqDiff, total.sumSqSource, total.sumSqTarget, total.dot);
  const relRmse = u ? Math.sqrt(u.d) : null;
  return {
    per: 'tensor', relRmse, rmse: scaled(relRmse, total),
    meanCosine: u?.cos ?? null, minCosine: u?.cos ?? null,
    scaleRatio: total.sumSqSource > 0 ? Math.sqrt(total.sumSqTarget / total.sumSqSource) : null,
  };
}

/** The relative change in the kernel's own units: × the source kernel's RMS. */
function scaled(rel: number | null, total: PairSums): number | null {
  return rel === null || total.n === 0 ? null : rel * Math.sqrt(total.sumSqSource / total.n);
}
