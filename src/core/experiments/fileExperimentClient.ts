// Runs a file experiment (TF.js, Keras, ONNX: the architecture is in the file) in the experiment
// thread (fileExperimentThread.ts), for the CLI and the worker alike. The thread holds the
// runtimes (~3 MB of JavaScript, loaded only by an experiment) and does the compute; this side
// relays progress, and a cancel terminates the thread, which stops even a kernel mid-batch.
import type { Worker } from 'node:worker_threads';
import { CancelledError, CheckpointError } from '../common/errors';
import type { FormatName } from '../common/types';
import { architectureRuntime } from '../shared/experimentRuntime';
import type { Report } from '../shared/reportTypes';
import { startCoreThread } from '../tensor/threadEntry';
import type { MetricRequest } from './evalMetric';
import type { ImageNormalization } from './evalSet';
import type { ExperimentProgress, ExperimentResult } from './types';

/** What a file experiment needs besides the report: plain data (it crosses into the thread). */
export interface FileExperimentRequest {
  /** The evaluation set: an .npz with x and y, or a folder of images in class subfolders. */
  data: string;
  metric?: MetricRequest;
  /** Points of accuracy (or percent of the baseline loss) a replacement may cost and still keep performance. */
  tolerance?: number;
  /** Per-channel mean/std of images decoded from a folder (none: pixels in [0, 1]). */
  normalize?: ImageNormalization;
}

export interface FileExperimentThreadInput { report: Report; options: FileExperimentRequest }

export type FileExperimentThreadMessage =
  | { type: 'progress'; progress: ExperimentProgress }
  | { type: 'done'; result: ExperimentResult }
  | { type: 'failed'; checkpoint: true; file: string; problem: string; message: string }
  /** Anything else; `code` and `path` of Node's errors about a path (ENOENT on the data, ...). */
  | { type: 'failed'; checkpoint: false; message: string; stack?: string; code?: string; path?: string };

/** The message of a target whose file holds weights only (the PyTorch path needs the user's code). */
export function noArchitectureProblem(format: FormatName): string {
  return `is a ${format} checkpoint, which holds weights but not the architecture: run the experiment with --model FILE.py:CALLABLE (PyTorch), or on a Keras, TF.js or ONNX model`;
}

export function runFileExperimentInThread(report: Report, options: FileExperimentRequest & {
  onProgress?: (p: ExperimentProgress) => void;
  signal?: AbortSignal;
}): Promise<ExperimentResult> {
  if (!architectureRuntime(report.target.format)) return Promise.reject(new CheckpointError(report.target.path, noArchitectureProblem(report.target.format)));
  if (options.signal?.aborted) return Promise.reject(new CancelledError());
  const { onProgress, signal, ...plain } = options;
  const input: FileExperimentThreadInput = { report, options: plain };
  return new Promise<ExperimentResult>((resolve, reject) => {
    let settled = false;
    const w: Worker = startCoreThread('experiments/fileExperimentThread.ts', 'experiment-thread.js', { workerData: input });
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    // Terminate stops the thread's JavaScript and WebAssembly at once; the answer waits for it,
    // so a cancelled experiment no longer uses the CPU when the caller hears of it.
    const onAbort = () => finish(() => { void w.terminate().finally(() => reject(new CancelledError())); });
    signal?.addEventListener('abort', onAbort);
    w.on('message', (m: FileExperimentThreadMessage) => {
      if (m.type === 'progress') { if (!settled) onProgress?.(m.progress); return; }
      finish(() => {
        if (m.type === 'done') resolve(m.result);
        else if (m.checkpoint) reject(Object.assign(new CheckpointError(m.file, m.problem), { message: m.message }));
        else reject(Object.assign(new Error(m.message), { stack: m.stack ?? m.message, code: m.code, path: m.path }));
        void w.terminate();
      });
    });
    w.on('error', (e) => finish(() => reject(e)));
    w.on('exit', (code) => finish(() => reject(new Error(`the experiment thread exited (code ${code}) without an answer`))));
  });
}
