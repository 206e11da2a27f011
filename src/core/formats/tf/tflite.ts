// TFLite flatbuffers (`.tflite`, file identifier "TFL3"), read with the flatbuffers runtime over
// positioned reads: the tables (model, subgraph, tensors, operators) are walked page by page
// (RandomAccessFile, asynchronous: the worker's thread is never held by a read), and a weight's
// bytes are only located (a Buffer's data vector, or its offset/size outside the flatbuffer in
// models over 2 GB), to be read later like any contiguous tensor. Field numbers are those of
// TensorFlow's schema.fbs (tensorflow/compiler/mlir/lite/schema/schema.fbs).
// Kinds and layouts come from the operators that consume the weights (CONV_2D's filter is
// [out, kh, kw, in], DEPTHWISE_CONV_2D's [1, kh, kw, out], FULLY_CONNECTED's [out, in]);
// int8/uint8 (and int32 bias) tensors with a scale are dequantized: value = scale * (q - zero_point);
// float16 weights that a DEQUANTIZE op widens are read as that float32.
import * as flatbuffers from 'flatbuffers';
import { Checkpoint, DType, DTYPE_SIZE, TensorInfo } from '../../common/types';
import { CheckpointError } from '../../common/errors';
import { RandomAccessFile, fileSignature } from '../../common/fileio';
import { numel } from '../../tensor/dtypes';
import { FormatReader, LIMITS } from '../reader';
import { float16Storage, quantizedStorage, STORED_INT_BYTES, StoredInt } from '../quantized';

export const tfliteReader: FormatReader = {
  format: 'tflite',
  sniff: (head) => head.byteLength >= 8 && Buffer.from(head.subarray(4, 8)).toString('latin1') === 'TFL3',
  open: openTflite,
};

// Tables are small and packed together; a weight's data vector costs one page (its length).
const PAGE = 1 << 14;
const MAX_PAGES = 1024;

/** Thrown by a synchronous accessor that reached a page not read yet (see PagedByteBuffer.get). */
class MissingPage { constructor(readonly page: number) {} }

/**
 * The runtime's ByteBuffer over 16 KB pages of the file. Its accessors are synchronous (the
 * runtime's API), so a read of a page not in memory throws MissingPage; `get` reads that page
 * asynchronously and runs the accessor again. Each accessor touches a few pages at most.
 */
class PagedByteBuffer extends flatbuffers.ByteBuffer {
  private readonly pages = new Map<number, Uint8Array>();
  constructor(private readonly file: RandomAccessFile) { super(new Uint8Array(0)); }
  async get<T>(fn: () => T): Promise<T> {
    for (let tries = 0; ; tries++) {
      try { return fn(); } catch (e) {
        if (!(e instanceof MissingPage) || tries > 16) throw e instanceof MissingPage ? new CheckpointError(this.file.path, 'damaged TFLite flatbuffer: a table spans too many pages') : e;
        if (this.pages.size >= MAX_PAGES) this.pages.delete(this.pages.keys().next().value!);
        const start = e.page * PAGE;
        this.pages.set(e.page, await this.file.read(start, Math.min(PAGE, this.file.size - start)));
      }
    }
  }
  override readUint8(o: number): number {
    if (!(o >= 0 && o < this.file.size)) throw new CheckpointError(this.file.path, `damaged TFLite flatbuffer: a table points to byte ${o} of a ${this.file.size}-byte file`);
    const n = Math.floor(o / PAGE), p = this.pages.get(n);
    if (!p) throw new MissingPage(n);
    return p[o - n * PAGE];
  }
  override readUint16(o: number): number { return this.readUint8(o) | (this.readUint8(o + 1) << 8); }
  override readInt32(o: number): number { return this.readUint16(o) | (this.readUint16(o + 2) << 16); }
  override capacity(): number { return this.file.size; }
}

