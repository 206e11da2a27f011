// What the RMSE chart shows, without chart.js: one bar per layer in network order, its value
// in the chosen metric, and the threshold lines when they apply to that metric.
import type { Report, Verdict } from '../../src/protocol';

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

export function chartSeries(report: Report, metric: ChartMetric, logScale: boolean): ChartSeries {
  const layers = [...report.layers].sort((a, b) => a.index - b.index);
  const raw = layers.map((l) => (metric === 'relRmse' ? l.kernelRelRmse : l.kernelRmse));
  // A log axis cannot show 0 (identical kernels): draw those at a floor below the smallest bar.
  const positive = raw.filter((v): v is number => v !== null && v > 0);
  const floor = positive.length ? Math.min(...positive) / 10 : 1e-6;
  const values = raw.map((v) => (v === null || Number.isNaN(v) ? null : logScale && v <= 0 ? floor : v));
  const o = report.options;
  const thresholds = o.metric === metric
    ? [{ label: `reuse below ${o.reuseBelow}`, value: o.reuseBelow, verdict: 'reuse' as Verdict },
       { label: `retrain from ${o.fineTuneBelow}`, value: o.fineTuneBelow, verdict: 'retrain' as Verdict }]
    : [];
  return { labels: layers.map((l) => l.name), values, verdicts: layers.map((l) => l.verdict), thresholds, missing: raw.filter((v) => v === null).length };
}

/** Whether bars span so many orders of magnitude (over 50x) that a linear axis would flatten the small ones. */
export function suggestLogScale(report: Report, metric: ChartMetric): boolean {
  const v = report.layers.map((l) => (metric === 'relRmse' ? l.kernelRelRmse : l.kernelRmse)).filter((x): x is number => x !== null && x > 0 && Number.isFinite(x));
  if (v.length < 2) return false;
  return Math.max(...v) / Math.min(...v) > 50;
}
