// The sums of one tensor pair's comparison over a range of its elements: the totals (through
// kernels.ts), and for conv weights the squared differences per output filter and per
// (filter, input channel) cell. A range may start and end anywhere inside a filter, so a
// tensor can be summed in pieces (by the pair threads, pairThreads.ts) and the pieces merged.
// Plain data in and out, so that a piece can cross a thread boundary.
import { numel } from './dtypes';
import { PairSums, emptySums, accumulateBf16, accumulatePair, mergeSums } from './kernels';
import type { Bins, ConvGeometry, FilterBins, RangeSums, Values } from './pairTypes';
import { arenaOf, CELL_SLOTS } from './simd';

/**
 * Grids with more cells than this (256×256) are left out of the report: the grid is display
 * detail, and a 512×512 conv alone would add megabytes of JSON to every report message.
 */
export const MAX_GRID_CELLS = 1 << 16;


/**
 * Convs with more output filters than this get no per-filter RMSE (like grids above
 * MAX_GRID_CELLS): real convs have at most a few thousand, and a hostile [268M, 1, 1] "conv"
 * must not make us hold two float64 per element.
 */
export const MAX_FILTERS = 1 << 16;

/** The geometry of a conv weight of `shape`, or undefined when it has no filters to sum (or too many). */
export function convGeometry(shape: readonly number[], conv: boolean): ConvGeometry | undefined {
  if (!conv || shape.length < 3) return undefined;
  const n = numel([...shape]);
  const outCh = shape[0], inCh = shape[1];
  const cellSize = numel(shape.slice(2));
  const filterSize = inCh * cellSize;
  if (n === 0 || filterSize === 0 || outCh > MAX_FILTERS) return undefined;
  return { outCh, inCh, cellSize, filterSize, withGrid: outCh * inCh <= MAX_GRID_CELLS && cellSize > 0 };
}



function binsFor(first: number, last: number): Bins {
  const len = Math.max(0, last - first + 1);
  return { first, sq: new Float64Array(len), n: new Float64Array(len) };
}

function filterBinsFor(first: number, last: number): FilterBins {
  const b = binsFor(first, last), len = b.sq.length;
  return { ...b, ss: new Float64Array(len), tt: new Float64Array(len), st: new Float64Array(len) };
}

/**
 * The geometry of a dense weight [out, in] seen as `out` filters of one row each (no grid):
 * a linear layer that feeds a BatchNorm is blind to each row's scale.
 */
export function rowGeometry(shape: readonly number[]): ConvGeometry | undefined {
  if (shape.length !== 2 || shape[0] === 0 || shape[1] === 0 || shape[0] > MAX_FILTERS) return undefined;
  return { outCh: shape[0], inCh: shape[1], cellSize: 1, filterSize: shape[1], withGrid: false };
}

/**
 * Accumulates the elements [start, end) of a pair, given in order by `add`. For the whole
 * tensor, start = 0 and end = its element count; `absorb` adds another range's sums.
 */
export class PairAccumulator {
  readonly total = emptySums();
  readonly filters?: FilterBins;
  readonly cells?: Bins;
  private readonly scratch = emptySums();

  constructor(private readonly geometry: ConvGeometry | undefined, start: number, end: number) {
    if (geometry && end > start) {
      this.filters = filterBinsFor(Math.floor(start / geometry.filterSize), Math.floor((end - 1) / geometry.filterSize));
      if (geometry.withGrid) this.cells = binsFor(Math.floor(start / geometry.cellSize), Math.floor((end - 1) / geometry.cellSize));
    }
  }

  /** Adds `length` aligned elements of a source and a target chunk, the first being element `start` of the tensor. */
  add(source: Values, target: Values, start: number, length: number): void {
    const g = this.geometry;
    if (!g) { accumulatePair(this.total, source, target, length); return; }
    // One kernel call per piece of a filter inside this chunk.
    const filters = this.filters!, scratch = this.scratch;
    let p = 0;
    while (p < length) {
      const f = Math.floor((start + p) / g.filterSize);
      const end = Math.min(length, (f + 1) * g.filterSize - start);
      resetSums(scratch);
      accumulatePair(scratch, source.subarray(p, end), target.subarray(p, end), end - p);
      const k = f - filters.first;
      filters.sq[k] += scratch.sumSqDiff;
      filters.n[k] += scratch.n;
      filters.ss[k] += scratch.sumSqSource;
      filters.tt[k] += scratch.sumSqTarget;
      filters.st[k] += scratch.dot;
      mergeSums(this.total, scratch);
      p = end;
    }
    if (this.cells) addCells(source, target, start, length, g.cellSize, this.cells);
  }

  /**
   * Adds `length` bfloat16 pairs from their raw bytes (kernels.ts accumulateBf16), when no
   * per-filter sums are kept; false, having added nothing, when the caller must decode them
   * and call `add`.
   */
  addBf16(source: Uint8Array, target: Uint8Array, length: number): boolean {
    return !this.geometry && accumulateBf16(this.total, source, target, length);
  }

