// A replacement experiment on a model whose architecture is in its file (TF.js, Keras full
// models, ONNX): no user code, only an evaluation set. The same plan, result schema and
// measured verdict as the PyTorch experiment; the runner is TensorFlow.js or ONNX Runtime. Runs in
// the experiment thread (fileExperimentThread.ts; fileExperimentClient.ts starts it).
import { resolve } from 'node:path';
import { CancelledError, CheckpointError } from '../common/errors';
import { Checkpoint } from '../common/types';
import { openCheckpoint } from '../formats/open';
import type { Report } from '../shared/reportTypes';
import { architectureRuntime } from '../shared/experimentRuntime';
import { FileExperimentRequest, noArchitectureProblem } from './fileExperimentClient';
import { judgeMeasurements } from './measured';
import { planExperiments, planSteps } from './plan';
import type { EvalRunner } from './runner';
import { openOnnxRunner } from './onnxRunner';
import { openTfjsRunner } from './tfjsRunner';
import { DEFAULT_TOLERANCE, ExperimentProgress, ExperimentResult } from './types';

export interface FileExperimentOptions extends FileExperimentRequest {
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
    return {
      schema: 'reuse-lens/experiment@1',
      source: report.source.path, target: report.target.path,
      model: `architecture in ${report.target.path}`, data: resolve(opts.data), cwd: process.cwd(),
      python: '', torch: '', device: 'cpu', runtime: runner.runtime, samples: runner.samples(),
      metric, baseline: { value: baseline },
      ...judgeMeasurements(plan, metric, baseline, values, tolerance),
      durationMs: Date.now() - started,
    };
  } finally {
    await runner.dispose();
  }
}

async function openRunner(target: Checkpoint, source: Checkpoint, opts: FileExperimentOptions): Promise<EvalRunner> {
  const runtime = architectureRuntime(target.format);
  const metric = opts.metric ?? 'auto';
  if (runtime === 'tfjs') return openTfjsRunner(target, source, opts.data, metric, opts.normalize);
  if (runtime === 'onnx') return openOnnxRunner(target, source, opts.data, metric, opts.normalize);
  throw new CheckpointError(target.path, noArchitectureProblem(target.format));
}