// --- table accessors (slot k of a table is at vtable offset 4 + 2k) ---------------------------
const slot = (bb: flatbuffers.ByteBuffer, table: number, k: number) => bb.__offset(table, 4 + 2 * k);
function tables(bb: flatbuffers.ByteBuffer, table: number, k: number): number[] {
  const o = slot(bb, table, k);
  if (!o) return [];
  const start = bb.__vector(table + o), n = bb.__vector_len(table + o);
  if (n > LIMITS.maxTensors) throw new CheckpointError('', `a TFLite vector of ${n} tables`);
  return Array.from({ length: n }, (_, i) => bb.__indirect(start + 4 * i));
}
function vector(bb: flatbuffers.ByteBuffer, table: number, k: number): { start: number; length: number } | undefined {
  const o = slot(bb, table, k);
  return o ? { start: bb.__vector(table + o), length: bb.__vector_len(table + o) } : undefined;
}
function ints(bb: flatbuffers.ByteBuffer, table: number, k: number): number[] {
  const v = vector(bb, table, k);
  return v ? Array.from({ length: Math.min(v.length, 64) }, (_, i) => bb.readInt32(v.start + 4 * i)) : [];
}
function floats(bb: flatbuffers.ByteBuffer, table: number, k: number, max: number): number[] {
  const v = vector(bb, table, k);
  return v ? Array.from({ length: Math.min(v.length, max) }, (_, i) => bb.readFloat32(v.start + 4 * i)) : [];
}
function longs(bb: flatbuffers.ByteBuffer, table: number, k: number, max: number): number[] {
  const v = vector(bb, table, k);
  return v ? Array.from({ length: Math.min(v.length, max) }, (_, i) => Number(bb.readInt64(v.start + 8 * i))) : [];
}
function str(bb: flatbuffers.ByteBuffer, table: number, k: number): string {
  const v = vector(bb, table, k);
  if (!v) return '';
  const bytes = new Uint8Array(Math.min(v.length, 4096));
  for (let i = 0; i < bytes.length; i++) bytes[i] = bb.readUint8(v.start + i);
  return Buffer.from(bytes).toString('utf8');
}
function u32(bb: flatbuffers.ByteBuffer, table: number, k: number): number { const o = slot(bb, table, k); return o ? bb.readUint32(table + o) : 0; }
function i32(bb: flatbuffers.ByteBuffer, table: number, k: number): number { const o = slot(bb, table, k); return o ? bb.readInt32(table + o) : 0; }
function i8(bb: flatbuffers.ByteBuffer, table: number, k: number): number { const o = slot(bb, table, k); return o ? bb.readInt8(table + o) : 0; }
function u64(bb: flatbuffers.ByteBuffer, table: number, k: number): number { const o = slot(bb, table, k); return o ? Number(bb.readUint64(table + o)) : 0; }

/** schema.fbs TensorType → element type (and quantized storage). */
const TENSOR_TYPE: Record<number, { dtype: DType; int?: StoredInt }> = {
  0: { dtype: 'F32' }, 1: { dtype: 'F16' }, 2: { dtype: 'I32', int: 'int32' }, 3: { dtype: 'U8', int: 'uint8' }, 4: { dtype: 'I64' },
  6: { dtype: 'BOOL' }, 7: { dtype: 'I16', int: 'int16' }, 9: { dtype: 'I8', int: 'int8' }, 10: { dtype: 'F64' }, 18: { dtype: 'BF16' },
};
const OP = { CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEQUANTIZE: 6, FULLY_CONNECTED: 9, PRELU: 54, TRANSPOSE_CONV: 67, CONV_3D: 132 };
const OP_NAMES: Record<number, string> = { 0: 'ADD', 18: 'MUL', 41: 'SUB', 42: 'DIV', 22: 'RESHAPE', 34: 'PAD', 126: 'BATCH_MATMUL', 40: 'MEAN', 23: 'RESIZE_BILINEAR' };

interface Use { op: number; index: number; layer: string }

/** Canonical (PyTorch) layout of an op's weight. */
function layoutOf(op: number, index: number, shape: number[]): Pick<TensorInfo, 'shape' | 'storedShape' | 'permute'> {
  const r = shape.length;
  const perm = (p: number[]) => ({ shape: p.map((k) => shape[k]), storedShape: shape, permute: p });
  if (op === OP.CONV_2D && index === 1 && r === 4) return perm([0, 3, 1, 2]);            // [out, kh, kw, in]
  if (op === OP.DEPTHWISE_CONV_2D && index === 1 && r === 4) return perm([3, 0, 1, 2]);  // [1, kh, kw, out]
  if (op === OP.TRANSPOSE_CONV && index === 1 && r === 4) return perm([3, 0, 1, 2]);     // [out, kh, kw, in] → [in, out, kh, kw]
  if (op === OP.CONV_3D && index === 1 && r === 5) return perm([4, 3, 0, 1, 2]);        // [kd, kh, kw, in, out]
  return { shape };
}

