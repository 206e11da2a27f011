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
import { judgeMeasurements } from './measured';
import { planExperiments, planSteps } from './plan';
import type { EvalRunner } from './runner';
import { DEFAULT_TOLERANCE, ExperimentProgress, ExperimentResult } from './types';

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
  // The runtimes load on first use (a bundle of their own): a compare never pays for them. A
  // require, not import(): the CLI's bundle runs as a vm.Script (src/cli/launch.ts), which has no
  // dynamic import.
  const runtimes = (): typeof import('./runtimes') => require('./runtimes');
  if (runtime === 'tfjs') return adopt(() => runtimes().openTfjsRunner(target, source, opts.data, metric));
  if (runtime === 'onnx') return adopt(() => runtimes().openOnnxRunner(target, source, opts.data, metric));
  throw new CheckpointError(target.path, `is a ${target.format} checkpoint, which holds weights but not the architecture: run the experiment with --model FILE.py:CALLABLE (PyTorch), or on a Keras, TF.js or ONNX model`);
}

/**
 * The runtimes' bundle has its own copy of our error classes, so its CheckpointErrors fail
 * `instanceof` in the CLI and the worker, which would then report a user's bad input as a bug.
 * Errors crossing from it are re-made as this bundle's.
 */
function ours(e: unknown): unknown {
  const x = e as { name?: string; file?: string; problem?: string };
  if (x?.name === 'CheckpointError' && !(e instanceof CheckpointError) && typeof x.file === 'string' && typeof x.problem === 'string') return new CheckpointError(x.file, x.problem);
  if (x?.name === 'CancelledError' && !(e instanceof CancelledError)) return new CancelledError();
  return e;
}

async function adopt(open: () => Promise<EvalRunner>): Promise<EvalRunner> {
  const r = await open().catch((e: unknown) => { throw ours(e); });
  return {
    runtime: r.runtime,
    evaluate: (pairs) => r.evaluate(pairs).catch((e: unknown) => { throw ours(e); }),
    metric: () => r.metric(),
    samples: () => r.samples(),
    dispose: () => r.dispose(),
  };
}
