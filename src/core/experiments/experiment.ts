// A replacement experiment from a compare report: plan the replacements, run them in the user's
// PyTorch (driver.ts), and judge the network from the measurements (measured.ts).
import { resolve } from 'node:path';
import type { Report } from '../shared/reportTypes';
import { DriverProgress, runDriver } from './driver';
import { absoluteTolerance, keeps, networkVerdict } from './measured';
import { planExperiments, planSteps } from './plan';
import { DEFAULT_TOLERANCE, ExperimentProgress, ExperimentResult, LayerReplacement, ReplacementResult, RoleReplacement } from './types';

export interface ExperimentOptions {
  /** The interpreter: a path or a name on PATH. */
  python: string;
  /** The folder the factories' files are relative to (the workspace folder). */
  cwd: string;
  /** `FILE.py:CALLABLE` returning the target's torch.nn.Module (weights are loaded into it). */
  model: string;
  /** `FILE.py:CALLABLE` returning an iterable of (inputs, targets) batches. */
  data: string;
  metric?: 'auto' | 'accuracy' | 'loss';
  device?: 'auto' | 'cpu' | 'cuda';
  /** Points of accuracy (or percent of the baseline loss) a replacement may cost and still keep performance. */
  tolerance?: number;
  onProgress?: (p: ExperimentProgress) => void;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

export async function runExperiment(report: Report, opts: ExperimentOptions): Promise<ExperimentResult> {
  const started = Date.now();
  const plan = planExperiments(report);
  const steps = planSteps(plan);
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const r = await runDriver({
    python: opts.python, cwd: opts.cwd, signal: opts.signal, onLog: opts.onLog,
    plan: {
      source: resolve(report.source.path), target: resolve(report.target.path), model: opts.model, data: opts.data,
      metric: opts.metric ?? 'auto', device: opts.device ?? 'auto', prefixes: report.options.prefixRules,
      experiments: steps.map((s) => ({ id: s.id, label: s.label, replace: s.pairs })),
    },
    onProgress: opts.onProgress && ((p: DriverProgress) => opts.onProgress!({ done: p.done, total: p.total, label: p.label, etaSeconds: p.eta })),
  });
  const tol = absoluteTolerance(r.metric, r.baseline, tolerance);
  const measure = (id: string, pairs: [string, string][]): ReplacementResult => {
    const value = r.values[id];
    const delta = value - r.baseline;
    return { value, delta, replaced: pairs.map((p) => p[1]), keeps: keeps(r.metric, delta, tol) };
  };
  const layers: LayerReplacement[] = plan.layers.map((s) => ({ name: s.label, ...measure(s.id, s.pairs) }));
  const roles: RoleReplacement[] = plan.roles.map((s) => ({ role: s.role!, label: s.label, layers: s.layers, ...measure(s.id, s.pairs) }));
  const reuseSet = plan.reuseSet ? { layers: plan.reuseSet.layers, ...measure(plan.reuseSet.id, plan.reuseSet.pairs) } : null;
  return {
    schema: 'reuse-lens/experiment@1',
    source: report.source.path, target: report.target.path,
    model: opts.model, data: opts.data, cwd: opts.cwd,
    python: r.python, torch: r.torch, device: r.device, samples: r.samples,
    metric: r.metric, baseline: { value: r.baseline },
    layers, roles, reuseSet,
    network: networkVerdict(r.metric, tolerance, r.baseline, layers, roles, reuseSet),
    durationMs: Date.now() - started,
  };
}
