// The inner loop of every comparison: accumulate, in float64, the sums that RMSE, relative
// RMSE, cosine and max |diff| need, over aligned chunks of a source and a target tensor.
// Kept apart from metrics.ts so it can be optimised (and benchmarked) on its own.

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

/** Adds elements [0, length) of `s` and `t` to `acc`. Non-finite pairs are counted, not summed. */
export function accumulatePair(acc: PairSums, s: ArrayLike<number>, t: ArrayLike<number>, length: number): void {
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
    const ad = d < 0 ? -d : d;
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
