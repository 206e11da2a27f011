// The in-process runners and the runtimes they load (TensorFlow.js, ONNX Runtime): bundled on
// their own as dist/experiment-runtimes.js and loaded on the first experiment, so the CLI and
// the worker start without parsing ~3 MB that a compare never uses (esbuild.mjs).
export { openTfjsRunner } from './tfjsRunner';
export { openOnnxRunner } from './onnxRunner';
