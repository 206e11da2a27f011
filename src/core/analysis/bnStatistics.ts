// BatchNorm running statistics measured in the layer's own units. Running mean and variance
// are data statistics (a forward pass re-estimates them, no training: AdaBN, Li et al. 2016),
// so their relative RMSE misleads: running_mean's divides by its RMS, unstable near zero
// means, and running_var is a second moment. What a shift does to the normalised output is
// the mean shift in source standard deviations, |μ_t − μ_s| / sqrt(σ²_s + ε), and the log
// ratio of the variances, ln((σ²_t + ε) / (σ²_s + ε)) (twice the log ratio of the scales).
import type { FormatName, TensorInfo } from '../common/types';
import type { BnStatistics } from '../shared/reportTypes';
import type { CancelToken } from '../common/errors';
import { FilePool, readTensor } from '../tensor/tensorData';
import { numel } from '../tensor/dtypes';

/**
 * ε of the normalization. Checkpoints do not store it: PyTorch's default, and Keras's (1e-3)
 * for Keras and TF.js files; it matters only for channels whose variance is near ε, where a
 * larger ε moves them less.
 */
export const BN_EPS = 1e-5;
export const KERAS_BN_EPS = 1e-3;

export function bnEpsOf(format: FormatName): number {
  return format === 'keras-h5' || format === 'keras-v3' || format === 'tfjs' ? KERAS_BN_EPS : BN_EPS;
}
/** Statistics are read whole; a "BN" larger than this (a hostile file) gets no statistics. */
export const MAX_BN_CHANNELS = 1 << 20;

export interface BnTensors { meanS: TensorInfo; varS: TensorInfo; meanT: TensorInfo; varT: TensorInfo }

/** The statistics of one BN layer pair, or undefined when they cannot be compared (sizes differ, too large). */
export async function bnStatistics(t: BnTensors, pool: FilePool, eps = BN_EPS, token?: CancelToken): Promise<BnStatistics | undefined> {
  const n = safeNumel(t.meanS.shape);
  if (n === 0 || n > MAX_BN_CHANNELS) return undefined;
  if ([t.varS, t.meanT, t.varT].some((x) => safeNumel(x.shape) !== n)) return undefined;
  const [ms, vs, mt, vt] = [await readTensor(t.meanS, pool, token), await readTensor(t.varS, pool, token), await readTensor(t.meanT, pool, token), await readTensor(t.varT, pool, token)];
  return statisticsOf(ms, vs, mt, vt, eps);
}

/** Channels with a non-finite value or a negative variance are left out. Undefined when none is left. */
export function statisticsOf(ms: ArrayLike<number>, vs: ArrayLike<number>, mt: ArrayLike<number>, vt: ArrayLike<number>, eps = BN_EPS): BnStatistics | undefined {
  let k = 0, shift2 = 0, shiftMax = 0, lv2 = 0, lvMax = 0;
  for (let i = 0; i < ms.length; i++) {
    const sd2 = vs[i] + eps, td2 = vt[i] + eps;
    const shift = Math.abs(mt[i] - ms[i]) / Math.sqrt(sd2);
    const lv = Math.abs(Math.log(td2 / sd2));
    if (!(sd2 > 0 && td2 > 0) || !Number.isFinite(shift) || !Number.isFinite(lv)) continue;
    k++;
    shift2 += shift * shift; lv2 += lv * lv;
    if (shift > shiftMax) shiftMax = shift;
    if (lv > lvMax) lvMax = lv;
  }
  if (k === 0) return undefined;
  return { channels: k, eps, meanShift: { rms: Math.sqrt(shift2 / k), max: shiftMax }, logVarRatio: { rms: Math.sqrt(lv2 / k), max: lvMax } };
}

function safeNumel(shape: number[]): number {
  try { return numel(shape); } catch { return -1; }
}
