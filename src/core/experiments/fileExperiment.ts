// A replacement experiment on a model whose architecture is in its file (TF.js, Keras full
// models, ONNX): no user code, only an evaluation set. The same plan, result schema and
// measured verdict as the PyTorch experiment; the runner is TensorFlow.js or ONNX Runtime, in
// this process (the worker or the CLI, never the extension host).
import { resolve } from 'node:path';
import { CancelledError, CheckpointError } from '../common/errors';
import { Checkpoint, FormatName } from '../common/types';
import { openCheckpoint } from '../formats/open';
import type { Report } from '../shared/reportTypes';
import type { MetricRequest } from './evalMetric';
import { absoluteTolerance, keeps, networkVerdict } from './measured';
import { planExperiments, planSteps } from './plan';
import type { EvalRunner } from './runner';
import { DEFAULT_TOLERANCE, ExperimentProgress, ExperimentResult, LayerReplacement, ReplacementResult, RoleReplacement } from './types';

/** The runtime that can build a model from a file of this format, if any. */
export function architectureRuntime(format: FormatName): 'tfjs' | 'onnx' | undefined {
  if (format === 'tfjs' || format === 'keras-h5' || format === 'keras-v3') return 'tfjs';
  if (format === 'onnx') return 'onnx';
  return undefined;
}

export interface FileExperimentOptions {
  /** The evaluation set: an .npz with x and y, or a folder of images in class subfolders. */
  data: string;
  metric?: MetricRequest;
  /** Points of accuracy (or percent of the baseline loss) a replacement may cost and still keep performance. */
  tolerance?: number;
  onProgress?: (p: ExperimentProgress) => void;
  signal?: AbortSignal;
}

export async function runFileExperiment(report: Report, opts: FileExperimentOptions): Promise<ExperimentResult> {
  const started = Date.now();
  const [source, target] = await Promise.all([openCheckpoint(report.source.path), openCheckpoint(report.target.path)]);
  const runner = await openRunner(target, source, opts);
  try {
    const plan = planExperiments(report);
    const steps = planSteps(plan);
    const total = steps.length + 1;
    const tick = (done: number, label: string) => {
      if (opts.signal?.aborted) throw new CancelledError();
      const per = (Date.now() - started) / Math.max(done, 1);
      opts.onProgress?.({ done, total, label, etaSeconds: done ? ((total - done) * per) / 1000 : undefined });
    };
    tick(0, 'baseline');
    const baseline = await runner.evaluate([]);
    tick(1, 'baseline');
    const values: Record<string, number> = {};
    for (const [i, s] of steps.entries()) {
      values[s.id] = await runner.evaluate(s.pairs);
      tick(i + 2, s.label);
    }
    const metric = runner.metric();
    const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
    const tol = absoluteTolerance(metric, baseline, tolerance);
    const measure = (id: string, pairs: [string, string][]): ReplacementResult => {
      const value = values[id];
      const delta = value - baseline;
      return { value, delta, replaced: pairs.map((p) => p[1]), keeps: keeps(metric, delta, tol) };
    };
    const layers: LayerReplacement[] = plan.layers.map((s) => ({ name: s.label, ...measure(s.id, s.pairs) }));
    const roles: RoleReplacement[] = plan.roles.map((s) => ({ role: s.role!, label: s.label, layers: s.layers, ...measure(s.id, s.pairs) }));
    const reuseSet = plan.reuseSet ? { layers: plan.reuseSet.layers, ...measure(plan.reuseSet.id, plan.reuseSet.pairs) } : null;
    return {
      schema: 'reuse-lens/experiment@1',
      source: report.source.path, target: report.target.path,
      model: `architecture in ${report.target.path}`, data: resolve(opts.data), cwd: process.cwd(),
      python: '', torch: '', device: 'cpu', runtime: runner.runtime, samples: runner.samples(),
      metric, baseline: { value: baseline },
      layers, roles, reuseSet,
      network: networkVerdict(metric, tolerance, baseline, layers, roles, reuseSet),
      durationMs: Date.now() - started,
    };
  } finally {
    await runner.dispose();
  }
}

async function openRunner(target: Checkpoint, source: Checkpoint, opts: FileExperimentOptions): Promise<EvalRunner> {
  const runtime = architectureRuntime(target.format);
  const metric = opts.metric ?? 'auto';
  // The runtimes load on first use: a compare never pays for them.
  if (runtime === 'tfjs') return (await import('./tfjsRunner')).openTfjsRunner(target, source, opts.data, metric);
  if (runtime === 'onnx') return (await import('./onnxRunner')).openOnnxRunner(target, source, opts.data, metric);
  throw new CheckpointError(target.path, `is a ${target.format} checkpoint, which holds weights but not the architecture: run the experiment with --model FILE.py:CALLABLE (PyTorch), or on a Keras, TF.js or ONNX model`);
}
