// What the RMSE chart shows, without chart.js: one bar per layer in network order, its value
// in the chosen metric, and the threshold lines when they apply to that metric.
import type { LayerReport, Report, Verdict } from '../../src/protocol';
import { depthGroups, MAX_BARS, nameSegments, type DepthGroup } from './depthGroups';

export type ChartMetric = 'relRmse' | 'rmse';

export interface ChartSeries {
  labels: string[];
  /** Bar heights; null where the layer has no kernel metric (incompatible, one side only). */
  values: (number | null)[];
  verdicts: Verdict[];
  /** Threshold lines in the chart's metric; empty when the thresholds use the other metric. */
  thresholds: { label: string; value: number; verdict: Verdict }[];
  /** Layers without a bar, so the chart can say what is missing. */
  missing: number;
}

export function chartSeries(report: Report, metric: ChartMetric, logScale: boolean, layers: readonly LayerReport[] = networkOrder(report)): ChartSeries {
  const raw = layers.map((l) => metricOf(l, metric));
  const floor = logFloor(raw);
  const values = raw.map((v) => (v === null || Number.isNaN(v) ? null : logScale && v <= 0 ? floor : v));
  return { labels: layers.map((l) => l.name), values, verdicts: layers.map((l) => l.verdict), thresholds: chartThresholds(report, metric), missing: raw.filter((v) => v === null).length };
}

/** Threshold lines in the chart's metric; none when the thresholds use the other metric. */
export function chartThresholds(report: Report, metric: ChartMetric): ChartSeries['thresholds'] {
  const o = report.options;
  return o.metric === metric
    ? [{ label: `reuse below ${o.reuseBelow}`, value: o.reuseBelow, verdict: 'reuse' as Verdict },
       { label: `retrain from ${o.fineTuneBelow}`, value: o.fineTuneBelow, verdict: 'retrain' as Verdict }]
    : [];
}

export function metricOf(l: LayerReport, metric: ChartMetric): number | null {
  return metric === 'relRmse' ? l.kernelRelRmse : l.kernelRmse;
}

/** A log axis cannot show 0 (identical kernels): those are drawn at a floor below the smallest bar. */
export function logFloor(values: readonly (number | null)[]): number {
  let min = Infinity;
  for (const v of values) if (v !== null && v > 0 && v < min) min = v;
  return Number.isFinite(min) ? min / 10 : 1e-6;
}

const ordered = new WeakMap<Report, LayerReport[]>();

/** The report's layers in network order (cached per report object: sorting 50,000 layers once). */
export function networkOrder(report: Report): LayerReport[] {
  let o = ordered.get(report);
  if (!o || o.length !== report.layers.length) {
    o = [...report.layers].sort((a, b) => a.index - b.index);
    ordered.set(report, o);
  }
  return o;
}

/** Whether bars span so many orders of magnitude (over 50x) that a linear axis would flatten the small ones. */
export function suggestLogScale(report: Report, metric: ChartMetric): boolean {
  let lo = Infinity, hi = 0, n = 0;
  for (const l of report.layers) {
    const x = metricOf(l, metric);
    if (x === null || !(x > 0) || !Number.isFinite(x)) continue;
    n++;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  // (No Math.min(...v): 50,000 arguments overflow the stack.)
  return n >= 2 && hi / lo > 50;
}

const segmentsCache = new WeakMap<readonly LayerReport[], string[][]>();

/**
 * The groups the chart draws for layers [start, end) of `ordered` (network order), or undefined
 * when they are few enough (MAX_BARS) for one bar per layer: the demo and every small network
 * keep the per-layer chart.
 */
export function chartGroups(ordered: readonly LayerReport[], start = 0, end = ordered.length): DepthGroup[] | undefined {
  if (end - start <= MAX_BARS) return undefined;
  let segs = segmentsCache.get(ordered);
  if (!segs) { segs = nameSegments(ordered.map((l) => l.name)); segmentsCache.set(ordered, segs); }
  return depthGroups(segs, start, end);
}
