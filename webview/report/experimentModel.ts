// The replacement experiment beside the RMSE analysis, without the DOM: per layer the paper's
// two conditions side by side (kernel RMSE small enough to reuse / replacing the layer keeps
// performance), the points of the Δmetric-vs-RMSE scatter, and their rank correlation.
import type { ExperimentMetric, ExperimentResult, Report, Verdict } from '../../src/protocol';

export interface ConditionRow {
  name: string;
  index: number;
  relRmse: number | null;
  verdict: Verdict | undefined;
  /** Condition 2 (RMSE): the kernel change is small enough for `reuse` under the thresholds now. */
  rmseSmall: boolean;
  value: number;
  delta: number;
  /** Condition 1 (measured): replacing the layer keeps performance within the tolerance. */
  keeps: boolean;
}

/** Replaced layers in network order, with what the RMSE analysis (under the live thresholds) says of each. */
export function conditionRows(report: Report, x: ExperimentResult): ConditionRow[] {
  const byName = new Map(report.layers.map((l) => [l.name, l]));
  return x.layers.map((l) => {
    const r = byName.get(l.name);
    return { name: l.name, index: r?.index ?? Number.MAX_SAFE_INTEGER, relRmse: r?.kernelRelRmse ?? null, verdict: r?.verdict, rmseSmall: r?.verdict === 'reuse', value: l.value, delta: l.delta, keeps: l.keeps };
  }).sort((a, b) => a.index - b.index);
}

/** How much a replacement hurt: accuracy lost, or loss gained (positive = worse). */
export function harm(metric: ExperimentMetric, delta: number): number {
  return metric.higherIsBetter ? -delta : delta;
}

export interface ScatterPoint { x: number; y: number; name: string }

/** Δmetric against the kernel's relative RMSE, for the layers that have one. */
export function scatterPoints(rows: ConditionRow[]): ScatterPoint[] {
  return rows.filter((r) => r.relRmse !== null && Number.isFinite(r.relRmse)).map((r) => ({ x: r.relRmse!, y: r.delta, name: r.name }));
}

/** Average ranks (ties share the mean rank), 1-based. */
function ranks(xs: number[]): number[] {
  const order = xs.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1].v === order[i].v) j++;
    for (let k = i; k <= j; k++) out[order[k].i] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation; null with fewer than 3 points or no variation. */
export function spearman(xs: number[], ys: number[]): number | null {
  if (xs.length !== ys.length || xs.length < 3) return null;
  const rx = ranks(xs), ry = ranks(ys);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(rx), my = mean(ry);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < rx.length; i++) { sxy += (rx[i] - mx) * (ry[i] - my); sxx += (rx[i] - mx) ** 2; syy += (ry[i] - my) ** 2; }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** Rank correlation of the kernel's relative RMSE with the harm of replacing the layer. */
export function rmseHarmCorrelation(metric: ExperimentMetric, rows: ConditionRow[]): number | null {
  const pts = scatterPoints(rows);
  return spearman(pts.map((p) => p.x), pts.map((p) => harm(metric, p.y)));
}

export function metricName(m: ExperimentMetric): string {
  return m.name === 'accuracy' ? 'accuracy' : m.loss === 'mse' ? 'MSE loss' : 'cross-entropy loss';
}

export function fmtValue(m: ExperimentMetric, v: number): string {
  return m.name === 'accuracy' ? `${v.toFixed(2)} %` : Number(v.toPrecision(4)).toString();
}

export function fmtDelta(m: ExperimentMetric, d: number): string {
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  return m.name === 'accuracy' ? `${sign}${Math.abs(d).toFixed(2)}` : `${sign}${Number(Math.abs(d).toPrecision(3))}`;
}

export function toleranceText(x: ExperimentResult): string {
  return x.network.toleranceUnit === 'points' ? `${x.network.tolerance} points` : `${x.network.tolerance} % of the baseline loss`;
}
