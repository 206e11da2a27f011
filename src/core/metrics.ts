// Compares one source tensor with one target tensor of the same shape, streaming both in
// lockstep (same chunk size, canonical order) and accumulating in float64 through kernels.ts.
// Conv weights also get the RMSE of each output filter and of each (filter, input channel)
// cell, in the same pass: a chunk boundary may fall anywhere inside a filter.
import { TensorInfo } from './types';
import { numel } from './dtypes';
import { CancelToken, throwIfCancelled } from './errors';
import { FilePool, streamPair, DEFAULT_CHUNK_ELEMENTS, Values } from './tensorData';
import { PairSums, emptySums, accumulatePair, mergeSums, metricsOf, PairMetrics } from './kernels';

export interface TensorPairMetrics extends PairMetrics {
  filterRmse?: number[];
  filterGrid?: { rows: number; cols: number; values: number[] };
  nonFinite?: { source: number; target: number };
  /** Elements compared (finite pairs). */
  n: number;
}

/**
 * Grids with more cells than this (256×256) are left out of the report: the grid is display
 * detail, and a 512×512 conv alone would add megabytes of JSON to every report message.
 */
export const MAX_GRID_CELLS = 1 << 16;

/** Grid cells keep 7 significant digits (relative error < 1e-6): enough for a heat map, half the JSON. */
function gridValue(x: number): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(7)) : x;
}

export interface CompareOptions {
  /** Treat as a conv weight [out, in, ...]: per-filter and per-cell RMSE. */
  conv: boolean;
  token?: CancelToken;
  /** Called after each chunk with the number of elements just compared. */
  onElements?: (n: number) => void;
  chunkElements?: number;
}

export async function compareTensors(s: TensorInfo, t: TensorInfo, pool: FilePool, opts: CompareOptions): Promise<TensorPairMetrics> {
  const n = numel(s.shape);
  if (numel(t.shape) !== n) throw new Error(`compareTensors: ${s.name} and ${t.name} differ in size`);
  const chunk = opts.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  const total = emptySums();
  const conv = opts.conv && s.shape.length >= 3 && n > 0;
  const outCh = conv ? s.shape[0] : 0;
  const inCh = conv ? s.shape[1] : 0;
  const cellSize = conv ? numel(s.shape.slice(2)) : 0;
  const filterSize = inCh * cellSize;
  const withGrid = conv && outCh * inCh <= MAX_GRID_CELLS && cellSize > 0;
  const filterSq = conv ? new Float64Array(outCh) : undefined;
  const filterN = conv ? new Float64Array(outCh) : undefined;
  const cellSq = withGrid ? new Float64Array(outCh * inCh) : undefined;
  const cellN = withGrid ? new Float64Array(outCh * inCh) : undefined;
  const scratch = emptySums();

  for await (const c of streamPair(s, t, pool, chunk, opts.token)) {
    throwIfCancelled(opts.token);
    const cs = { data: c.source, start: c.start, length: c.length }, ct = { data: c.target };
    if (!conv || filterSize === 0) {
      accumulatePair(total, cs.data, ct.data, cs.length);
    } else {
      // One kernel call per piece of a filter inside this chunk.
      let p = 0;
      while (p < cs.length) {
        const g = cs.start + p;
        const f = Math.floor(g / filterSize);
        const end = Math.min(cs.length, (f + 1) * filterSize - cs.start);
        resetSums(scratch);
        accumulatePair(scratch, cs.data.subarray(p, end), ct.data.subarray(p, end), end - p);
        filterSq![f] += scratch.sumSqDiff; filterN![f] += scratch.n;
        mergeSums(total, scratch);
        p = end;
      }
      if (withGrid) addCells(cs.data, ct.data, cs.start, cs.length, cellSize, cellSq!, cellN!);
    }
    opts.onElements?.(cs.length);
  }

  const m: TensorPairMetrics = { ...metricsOf(total), n: total.n };
  if (total.nonFiniteSource || total.nonFiniteTarget) m.nonFinite = { source: total.nonFiniteSource, target: total.nonFiniteTarget };
  if (conv) {
    m.filterRmse = Array.from(filterSq!, (sq, f) => rootMean(sq, filterN![f]));
    if (withGrid) m.filterGrid = { rows: outCh, cols: inCh, values: Array.from(cellSq!, (sq, c) => gridValue(rootMean(sq, cellN![c]))) };
  }
  return m;
}

/** NaN (null in JSON) when a filter or cell had no finite pair to compare. */
function rootMean(sq: number, count: number): number {
  return count > 0 ? Math.sqrt(sq / count) : NaN;
}

function resetSums(a: PairSums): void {
  a.n = 0; a.sumSqDiff = 0; a.sumSqSource = 0; a.sumSqTarget = 0; a.dot = 0; a.maxAbsDiff = 0;
  a.nonFiniteSource = 0; a.nonFiniteTarget = 0;
}

/**
 * Sum of squared differences per (filter, input channel) cell. Cells are small (3×3 = 9, or a
 * single element for 1×1 convs), so a call of the full kernel per cell would cost more than
 * this one loop over data already in cache; non-finite pairs are skipped as the kernel does.
 */
function addCells(s: Values, t: Values, start: number, length: number, cellSize: number, sq: Float64Array, cnt: Float64Array): void {
  let cell = Math.floor(start / cellSize);
  let left = (cell + 1) * cellSize - start;
  let acc = 0, k = 0;
  for (let i = 0; i < length; i++) {
    const d = s[i] - t[i];
    if (d - d === 0) { acc += d * d; k++; }
    if (--left === 0) { sq[cell] += acc; cnt[cell] += k; acc = 0; k = 0; cell++; left = cellSize; }
  }
  if (left !== cellSize) { sq[cell] += acc; cnt[cell] += k; }
}
