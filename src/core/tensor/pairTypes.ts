// Types the pair-summing pieces share (tensorData, pairAccumulator, rangeSum, pairThreads and the
// thread entry): kept apart so those modules import one another one way, never in a circle.
import type { PairSums } from './kernels';

/** Chunk values: float32 when both tensors of a pair are contiguous F32/F16/BF16, else float64. */
export type Values = Float32Array | Float64Array;

/** One side of a pair as a thread reads it: contiguous little-endian floats at a file offset. */
export interface SideSpec { file: string; offset: number; dtype: 'F32' | 'F16' | 'BF16' }

/**
 * Elements [start, start + count) of a pair, to be summed by a thread; `direct`: read past the
 * page cache where the file system allows it (rangeSum.ts says when and why).
 */
export interface RangeJob { id: number; source: SideSpec; target: SideSpec; start: number; count: number; geometry?: ConvGeometry; direct?: boolean }

export type PairThreadReply =
  | { id: number; sums: RangeSums; failed?: undefined }
  | { id: number; failed: { file?: string; problem: string } };

/** How a conv weight [out, in, ...] divides into filters and cells. */
export interface ConvGeometry {
  outCh: number;
  inCh: number;
  /** Elements per (filter, input channel) cell: the product of the kernel's spatial sizes. */
  cellSize: number;
  /** Elements per output filter (inCh × cellSize). */
  filterSize: number;
  /** Whether per-cell sums are kept (the grid is small enough to report). */
  withGrid: boolean;
}

/** Squared differences and finite-pair counts of consecutive filters (or cells) from `first`. */
export interface Bins { first: number; sq: Float64Array; n: Float64Array }

/**
 * Per-filter bins also keep Σs², Σt² and Σs·t: each filter's norms and dot product, from
 * which its cosine and the distance of the unit-norm filters follow exactly (a following
 * BatchNorm makes a kernel blind to each filter's scale).
 */
export interface FilterBins extends Bins { ss: Float64Array; tt: Float64Array; st: Float64Array }

/** What a range contributes: totals, and for a conv the bins it touches. */
export interface RangeSums { total: PairSums; filters?: FilterBins; cells?: Bins }
