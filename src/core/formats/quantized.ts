// Quantized weights are judged as the floats they stand for: the file's integers (or float16
// halves) are described here (TF.js `quantization`, TFLite per-tensor or per-channel scale and
// zero point, TFLite float16 weights that a DEQUANTIZE op widens, ONNX QDQ/QOperator/dynamic
// int8 and float16/bfloat16 initializers) and turned into float32 as they
// are read, a chunk or a tile at a time (src/core/tensor/storedElements.ts): the location stays
// where the stored elements lie, so a quantized tensor streams like a float one, transposes
// included. Comparing the integers themselves would say nothing about the network: two
// quantizations of the same layer use different scales, and integer tensors are never judged.
import { Affine, STORED_INT_BYTES, StoredAs, StoredInt } from '../common/types';
import { CheckpointError } from '../common/errors';

export { STORED_INT_BYTES } from '../common/types';
export type { Affine, StoredInt } from '../common/types';

/**
 * The storage of a tensor whose location holds `kind` integers standing for q * scale + offset
 * (its dtype is then F32). A per-channel affine must have one scale per index of its stored axis:
 * refused otherwise, naming `file` and the tensor.
 */
export function quantizedStorage(kind: StoredInt, affine: Affine, storedShape: readonly number[], file: string, name: string): StoredAs {
  const n = affine.scale.length;
  if (affine.block !== undefined) {
    const axis = affine.axis ?? 0, b = affine.block;
    const blocks = axis >= 0 && axis < storedShape.length && Number.isSafeInteger(b) && b > 0 ? Math.ceil(storedShape[axis] / b) : -1;
    const want = blocks < 0 ? -1 : storedShape.reduce((p, d, k) => p * (k === axis ? blocks : d), 1);
    if (n !== want || affine.offset.length !== n) {
      throw new CheckpointError(file, `tensor ${name} has ${n} quantization scales for blocks of ${b} along its axis ${axis} of shape [${storedShape.join(', ')}]`);
    }
  } else if (n > 1) {
    const axis = affine.axis ?? 0;
    if (!(axis >= 0 && axis < storedShape.length) || storedShape[axis] !== n) {
      throw new CheckpointError(file, `tensor ${name} has ${n} quantization scales for its axis ${axis} of shape [${storedShape.join(', ')}]`);
    }
    if (affine.offset.length !== n) throw new CheckpointError(file, `tensor ${name} has ${n} quantization scales and ${affine.offset.length} offsets`);
  }
  return { dtype: kind, bytesPerElement: STORED_INT_BYTES[kind], affine };
}

/**
 * The storage of a tensor whose location holds float16 (or bfloat16) halves a converter quantized
 * float32 weights to (TF.js `quantization: {dtype: float16}`, TFLite's float16 quantization, ONNX
 * float16/bfloat16 initializers): read as their float32 (exact: every half is a float32), the type
 * the model computes with.
 */
export function float16Storage(half: 'F16' | 'BF16' = 'F16'): StoredAs {
  return { dtype: half === 'F16' ? 'float16' : 'bfloat16', bytesPerElement: 2 };
}
