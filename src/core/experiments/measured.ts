// The measured network verdict: the paper's first condition ("reusing the kernels keeps or
// improves performance") judged on the user's own data, with a tolerance for noise.
import type { ExperimentPlan } from './plan';
import type { ExperimentMetric, ExperimentResult, LayerReplacement, ReplacementResult, RoleReplacement } from './types';

/**
 * The measured part of a result, from the metric of every planned evaluation (by step id),
 * whichever runner took them (the Python driver, TensorFlow.js, ONNX Runtime).
 */
export function judgeMeasurements(plan: ExperimentPlan, metric: ExperimentMetric, baseline: number, values: Record<string, number>, tolerance: number):
  Pick<ExperimentResult, 'layers' | 'roles' | 'reuseSet' | 'network'> {
  const tol = absoluteTolerance(metric, baseline, tolerance);
  const measure = (id: string, pairs: [string, string][]): ReplacementResult => {
    const value = values[id];
    const delta = value - baseline;
    return { value, delta, replaced: pairs.map((p) => p[1]), keeps: keeps(metric, delta, tol) };
  };
  const layers: LayerReplacement[] = plan.layers.map((s) => ({ name: s.label, ...measure(s.id, s.pairs) }));
  const roles: RoleReplacement[] = plan.roles.map((s) => ({ role: s.role!, label: s.label, layers: s.layers, ...measure(s.id, s.pairs) }));
  const reuseSet = plan.reuseSet ? { layers: plan.reuseSet.layers, ...measure(plan.reuseSet.id, plan.reuseSet.pairs) } : null;
  return { layers, roles, reuseSet, network: networkVerdict(metric, tolerance, baseline, layers, roles, reuseSet) };
}

/** The tolerance in the metric's own units: points of accuracy, or percent of the baseline loss. */
export function absoluteTolerance(metric: ExperimentMetric, baseline: number, tolerance: number): number {
  return metric.name === 'accuracy' ? tolerance : (tolerance / 100) * Math.abs(baseline);
}

/** Whether a replacement keeps performance: better, or worse by no more than the tolerance. */
export function keeps(metric: ExperimentMetric, delta: number, absTolerance: number): boolean {
  // A hair of float noise (a loss summed in another order) never flips a verdict.
  const slack = absTolerance + 1e-9;
  return metric.higherIsBetter ? delta >= -slack : delta <= slack;
}

/** `0.5 points`, `-1.20 points`, `+0.0123 (1.5 % of the loss)` */
export function formatDelta(metric: ExperimentMetric, delta: number, baseline?: number): string {
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  if (metric.name === 'accuracy') return `${sign}${Math.abs(delta).toFixed(2)} points`;
  const rel = baseline ? ` (${sign}${(Math.abs(delta / baseline) * 100).toFixed(1)} %)` : '';
  return `${sign}${Math.abs(delta).toPrecision(3)}${rel}`;
}

function metricWords(metric: ExperimentMetric): string {
  return metric.name === 'accuracy' ? 'accuracy' : `the ${metric.loss ?? ''} loss`.replace('  ', ' ');
}

function toleranceWords(metric: ExperimentMetric, tolerance: number): string {
  return metric.name === 'accuracy' ? `${tolerance} points` : `${tolerance} % of the baseline`;
}

export function networkVerdict(
  metric: ExperimentMetric, tolerance: number, baseline: number,
  layers: LayerReplacement[], roles: RoleReplacement[], reuseSet: ReplacementResult & { layers: string[] } | null,
): ExperimentResult['network'] {
  const unit = metric.name === 'accuracy' ? 'points' as const : '% of baseline' as const;
  const m = metricWords(metric), tol = toleranceWords(metric, tolerance);
  const alone = layers.filter((l) => l.keeps).length;
  const aloneWords = `${alone} of ${layers.length} layers keep ${m} when replaced alone`;
  const done = (verdict: ExperimentResult['network']['verdict'], reason: string) => ({ verdict, reason, measured: true as const, tolerance, toleranceUnit: unit });
  if (reuseSet) {
    const n = reuseSet.layers.length, what = `replacing the ${n} reuse-verdict layer${n === 1 ? '' : 's'}`;
    const d = formatDelta(metric, reuseSet.delta, baseline);
    if (reuseSet.keeps) return done('reusable', `reusable: ${what} keeps ${m} within ${tol} (${d})`);
    return done(alone ? 'partly reusable' : 'not reusable', `${alone ? 'partly reusable' : 'not reusable'}: ${what} together changes ${m} by ${d}, beyond ${tol}; ${aloneWords}`);
  }
  const kernels = roles.find((r) => r.role === 'conv-weight');
  if (kernels?.keeps) {
    return done('reusable', `reusable: replacing all ${kernels.layers.length} conv kernels keeps ${m} within ${tol} (${formatDelta(metric, kernels.delta, baseline)}), though no layer was judged reuse by RMSE`);
  }
  if (!layers.length) return done('not reusable', 'not reusable: no layer has tensors the source can replace (no matched layer of the same shape)');
  return done(alone ? 'partly reusable' : 'not reusable', `${alone ? 'partly reusable' : 'not reusable'}: no layer was judged reuse; ${aloneWords} within ${tol}`);
}
