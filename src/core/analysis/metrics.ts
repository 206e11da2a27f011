// Compares one source tensor with one target tensor of the same shape, streaming both in
// lockstep (same chunk size, canonical order) and accumulating in float64 through kernels.ts.
// Conv weights also get the RMSE of each output filter and of each (filter, input channel)
// cell, in the same pass (pairAccumulator.ts). Large pairs stored plainly are cut into ranges
// summed by the pair threads (pairThreads.ts), one per core, when the caller passes them.
import { TensorInfo } from '../common/types';
import { numel } from '../tensor/dtypes';
import { CancelToken, throwIfCancelled } from '../common/errors';
import { FilePool, float32Capable, SmallPairs, smallPair, streamPair, threadSide, DEFAULT_CHUNK_ELEMENTS } from '../tensor/tensorData';
import { metricsOf as pairMetricsOf, PairMetrics } from '../tensor/kernels';
import { convGeometry, PairAccumulator, rowGeometry } from '../tensor/pairAccumulator';
import type { ScaleInvariantMetrics } from '../shared/reportTypes';
import { perFilterInvariant, perTensorInvariant } from './scaleInvariance';
import type { Bins, ConvGeometry } from '../tensor/pairTypes';
import { PairThreadPool, PARALLEL_MIN_ELEMENTS, rangesOf } from '../tensor/pairThreads';

