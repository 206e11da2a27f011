// A replacement experiment from a compare report: plan the replacements, run them in the user's
// PyTorch (driver.ts), and judge the network from the measurements (measured.ts).
import { resolve } from 'node:path';
import type { Report } from '../shared/reportTypes';
import { DriverProgress, runDriver } from './driver';
import { judgeMeasurements } from './measured';
import { planExperiments, planSteps } from './plan';
import { DEFAULT_TOLERANCE, ExperimentProgress, ExperimentResult } from './types';

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
  return {
    schema: 'reuse-lens/experiment@1',
    source: report.source.path, target: report.target.path,
    model: opts.model, data: opts.data, cwd: opts.cwd,
    python: r.python, torch: r.torch, device: r.device, samples: r.samples,
    metric: r.metric, baseline: { value: r.baseline },
    ...judgeMeasurements(plan, r.metric, r.baseline, r.values, tolerance),
    durationMs: Date.now() - started,
  };
}