function roleOf(op: number, index: number): string {
  const weightIndex = 1, biasIndex = op === OP.TRANSPOSE_CONV ? 3 : 2;
  if (op === OP.CONV_2D || op === OP.DEPTHWISE_CONV_2D || op === OP.FULLY_CONNECTED || op === OP.TRANSPOSE_CONV || op === OP.CONV_3D) {
    if (index === weightIndex) return 'weight';
    if (index === biasIndex) return 'bias';
  }
  if (op === OP.PRELU && index === 1) return 'other:alpha';
  return `other:${OP_NAMES[op] ?? `op${op}`}`;
}

export async function openTflite(path: string): Promise<Checkpoint> {
  const file = await RandomAccessFile.open(path);
  const tensors: TensorInfo[] = [];
  const warnings: string[] = [];
  const metadata: Record<string, string> = {};
  const layerOrder: string[] = [];
  try {
    const size = file.size;
    if (size < 8) throw new CheckpointError(path, `truncated: ${size} bytes is too short for a TFLite flatbuffer`);
    const bb = new PagedByteBuffer(file);
    const get = <T>(fn: () => T) => bb.get(fn);
    const model = await get(() => bb.readInt32(0));
    metadata.schema_version = String(await get(() => u32(bb, model, 0)));
    const description = await get(() => str(bb, model, 3));
    if (description) metadata.description = description;
    const codes: number[] = [];
    for (const c of await get(() => tables(bb, model, 1))) codes.push(await get(() => Math.max(i8(bb, c, 0), i32(bb, c, 3))));
    const buffers = await get(() => tables(bb, model, 4));
    const subgraphs = await get(() => tables(bb, model, 2));
    if (subgraphs.length === 0) throw new CheckpointError(path, 'is a TFLite model without a subgraph');
    if (subgraphs.length > 1) warnings.push(`${subgraphs.length} subgraphs: the weights of the first (the main model) are read`);
    const sg = subgraphs[0];
    const tensorTables = await get(() => tables(bb, sg, 0));
    // Which op consumes each tensor, in execution order: kinds, roles, layouts and the layer order.
    const uses = new Map<number, Use>();
    const ops: { op: number; inputs: number[]; outputs: number[] }[] = [];
    for (const opTable of await get(() => tables(bb, sg, 3))) {
      ops.push(await get(() => ({ op: codes[u32(bb, opTable, 0)] ?? -1, inputs: ints(bb, opTable, 1), outputs: ints(bb, opTable, 2) })));
    }
    // float16 (and hybrid int8) weights reach their op through a DEQUANTIZE: the op's use is the stored tensor's.
    const dequantized = new Map<number, number>();
    for (const o of ops) if (o.op === OP.DEQUANTIZE && o.inputs[0] >= 0 && o.outputs[0] >= 0) dequantized.set(o.outputs[0], o.inputs[0]);
    const dequantizes = new Set(dequantized.values());
    for (const [k, { op, inputs: raw, outputs }] of ops.entries()) {
      const inputs = raw.map((t) => dequantized.get(t) ?? t);
      const weight = inputs[1] !== undefined && inputs[1] >= 0 ? inputs[1] : undefined;
      const named = weight !== undefined ? await get(() => tensorName(bb, tensorTables[weight]))
        : outputs[0] !== undefined ? await get(() => tensorName(bb, tensorTables[outputs[0]])) : '';
      const layer = layerName(named, k);
      if (op === OP.DEQUANTIZE) continue;
      inputs.forEach((t, index) => { if (index > 0 && t >= 0 && !uses.has(t)) uses.set(t, { op, index, layer }); });
    }
    for (const [ti, table] of tensorTables.entries()) {
      const bufferIndex = await get(() => u32(bb, table, 2));
      if (!bufferIndex || bufferIndex >= buffers.length) continue;
      const buf = buffers[bufferIndex];
      // The data vector's length is read from its first bytes: one page per weight, not the weight.
      const { data, outside, outsideSize } = await get(() => ({ data: vector(bb, buf, 0), outside: u64(bb, buf, 1), outsideSize: u64(bb, buf, 2) }));
      const start = data && data.length > 0 ? data.start : outside > 1 ? outside : -1;
      const bytes = data && data.length > 0 ? data.length : outside > 1 ? outsideSize : 0;
      if (start < 0 || bytes === 0) continue;
      const { name, typeCode, shape, q } = await get(() => ({
        name: tensorName(bb, table) || `tensor_${ti}`, typeCode: i8(bb, table, 1), shape: ints(bb, table, 0),
        q: slot(bb, table, 4) ? bb.__indirect(table + slot(bb, table, 4)) : 0,
      }));
      const type = TENSOR_TYPE[typeCode];
      if (!type) { warnings.push(`${name}: TFLite tensor type ${typeCode} is not compared; skipped`); continue; }
      let n: number;
      try { n = numel(shape); } catch { throw new CheckpointError(path, `tensor ${name} has an impossible shape [${shape.join(', ')}]`); }
      const scale = q ? await get(() => floats(bb, q, 2, LIMITS.maxTensors)) : [];
      const quantized = type.int && scale.length > 0 ? type.int : undefined;
      const itemBytes = quantized ? STORED_INT_BYTES[quantized] : DTYPE_SIZE[type.dtype];
      if (bytes !== n * itemBytes) throw new CheckpointError(path, `tensor ${name}: its buffer has ${bytes} bytes, its shape [${shape.join(', ')}] of ${quantized ?? type.dtype} needs ${n * itemBytes}`);
      if (start + bytes > size) throw new CheckpointError(path, `truncated: tensor ${name} needs bytes ${start}..${start + bytes} but the file has ${size}`);
      const use = uses.get(ti);
      const role = use ? roleOf(use.op, use.index) : undefined;
      // Constants that are neither weights of a known op nor floats (shapes, axes, lookup tables) are not compared.
      if (!(role === 'weight' || role === 'bias') && !(type.dtype.startsWith('F') || type.dtype === 'BF16' || quantized)) continue;
      if (!(role === 'weight' || role === 'bias') && n < 2) continue;
      const layout = use ? layoutOf(use.op, use.index, shape) : { shape };
      const t: TensorInfo = { name, dtype: type.dtype, ...layout, location: { kind: 'contiguous', file: path, offset: start, littleEndian: true } };
      if (type.dtype === 'F16' && dequantizes.has(ti)) {
        // float16 quantization: the model computes with the float32 a DEQUANTIZE widens these to.
        t.dtype = 'F32';
        t.storage = float16Storage();
      } else if (quantized) {
        const { zero, axis } = await get(() => ({ zero: longs(bb, q, 3, scale.length), axis: i32(bb, q, 6) }));
        t.dtype = 'F32';
        t.storage = quantizedStorage(quantized, { scale, offset: scale.map((s, c) => -(zero[c] ?? 0) * s), axis }, shape, path, name);
      }
      if (use) t.group = { layer: use.layer, role: role! };
      tensors.push(t);
      if (use && !layerOrder.includes(use.layer)) layerOrder.push(use.layer);
    }
  } catch (e) {
    if (e instanceof CheckpointError) throw e.file ? e : new CheckpointError(path, e.problem);
    throw new CheckpointError(path, `is not a readable TFLite model (${(e as Error).message})`);
  } finally {
    await file.close();
  }
  if (tensors.length === 0) warnings.push('no weight tensors with data (a model whose weights are downloaded or generated at run time?)');
  return { path, format: 'tflite', tensors, entries: [], metadata, files: [await fileSignature(path)], layerOrder, warnings };
}

function tensorName(bb: flatbuffers.ByteBuffer, table: number | undefined): string {
  return table === undefined ? '' : str(bb, table, 3);
}

/**
 * A layer's name from its weight's: converters name weights after the op's scope and join fused
 * names with `;` (`model/conv2d/Conv2D;model/conv2d/BiasAdd`): the first scope is kept.
 */
function layerName(name: string, opIndex: number): string {
  const first = name.split(';')[0];
  const cut = first.lastIndexOf('/');
  return cut > 0 ? first.slice(0, cut) : first || `op_${opIndex}`;
}
