// Types shared by every part of the engine. Plain data: no classes, no I/O.

/** Element types, named as safetensors names them. */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_SIZE: Record<DType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export type FormatName =
  | 'safetensors' | 'safetensors-sharded'
  | 'pytorch-zip' | 'pytorch-legacy'
  | 'npy' | 'npz'
  | 'keras-h5' | 'keras-v3' | 'tfjs' | 'onnx' | 'tflite'
  | 'folder';

/**
 * Where a tensor's bytes are, and how to turn them into numbers in canonical layout.
 * Readers describe; src/core/tensor/tensorData.ts reads. Keeping every byte read in one module
 * is what lets the speed work (chunking, buffer reuse, prefetch) happen in one place.
 */
export type TensorLocation =
  /** Elements stored contiguously in C order at `offset` of `file`. */
  | { kind: 'contiguous'; file: string; offset: number; littleEndian: boolean }
  /**
   * A strided view into a storage (PyTorch): element i of the view is at
   * storage element storageOffset + sum(index_k * strides[k]).
   * `offset` is the byte offset of the storage's first element in `file`;
   * `storageElements` is the storage's length in elements (bounds check).
   */
  | { kind: 'strided'; file: string; offset: number; littleEndian: boolean;
      storageOffset: number; strides: number[]; storageElements: number }
  /**
   * Elements stored contiguously in C order, their bytes split over several files (a TF.js weight
   * that spans shards): the runs in order, each `length` bytes at `offset` of `file`.
   */
  | { kind: 'segmented'; segments: ByteRun[]; littleEndian: boolean }
  /**
   * C-order elements inside a raw-deflate stream (zip entry `member`, a deflated .npz member): the
   * stream is the `compressedSize` bytes at `offset` of `file` and inflates to `inflatedSize`
   * bytes (as the archive declares); element 0 is byte `skip` of them.
   */
  | { kind: 'deflated'; file: string; member: string; offset: number; compressedSize: number; inflatedSize: number; skip: number; littleEndian: boolean }
  /**
   * A dataset read a hyperslab at a time (a chunked or compressed HDF5 dataset): `read(start,
   * count, into)` gives the C-order bytes of the box of the stored shape, written into `into`
   * (shared memory the reader keeps, so that no band allocates) when it is large enough;
   * `chunks` is the storage's chunk shape, which reads align to. `file` names the file in messages.
   */
  | { kind: 'slabs'; file: string; chunks: number[]; read: (start: number[], count: number[], into: Uint8Array) => Promise<Uint8Array>; littleEndian: boolean }
  /** Bytes produced by a loader (deflated zip entry, HDF5 dataset, ...), raw in `dtype`. */
  | { kind: 'loader'; load: () => Promise<Uint8Array>; littleEndian: boolean };

/** Integer types quantized weights are stored as. */
export type StoredInt = 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32';

export const STORED_INT_BYTES: Record<StoredInt, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4 };

/**
 * value = q * scale[c] + offset[c], c the index along stored axis `axis` (per-channel
 * quantization) or 0. TF.js: scale, offset = min. TFLite/ONNX: scale, offset = -zero_point * scale.
 * Blocked quantization (ONNX DequantizeLinear's block_size): each run of `block` indices along
 * `axis` has its own scale, so c is the element's index in the stored shape with that axis cut
 * into ceil(size / block) blocks (C order), the last block possibly shorter.
 */
export interface Affine { scale: number[]; offset: number[]; axis?: number; block?: number }

/**
 * Stored elements that are not the `dtype` handed out: float16 or bfloat16 halves widened to
 * float32 (exact), or little-endian integers standing for the float32 Math.fround(q * scale[c] + offset[c]).
 */
export type StoredAs =
  | { dtype: 'float16' | 'bfloat16'; bytesPerElement: 2 }
  | { dtype: StoredInt; bytesPerElement: number; affine: Affine };

/** `length` bytes at `offset` of `file`. */
export interface ByteRun { file: string; offset: number; length: number }

export interface TensorInfo {
  /** Flattened, dotted name as the user knows it: `features.0.weight`. */
  name: string;
  dtype: DType;
  /** Shape in canonical (PyTorch) layout. */
  shape: number[];
  /** Shape as stored in the file, when it differs from `shape` (Keras/TF.js kernels). */
  storedShape?: number[];
  /** Permutation taking stored axes to canonical axes: canonical[k] = stored[perm[k]]. */
  permute?: number[];
  /**
   * Quantized or narrower storage (TF.js uint8/uint16/float16, TFLite int8/uint8, ONNX int8):
   * the elements `location` holds, and how they become the values handed out. `dtype` is then
   * what the reader hands out (F32: the values the quantized integers stand for), so the tensor
   * is judged like any float; the stored type is shown beside. Decoded element by element as
   * bytes are read (src/core/tensor/storedElements.ts): never the whole tensor at once.
   */
  storage?: StoredAs;
  location: TensorLocation;
  /**
   * Layer and role given by the file's own graph (the op that consumes the tensor: TF.js graph
   * models, TFLite, ONNX Constant nodes), for names that say neither (`unknown_9`, `Constant_12`).
   */
  group?: { layer: string; role: string };
}

/** A value in a checkpoint that is not a tensor: epoch, optimizer settings, ... */
export interface NonTensorEntry {
  name: string;
  /** Short type name: `int`, `float`, `str`, `dict`, `list`, `None`, `optimizer state`, ... */
  type: string;
  /** A short printable rendering, cut to a reasonable length. */
  value: string;
}

export interface Checkpoint {
  path: string;
  format: FormatName;
  tensors: TensorInfo[];
  entries: NonTensorEntry[];
  /** Free-form metadata from the file (safetensors `__metadata__`, Keras config, ...). */
  metadata?: Record<string, string>;
  /** Files this checkpoint is made of (shards, external data), with size and mtime at open. */
  files: { path: string; size: number; mtimeMs: number }[];
  /**
   * The model's architecture when the file holds one: the Keras model config (`model.save` .h5,
   * .keras config.json) or a TF.js `modelTopology`. What replacement experiments build the model from.
   */
  architecture?: unknown;
  /** Layer order declared by the file itself (Keras layer list, ONNX node order), if any. */
  layerOrder?: string[];
  /**
   * The file's graph between layers, when it has one (ONNX, a Keras/TF.js model config): layer → the layers whose nodes take
   * its nodes' outputs directly. Layers are named as their tensors' prefixes (`features.0`).
   */
  layerGraph?: Record<string, string[]>;
  /**
   * `sorted` when the tensors' order in the file says nothing about the network (safetensors
   * written by the reference library: sorted by dtype, then name); otherwise (the default) the
   * file stores them in the order the writer saw them (pickle insertion order, npz members).
   */
  storedOrder?: 'writer' | 'sorted';
  /** Problems found while opening that did not stop it (listed by inspect). */
  warnings: string[];
}

export interface TensorStats {
  min: number; max: number; mean: number; std: number;
  /** Fraction of elements that are exactly zero. */
  zeros: number;
  nan: number; inf: number;
}