export interface TensorPairMetrics extends PairMetrics {
  filterRmse?: number[];
  filterGrid?: { rows: number; cols: number; values: number[] };
  nonFinite?: { source: number; target: number };
  /** Elements compared (finite pairs). */
  n: number;
  /** Σ(s−t)² and Σs² over the finite pairs (a BN layer's γ and β are judged as one vector from them). */
  sumSqDiff: number;
  sumSqSource: number;
  scaleInvariant?: ScaleInvariantMetrics;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 1e22

/**
 * Grid cells keep 7 significant digits (relative error < 1e-6): enough for a heat map, half the
 * JSON. Rounded by arithmetic, not toPrecision, which took ~15 ms for the 100,000 cells of a
 * large model on the compare's critical path: an integer divided (or multiplied) by an exact
 * power of ten rounds correctly, so the double printed is the 7-digit decimal, as toPrecision's.
 */
export function gridValue(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const k = 6 - Math.floor(Math.log10(Math.abs(x)));
  if (k >= 0 && k <= 22) return Math.round(x * POW10[k]) / POW10[k];
  if (k < 0 && k >= -22) return Math.round(x / POW10[-k]) * POW10[-k];
  return Number(x.toPrecision(7));
}

export interface CompareOptions {
  /** Treat as a conv weight [out, in, ...]: per-filter and per-cell RMSE. */
  conv: boolean;
  /** The kernel feeds a normalization: also its change with that normalization's scale removed, per output filter (BatchNorm) or per tensor (LayerNorm, GroupNorm). */
  invariance?: 'filter' | 'tensor';
  token?: CancelToken;
  /** Called after each chunk (or range) with the number of elements just compared. */
  onElements?: (n: number) => void;
  chunkElements?: number;
  /** The pair threads to hand large pairs to; undefined sums everything in this thread. */
  threads?: PairThreadPool;
  /** The threads read past the page cache (a pair larger than memory, see engine.ts). */
  direct?: boolean;
  /** Reads small pairs without a stream; one pair at a time (the caller awaits each compare). */
  small?: SmallPairs;
}

export async function compareTensors(source: TensorInfo, target: TensorInfo, pool: FilePool, opts: CompareOptions): Promise<TensorPairMetrics> {
  return compareTensorsNow(source, target, pool, opts);
}

/**
 * compareTensors, answering at once (no promise) when the pair is small and its bytes are in
 * the files' windows already: a state dict of 100,000 small tensors then pays no promise and
 * no turn of the event loop per pair.
 */
export function compareTensorsNow(source: TensorInfo, target: TensorInfo, pool: FilePool, opts: CompareOptions): TensorPairMetrics | Promise<TensorPairMetrics> {
  const n = numel(source.shape);
  if (numel(target.shape) !== n) throw new Error(`compareTensors: ${source.name} and ${target.name} differ in size`);
  // A dense kernel before a BatchNorm is summed per row (its output channels), without a grid.
  const geometry = convGeometry(source.shape, opts.conv) ?? (opts.invariance === 'filter' ? rowGeometry(source.shape) : undefined);
  const acc = new PairAccumulator(geometry, 0, n);
  // Without per-filter sums the metrics do not depend on the order of the elements: two tensors
  // stored in the same transposed layout (Keras with Keras, ONNX with ONNX) are compared in their
  // stored order, as plainly as safetensors (threads included), not transposed first.
  const [s, t] = !geometry && sameStoredLayout(source, target) ? [asStored(source), asStored(target)] : [source, target];

  if (opts.small && smallPair(s, t)) {
    throwIfCancelled(opts.token);
    const sum = ([source, target]: [Float32Array, Float32Array]) => {
      acc.add(source, target, 0, n);
      opts.onElements?.(n);
      return metricsOf(acc, geometry, opts);
    };
    const values = opts.small.read(s, t);
    return values instanceof Promise ? values.then(sum) : sum(values);
  }
  return compareStreamed(s, t, n, acc, geometry, pool, opts);
}

async function compareStreamed(s: TensorInfo, t: TensorInfo, n: number, acc: PairAccumulator, geometry: ConvGeometry | undefined, pool: FilePool, opts: CompareOptions): Promise<TensorPairMetrics> {
  const sides = opts.threads && forThreads(s, t) ? await Promise.all([threadSide(s, pool), threadSide(t, pool)]) : undefined;
  if (opts.threads && sides?.[0] && sides[1]) {
    const [source, target] = sides;
    const jobs = rangesOf(n).map(([start, count]) => ({ source, target, start, count, geometry, direct: opts.direct }));
    await opts.threads.sumRanges(jobs, (part) => acc.absorb(part), opts.token, opts.onElements);
  } else {
    for await (const c of streamPair(s, t, pool, opts.chunkElements ?? DEFAULT_CHUNK_ELEMENTS, opts.token)) {
      throwIfCancelled(opts.token);
      acc.add(c.source, c.target, c.start, c.length);
      opts.onElements?.(c.length);
    }
  }
  return metricsOf(acc, geometry, opts);
}

function sameStoredLayout(s: TensorInfo, t: TensorInfo): boolean {
  const same = (a?: number[], b?: number[]) => !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
  return !!s.permute && same(s.permute, t.permute) && same(s.storedShape, t.storedShape);
}

/** The tensor in its stored layout (its elements in file order). */
function asStored(t: TensorInfo): TensorInfo {
  return { ...t, shape: t.storedShape!, storedShape: undefined, permute: undefined };
}

/** Whether the pair threads can take this pair: large enough, both sides stored as plain floats. */
export function forThreads(s: TensorInfo, t: TensorInfo): boolean {
  let n: number;
  try { n = numel(s.shape); } catch { return false; }
  return n >= PARALLEL_MIN_ELEMENTS && float32Capable(s) && float32Capable(t);
}

function metricsOf(acc: PairAccumulator, g: ConvGeometry | undefined, opts: CompareOptions): TensorPairMetrics {
  const total = acc.total;
  // Fields copied one by one, not spread: V8 may allocate an object spread's clones straight
  // into the old generation (it found this one outliving young collections), which made this
  // line alone leave ~50 MB of garbage there on a 100,000-tensor compare.
  const pm = pairMetricsOf(total);
  const m: TensorPairMetrics = { rmse: pm.rmse, relRmse: pm.relRmse, cosine: pm.cosine, maxAbsDiff: pm.maxAbsDiff, n: total.n, sumSqDiff: total.sumSqDiff, sumSqSource: total.sumSqSource };
  if (total.nonFiniteSource || total.nonFiniteTarget) m.nonFinite = { source: total.nonFiniteSource, target: total.nonFiniteTarget };
  // A BatchNorm over a kernel too large for per-filter sums still removes at least a common scale.
  if (opts.invariance === 'filter' && g && acc.filters) m.scaleInvariant = perFilterInvariant(acc.filters, total);
  else if (opts.invariance) m.scaleInvariant = perTensorInvariant(total);
  if (g && acc.filters && opts.conv) {
    m.filterRmse = rootMeans(acc.filters, (x) => x);
    if (acc.cells) m.filterGrid = { rows: g.outCh, cols: g.inCh, values: rootMeans(acc.cells, gridValue) };
  }
  return m;
}

/** The RMSE of each bin. A plain loop: Array.from with a callback was ~10 ms for 100,000 cells. */
function rootMeans(b: Bins, round: (x: number) => number): number[] {
  const out = new Array<number>(b.sq.length);
  for (let i = 0; i < out.length; i++) out[i] = round(rootMean(b.sq[i], b.n[i]));
  return out;
}

/** NaN (null in JSON) when a filter or cell had no finite pair to compare. */
function rootMean(sq: number, count: number): number {
  return count > 0 ? Math.sqrt(sq / count) : NaN;
}
