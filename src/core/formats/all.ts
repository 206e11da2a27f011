// Registers every format reader with the dispatcher. Importing this module is what makes
// openCheckpointFile know a format; the order is the sniffing order.
import { registerReader } from './index';
import { safetensorsReader } from './safetensors';
import { safetensorsShardedReader } from './safetensorsSharded';
import { npyReader } from './numpy';
import { npzReader } from './numpyNpz';

// Each sniff checks magic bytes specific to its format (safetensors: a plausible 8-byte length
// followed by '{'; npy: \x93NUMPY; npz: a zip whose first member is a .npy), so order among
// these four does not matter; general zip and pickle readers come after them.
registerReader(safetensorsReader);
registerReader(safetensorsShardedReader);
registerReader(npyReader);
registerReader(npzReader);
import { pytorchReader } from './pytorch/pytorch';
registerReader(pytorchReader);

// Keras / TF.js / ONNX (issue 3). Keras HDF5 sniffs the HDF5 signature; a .keras zip is told
// from PyTorch/npz zips by its extension or its first entry (metadata.json, config.json).
import { kerasH5Reader, kerasZipReader } from './keras';
import { tfjsReader } from './tf/tfjs';
import { onnxReader } from './onnx/onnx';
registerReader(kerasH5Reader);
registerReader(kerasZipReader);
registerReader(tfjsReader);
registerReader(onnxReader);
import { tfliteReader } from './tf/tflite';
registerReader(tfliteReader);
