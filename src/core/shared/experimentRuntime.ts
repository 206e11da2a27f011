// Which replacement experiment a compare report's target allows: the file holds the architecture
// (TF.js layers model, Keras full model, ONNX), so TensorFlow.js or ONNX Runtime builds the model
// and only an evaluation set is needed (nothing of the user's code runs), or it holds weights only
// (PyTorch, safetensors, ...), so the user's own model and data factories are needed.
import type { FormatName } from '../common/types';

/** The runtime that can build a model from a file of this format, if any. */
export function architectureRuntime(format: FormatName): 'tfjs' | 'onnx' | undefined {
  if (format === 'tfjs' || format === 'keras-h5' || format === 'keras-v3') return 'tfjs';
  if (format === 'onnx') return 'onnx';
  return undefined;
}