  /** Adds the sums of another range of the same tensor (ranges may share a filter or cell). */
  absorb(part: RangeSums): void {
    mergeSums(this.total, part.total);
    if (this.filters && part.filters) addFilterBins(this.filters, part.filters);
    if (this.cells && part.cells) addBins(this.cells, part.cells);
  }

  sums(): RangeSums {
    return { total: this.total, filters: this.filters, cells: this.cells };
  }
}

function addBins(into: Bins, part: Bins): void {
  for (let i = 0; i < part.sq.length; i++) {
    const k = part.first + i - into.first;
    into.sq[k] += part.sq[i];
    into.n[k] += part.n[i];
  }
}

function addFilterBins(into: FilterBins, part: FilterBins): void {
  addBins(into, part);
  for (let i = 0; i < part.sq.length; i++) {
    const k = part.first + i - into.first;
    into.ss[k] += part.ss[i];
    into.tt[k] += part.tt[i];
    into.st[k] += part.st[i];
  }
}

function resetSums(a: PairSums): void {
  a.n = 0; a.sumSqDiff = 0; a.sumSqSource = 0; a.sumSqTarget = 0; a.dot = 0; a.maxAbsDiff = 0;
  a.nonFiniteSource = 0; a.nonFiniteTarget = 0;
}

/**
 * Sum of squared differences per (filter, input channel) cell. Cells are small (3×3 = 9, or a
 * single element for 1×1 convs), too small for a kernel call each. Float32 chunks in a
 * WebAssembly arena go through the module's cellSums loop: a JS loop here ran at ~16 ns per
 * element in a fresh pair thread (before the JIT warmed up), the module's at ~1. A cell whose
 * sum comes out non-finite is summed again here, skipping NaN/±Inf pairs.
 */
function addCells(s: Values, t: Values, start: number, length: number, cellSize: number, bins: Bins): void {
  const arena = s instanceof Float32Array && t instanceof Float32Array && s.buffer === t.buffer ? arenaOf(s.buffer) : undefined;
  // Cells of more than a chunk (huge spatial kernels) are a few per chunk: the JS loop serves,
  // and the module's 32-bit byte arithmetic (4 × cellSize) could not hold them.
  if (!arena || cellSize > MAX_MODULE_CELL) { addCellsJs(s, t, start, length, cellSize, bins); return; }
  const { sq, n, first } = bins;
  let cell = Math.floor(start / cellSize);
  let firstLen = Math.min(length, (cell + 1) * cellSize - start);
  for (let i = 0; i < length;) {
    // As many whole cells as the output area holds; only the tensor's end may cut the last.
    const m = Math.min(length - i, firstLen + (CELL_SLOTS - 1) * cellSize);
    const total = arena.cellSums(s.byteOffset + 4 * i, t.byteOffset + 4 * i, m, firstLen, cellSize);
    const out = arena.cells;
    const count = firstLen >= m ? 1 : 1 + Math.ceil((m - firstLen) / cellSize);
    const lastLen = count === 1 ? m : m - firstLen - (count - 2) * cellSize;
    if (total - total === 0 && count > 2) {
      // All finite. The cells strictly inside this call are whole and met by no other call of
      // this range: copied natively, no per-cell JS (cold in a fresh thread, and ~60,000 cells).
      sq.set(out.subarray(1, count - 1), cell + 1 - first);
      n.fill(cellSize, cell + 1 - first, cell + count - 1 - first);
      sq[cell - first] += out[0]; n[cell - first] += firstLen;
      sq[cell + count - 1 - first] += out[count - 1]; n[cell + count - 1 - first] += lastLen;
    } else {
      for (let k = 0, j = i, len = firstLen; k < count; k++, j += len, len = cellSize) {
        const l = Math.min(len, i + m - j), v = out[k], c = cell + k - first;
        if (v - v === 0) { sq[c] += v; n[c] += l; } else addCellsJs(s.subarray(j, j + l), t.subarray(j, j + l), (cell + k) * cellSize, l, cellSize, bins);
      }
    }
    cell += count; // a call ends inside a cell only at the chunk's end, after which there is no next call
    i += m;
    firstLen = Math.min(cellSize, length - i);
  }
}

/** Largest cell the module sums (elements); larger ones take the JS loop. */
const MAX_MODULE_CELL = 1 << 16;

function addCellsJs(s: Values, t: Values, start: number, length: number, cellSize: number, bins: Bins): void {
  let cell = Math.floor(start / cellSize);
  let left = (cell + 1) * cellSize - start;
  let acc = 0, k = 0;
  const { sq, n, first } = bins;
  for (let i = 0; i < length; i++) {
    const d = s[i] - t[i];
    if (d - d === 0) { acc += d * d; k++; }
    if (--left === 0) { sq[cell - first] += acc; n[cell - first] += k; acc = 0; k = 0; cell++; left = cellSize; }
  }
  if (left !== cellSize) { sq[cell - first] += acc; n[cell - first] += k; }
}
