// The experiment thread's entry (bundled as dist/experiment-thread.js, with TensorFlow.js and ONNX
// Runtime inside it and in no other bundle). A file experiment's compute (WebAssembly kernels,
// ONNX Runtime sessions) runs here, so the process that asked (the worker, the CLI) keeps its
// event loop: the worker answers pings and cancels meanwhile, and a cancel terminates this thread.
// Answers are plain data: progress per evaluation, then the result or the error's parts.
import { parentPort, workerData } from 'node:worker_threads';
import { CheckpointError } from '../common/errors';
import { runFileExperiment } from './fileExperiment';
import type { FileExperimentThreadInput, FileExperimentThreadMessage } from './fileExperimentClient';

const port = parentPort;
if (!port) throw new Error('fileExperimentThread.ts runs only as a worker thread');
const post = (m: FileExperimentThreadMessage) => port.postMessage(m);
const input = workerData as FileExperimentThreadInput;

runFileExperiment(input.report, { ...input.options, onProgress: (progress) => post({ type: 'progress', progress }) }).then(
  (result) => post({ type: 'done', result }),
  (e: unknown) => {
    if (e instanceof CheckpointError) { post({ type: 'failed', checkpoint: true, file: e.file, problem: e.problem, message: e.message }); return; }
    const err = e as NodeJS.ErrnoException;
    post({ type: 'failed', checkpoint: false, message: err?.message ?? String(e), stack: err?.stack, code: err?.code, path: err?.path });
  });
