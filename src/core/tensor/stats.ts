// Per-tensor statistics for `inspect --stats`: min, max, mean, std, fraction of zeros, NaN and
// Inf counts, streamed in float64 (chunks combined with Chan's formula so the variance of a
// large tensor does not lose precision the way sum-of-squares would).
import { TensorInfo, TensorStats } from '../common/types';
import { CancelToken } from '../common/errors';
import { FilePool, streamTensor } from './tensorData';

export async function tensorStats(t: TensorInfo, pool: FilePool, token?: CancelToken): Promise<TensorStats> {
  let n = 0, mean = 0, m2 = 0, min = Infinity, max = -Infinity, zeros = 0, nan = 0, inf = 0, total = 0;
  for await (const c of streamTensor(t, pool, undefined, token)) {
    total += c.length;
    let k = 0, sum = 0, lo = Infinity, hi = -Infinity;
    const d = c.data;
    for (let i = 0; i < c.length; i++) {
      const v = d[i];
      if (v - v !== 0) { if (Number.isNaN(v)) nan++; else inf++; continue; }
      if (v === 0) zeros++;
      k++; sum += v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (k === 0) continue;
    const cm = sum / k;
    let cm2 = 0;
    for (let i = 0; i < c.length; i++) { const v = d[i]; if (v - v === 0) cm2 += (v - cm) * (v - cm); }
    const delta = cm - mean;
    const nn = n + k;
    mean += delta * (k / nn);
    m2 += cm2 + delta * delta * (n * k / nn);
    n = nn;
    if (lo < min) min = lo;
    if (hi > max) max = hi;
  }
  if (n === 0) return { min: NaN, max: NaN, mean: NaN, std: NaN, zeros: total ? zeros / total : 0, nan, inf };
  return { min, max, mean, std: Math.sqrt(m2 / n), zeros: zeros / total, nan, inf };
}
