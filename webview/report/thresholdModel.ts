// Threshold controls without the DOM: a slider on a log scale (kernel distances span decades:
// 0.003 to 3 is common), keeping reuse <= fine-tune, and sensible starting values when the
// user switches between relative and absolute RMSE.
import type { Report, Thresholds } from '../../src/protocol';

export const SLIDER_STEPS = 1000;

export interface SliderRange { lo: number; hi: number }

/** log10 range covering the report's kernel values in `metric` and the thresholds, with margin. */
export function sliderRange(report: Report, t: Thresholds): SliderRange {
  // A loop, not Math.min(...values): a 100,000-layer report would overflow the call stack.
  let min = Infinity, max = -Infinity;
  const see = (v: number | null) => { if (v !== null && v > 0 && Number.isFinite(v)) { if (v < min) min = v; if (v > max) max = v; } };
  see(t.reuseBelow); see(t.fineTuneBelow);
  for (const l of report.layers) see(t.metric === 'relRmse' ? l.kernelRelRmse : l.kernelRmse);
  if (!Number.isFinite(min)) { min = 1e-3; max = 1; }
  const lo = Math.floor(Math.log10(min) - 0.5);
  const hi = Math.ceil(Math.log10(max) + 0.5);
  return { lo, hi: hi > lo ? hi : lo + 1 };
}

export function sliderToValue(pos: number, r: SliderRange): number {
  const x = r.lo + (Math.min(SLIDER_STEPS, Math.max(0, pos)) / SLIDER_STEPS) * (r.hi - r.lo);
  return roundNice(10 ** x);
}

export function valueToSlider(v: number, r: SliderRange): number {
  if (!(v > 0)) return 0;
  return Math.round(Math.min(1, Math.max(0, (Math.log10(v) - r.lo) / (r.hi - r.lo))) * SLIDER_STEPS);
}

/** Two significant digits: slider values a person can read and type back. */
export function roundNice(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return v;
  return Number(v.toPrecision(2));
}

/** Sets one threshold, moving the other so that reuseBelow <= fineTuneBelow always holds. */
export function setThreshold(t: Thresholds, which: 'reuseBelow' | 'fineTuneBelow', value: number): Thresholds {
  if (!Number.isFinite(value) || value < 0) return t;
  if (which === 'reuseBelow') return { ...t, reuseBelow: value, fineTuneBelow: Math.max(value, t.fineTuneBelow) };
  return { ...t, fineTuneBelow: value, reuseBelow: Math.min(value, t.reuseBelow) };
}

/** Parses what a user typed into a threshold field: a non-negative number, or undefined. */
export function parseThreshold(text: string): number | undefined {
  const s = text.trim();
  if (!/^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) return undefined;
  const v = Number(s);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Thresholds in the other metric that judge this report about the same way: scaled by the
 * median ratio rmse/relRmse (the typical weight scale) of its layers.
 */
export function switchMetric(report: Report, t: Thresholds, metric: Thresholds['metric']): Thresholds {
  if (metric === t.metric) return t;
  const ratios = report.layers
    .filter((l) => l.kernelRmse !== null && l.kernelRelRmse !== null && l.kernelRelRmse > 0 && l.kernelRmse > 0)
    .map((l) => (l.kernelRmse as number) / (l.kernelRelRmse as number))
    .sort((a, b) => a - b);
  const scale = ratios.length ? ratios[Math.floor(ratios.length / 2)] : 1;
  const f = metric === 'rmse' ? scale : 1 / scale;
  return { metric, reuseBelow: roundNice(t.reuseBelow * f), fineTuneBelow: roundNice(t.fineTuneBelow * f) };
}
