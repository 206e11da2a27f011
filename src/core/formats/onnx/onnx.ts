// ONNX models: the graph's initializers are the weights. The .onnx file is walked with positioned
// reads (ModelProto → graph → node / initializer) instead of being decoded whole: an initializer's
// raw_data (or packed float_data/double_data) is recorded as an offset in the file and read later
// like any contiguous tensor, so opening a 1 GB model reads kilobytes. The small messages (nodes,
// initializer headers) are decoded by protobufjs with the ONNX schema (onnxSchema.ts).
// Initializers stored outside (data_location EXTERNAL) point into files beside the model; a
// location that leaves the model's folder is refused.
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import * as protobuf from 'protobufjs';
import { Checkpoint, DType, DTYPE_SIZE, TensorInfo, TensorLocation } from '../../common/types';
import { CheckpointError } from '../../common/errors';
import { RandomAccessFile, fileSignature, describeFsError } from '../../common/fileio';
import { decodeFloat32, numel } from '../../tensor/dtypes';
import { FormatReader, LIMITS } from '../reader';
import { float16Storage, quantizedStorage } from '../quantized';
import { FilePool } from '../../tensor/tensorData';
import { onnxTypes, ONNX_DTYPE, ONNX_DTYPE_NAME, TENSOR_DATA_FIELDS } from './onnxSchema';
import { MAX_SMALL_VALUES, NodeInfo, PASS_THROUGH, planQuantization, QuantPlan, STORED_INT } from './onnxQuant';

export const onnxReader: FormatReader = {
  format: 'onnx',
  sniff(head: Uint8Array, path: string): boolean {
    // A ModelProto has no magic; it starts with ir_version (field 1, varint: 0x08) in every
    // exporter we know. The extension breaks the tie with other files starting with 0x08.
    return path.toLowerCase().endsWith('.onnx') || (head[0] === 0x08 && head.byteLength > 2 && head[1] < 20 && head[2] === 0x12);
  },
  open: openOnnx,
};

const DTYPE_OF: Partial<Record<number, DType>> = {
  [ONNX_DTYPE.FLOAT]: 'F32', [ONNX_DTYPE.UINT8]: 'U8', [ONNX_DTYPE.INT8]: 'I8', [ONNX_DTYPE.INT16]: 'I16',
  [ONNX_DTYPE.INT32]: 'I32', [ONNX_DTYPE.INT64]: 'I64', [ONNX_DTYPE.BOOL]: 'BOOL', [ONNX_DTYPE.FLOAT16]: 'F16',
  [ONNX_DTYPE.DOUBLE]: 'F64', [ONNX_DTYPE.BFLOAT16]: 'BF16',
};

/** Bytes the walk reads at a time. */
const WINDOW = 16384;

/** Largest message we decode in memory (a node, an initializer's header fields). */
const MAX_SMALL_MESSAGE = 64 * 1024 * 1024;

interface Range { start: number; end: number; wire: number }
interface Field { no: number; wire: number; start: number; end: number; tagStart: number }

/** Sequential reads of varints and byte ranges through a small window over the file. */
class Walker {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  constructor(readonly file: RandomAccessFile) {}

  private async ensure(pos: number, n: number): Promise<void> {
    if (pos >= this.bufStart && pos + n <= this.bufStart + this.buf.byteLength) return;
    const len = Math.min(Math.max(n, WINDOW), this.file.size - pos);
    if (len < n) throw new CheckpointError(this.file.path, `truncated: a protobuf field at byte ${pos} runs past the end of the file (${this.file.size} bytes)`);
    this.buf = await this.file.read(pos, len);
    this.bufStart = pos;
  }

  async varint(pos: number, limit: number): Promise<{ value: number; next: number }> {
    await this.ensure(pos, Math.min(10, limit - pos));
    let value = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos + i >= limit) break;
      const b = this.buf[pos + i - this.bufStart];
      value += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return { value, next: pos + i + 1 };
    }
    throw new CheckpointError(this.file.path, `malformed protobuf varint at byte ${pos} (truncated or not an ONNX file)`);
  }

  async bytes(start: number, end: number): Promise<Uint8Array> {
    if (end - start > MAX_SMALL_MESSAGE) throw new CheckpointError(this.file.path, `a protobuf message at byte ${start} is ${end - start} bytes, over the limit of ${MAX_SMALL_MESSAGE}`);
    // Small messages (a node, an initializer's header) come from the window the walk reads anyway:
    // one read per 16 KB, not one per message. The window is replaced, never written: views stay valid.
    if (end - start <= WINDOW) {
      await this.ensure(start, end - start);
      return this.buf.subarray(start - this.bufStart, end - this.bufStart);
    }
    return this.file.read(start, end - start);
  }

  /** Calls `visit` for each field of the message in [start, end). */
  async fields(start: number, end: number, visit: (f: Field) => Promise<void> | void): Promise<void> {
    let pos = start;
    while (pos < end) {
      const tagStart = pos;
      const tag = await this.varint(pos, end);
      const no = Math.floor(tag.value / 8), wire = tag.value & 7;
      if (no === 0) throw new CheckpointError(this.file.path, `malformed protobuf (field number 0 at byte ${pos}): not an ONNX model or damaged`);
      pos = tag.next;
      let vStart = pos, vEnd: number;
      if (wire === 0) vEnd = (await this.varint(pos, end)).next;
      else if (wire === 1) vEnd = pos + 8;
      else if (wire === 5) vEnd = pos + 4;
      else if (wire === 2) { const l = await this.varint(pos, end); vStart = l.next; vEnd = l.next + l.value; }
      else throw new CheckpointError(this.file.path, `malformed protobuf (wire type ${wire} at byte ${tagStart}): not an ONNX model or damaged`);
      if (vEnd > end) throw new CheckpointError(this.file.path, `truncated: field ${no} at byte ${tagStart} needs bytes up to ${vEnd} but its message ends at ${end}${end === this.file.size ? ' (the end of the file)' : ''}`);
      await visit({ no, wire, start: vStart, end: vEnd, tagStart });
      pos = vEnd;
    }
  }
}

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  external?: Record<string, string>;
  /** Where each data field's values are, by field number. */
  data: Map<number, Range[]>;
  /** A Constant's value_float / value_floats: its numbers, decoded with the node. */
  values?: number[];
}

export async function openOnnx(path: string): Promise<Checkpoint> {
  const file = await RandomAccessFile.open(path);
  const inits: Initializer[] = [];
  const constants = new Set<string>();
  // Constants given as value_float / value_floats: numbers a quantization may read (a scale), never weights.
  const inline: Initializer[] = [];
  const nodes: NodeInfo[] = [];
  const metadata: Record<string, string> = {};
  const warnings: string[] = [];
  try {
    if (file.size === 0) throw new CheckpointError(path, 'is empty');
    const w = new Walker(file);
    const types = onnxTypes();
    let sawGraph = false;
    await w.fields(0, file.size, async (f) => {
      if (f.no === 1 && f.wire === 0) metadata.ir_version = String((await w.varint(f.start, f.end)).value);
      else if ((f.no === 2 || f.no === 3) && f.wire === 2 && f.end - f.start < 4096) metadata[f.no === 2 ? 'producer_name' : 'producer_version'] = Buffer.from(await w.bytes(f.start, f.end)).toString('utf8');
      else if (f.no === 8 && f.wire === 2) {
        const op = types.OperatorSetIdProto.toObject(types.OperatorSetIdProto.decode(await w.bytes(f.start, f.end)), { longs: Number }) as { domain?: string; version?: number };
        if (!op.domain) metadata.opset = String(op.version ?? '');
      } else if (f.no === 7 && f.wire === 2) {
        sawGraph = true;
        await w.fields(f.start, f.end, async (g) => {
          if (g.no === 1 && g.wire === 2) {
            const { node, constant, floats } = await readNode(w, g.start, g.end, types, path);
            nodes.push(node);
            if (floats && node.opType === 'Constant' && node.outputs[0]) inline.push({ name: node.outputs[0], dims: floats.dims, dataType: ONNX_DTYPE.FLOAT, data: new Map(), values: floats.values });
            // A Constant node's tensor (Paddle2ONNX writes every weight so) is a weight like an initializer.
            if (constant && node.opType === 'Constant' && node.outputs[0]) {
              if (inits.length >= LIMITS.maxTensors) throw new CheckpointError(path, `more than ${LIMITS.maxTensors} weights`);
              constants.add(node.outputs[0]);
              inits.push({ ...constant, name: node.outputs[0] });
            }
          }
          else if (g.no === 5 && g.wire === 2) {
            if (inits.length >= LIMITS.maxTensors) throw new CheckpointError(path, `more than ${LIMITS.maxTensors} initializers`);
            inits.push(await readInitializer(w, g.start, g.end, types.TensorProtoHeader, path));
          } else if (g.no === 2 && g.wire === 2 && g.end - g.start < 4096) metadata.graph_name = Buffer.from(await w.bytes(g.start, g.end)).toString('utf8');
          else if (g.no === 15 && g.wire === 2) warnings.push('sparse initializers are not read');
        });
      }
    });
    if (!sawGraph) throw new CheckpointError(path, 'is not an ONNX model: no graph found');
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(path, `is not a readable ONNX model (${(e as Error).message})`);
  } finally {
    await file.close();
  }

  const files: Checkpoint['files'] = [await fileSignature(path)];
  const folder = dirname(path);
  const consumers = consumersOf(nodes);
  const byName = new Map([...inline, ...inits].map((i) => [i.name, i]));
  // Scales and zero points are read through one open handle per file (a model has thousands of them).
  const pool = new FilePool();
  const readAt = async (file: string, offset: number, bytes: number): Promise<Uint8Array> => (await pool.get(file)).read(offset, bytes);
  let quant: QuantPlan;
  try {
    quant = await planQuantization(nodes, byName, (name) => smallValues(byName.get(name), path, folder, files, warnings, readAt));
  } finally {
    await pool.closeAll();
  }
  warnings.push(...quant.warnings);
  const dequantized = new Map<string, string>();
  for (const n of nodes) if (n.opType === 'DequantizeLinear' && n.inputs[0] && n.outputs[0]) dequantized.set(n.inputs[0], n.outputs[0]);
  const tensors: TensorInfo[] = [];
  const kept: Initializer[] = [];
  for (const init of inits) {
    // Scales and zero points belong to a quantized tensor (or an activation's quantization).
    if (quant.params.has(init.name)) continue;
    const q = quant.weights.get(init.name);
    // Constant nodes also hold shapes, axes and scalars: only float tensors of 2+ elements (and quantized weights) are weights.
    if (!q && constants.has(init.name) && !(FLOAT_TYPES.has(init.dataType) && init.dims.length > 0 && init.dims.reduce((a, b) => a * b, 1) >= 2)) continue;
    // A quantized weight's role and layout come from the op that takes its dequantized value (also
    // when its dequantization is not read: integers behind a DequantizeLinear keep the kernel's role).
    const uses = consumers.get(q ? q.via : dequantized.get(init.name) ?? init.name);
    const t = await describeInitializer(init, path, folder, files, warnings, uses, quant);
    if (!t) continue;
    // A quantized embedding table's name (`emb.weight_quantized`) says no role; the Gather taking it does.
    const role = roleFromOp(t.name, uses) ?? (q && uses?.some((u) => u.node.opType === 'Gather' && u.index === 0) ? { layer: layerOfInit(t.name), role: 'weight' } : undefined);
    if (role) t.group = role;
    tensors.push(t);
    kept.push(init);
  }
  const initNames = new Set(kept.map((i) => i.name));
  const ops = nodes.filter((n) => n.opType !== 'Constant').length;
  if (tensors.length === 0 && ops > 0) warnings.push(`the graph has ${ops} operators but no weights Reuse Lens reads (no float initializers or Constant node tensors): nothing to compare`);
  return { path, format: 'onnx', tensors, entries: [], metadata, files, layerOrder: layerOrderOf(nodes, initNames, quant.alias), layerGraph: layerGraphOf(nodes, initNames, quant.alias), warnings };
}

const FLOAT_TYPES = new Set<number>([ONNX_DTYPE.FLOAT, ONNX_DTYPE.FLOAT16, ONNX_DTYPE.DOUBLE, ONNX_DTYPE.BFLOAT16]);

/** Leaves that already say a tensor's role (`features.0.weight`); others (`conv2d_0.w_0`) take it from the op. */
const ROLE_LEAF = /^(weight|bias|running_mean|running_var|kernel|gamma|beta|moving_mean|moving_variance|scale|embeddings)$/;

/** Input positions of the ops whose weights have a role Reuse Lens judges by. */
const OP_ROLES: Record<string, string[]> = {
  Conv: ['', 'weight', 'bias'], ConvTranspose: ['', 'weight', 'bias'],
  Gemm: ['', 'weight', 'bias'], MatMul: ['', 'weight'],
  QLinearConv: ['', '', '', 'weight', '', '', '', '', 'bias'], QLinearMatMul: ['', '', '', 'weight'],
  ConvInteger: ['', 'weight'], MatMulInteger: ['', 'weight'],
  QGemm: ['', '', '', 'weight', '', '', 'bias'], MatMulIntegerToFloat: ['', 'weight', '', '', '', '', 'bias'],
  DynamicQuantizeMatMul: ['', 'weight', '', '', 'bias'], QAttention: ['', 'weight', 'bias'],
  BatchNormalization: ['', 'weight', 'bias', 'running_mean', 'running_var'],
  InstanceNormalization: ['', 'weight', 'bias'], LayerNormalization: ['', 'weight', 'bias'],
};

/** Layer (the name's prefix) and role from the op that consumes a weight, when its name says neither. */
function roleFromOp(name: string, uses: { node: NodeInfo; index: number }[] | undefined): TensorInfo['group'] | undefined {
  const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  const leaf = cut < 0 ? name : name.slice(cut + 1);
  if (ROLE_LEAF.test(leaf)) return undefined;
  for (const u of uses ?? []) {
    const roles = Object.prototype.hasOwnProperty.call(OP_ROLES, u.node.opType) ? OP_ROLES[u.node.opType] : undefined;
    const role = roles?.[u.index];
    if (role) return { layer: cut < 0 ? name : name.slice(0, cut), role };
  }
  return undefined;
}

/**
 * A node: its small fields decoded, and a tensor-valued attribute (a Constant's `value`)
 * located in the file like an initializer rather than read (it may be megabytes).
 */
async function readNode(w: Walker, start: number, end: number, types: ReturnType<typeof onnxTypes>, path: string): Promise<{ node: NodeInfo; constant?: Initializer; floats?: { dims: number[]; values: number[] } }> {
  const parts: Uint8Array[] = [];
  let constant: Initializer | undefined;
  await w.fields(start, end, async (f) => {
    if (f.no === 5 && f.wire === 2) {
      let tensor: Field | undefined;
      await w.fields(f.start, f.end, (a) => { if (a.no === 5 && a.wire === 2) tensor = a; });
      if (tensor) { constant = await readInitializer(w, tensor.start, tensor.end, types.TensorProtoHeader, path); return; }
    }
    parts.push(await w.bytes(f.tagStart, f.end));
  });
  return { ...decodeNode(types.NodeProto, Buffer.concat(parts), path), constant };
}

function decodeNode(type: protobuf.Type, bytes: Uint8Array, path: string): { node: NodeInfo; floats?: { dims: number[]; values: number[] } } {
  let n: { input?: string[]; output?: string[]; op_type?: string; attribute?: { name?: string; i?: number; f?: number; floats?: number[] }[] };
  try { n = type.toObject(type.decode(bytes), { longs: Number }) as typeof n; } catch (e) {
    throw new CheckpointError(path, `a graph node cannot be decoded (${(e as Error).message})`);
  }
  const int = (name: string) => n.attribute?.find((a) => a.name === name)?.i;
  const float = (name: string) => n.attribute?.find((a) => a.name === name)?.f;
  const node = { opType: n.op_type ?? '', inputs: n.input ?? [], outputs: n.output ?? [], transB: int('transB'), axis: int('axis'), blockSize: int('block_size'), alpha: float('alpha') };
  // A Constant's value as a float scalar (value_float) or list (value_floats).
  const f = n.attribute?.find((a) => a.name === 'value_float'), fs = n.attribute?.find((a) => a.name === 'value_floats');
  const floats = f?.f !== undefined ? { dims: [], values: [f.f] } : fs ? { dims: [fs.floats?.length ?? 0], values: fs.floats ?? [] } : undefined;
  return { node, floats };
}

async function readInitializer(w: Walker, start: number, end: number, headerType: protobuf.Type, path: string): Promise<Initializer> {
  const data = new Map<number, Range[]>();
  const headerParts: Uint8Array[] = [];
  const dataFields = new Set<number>(Object.values(TENSOR_DATA_FIELDS));
  await w.fields(start, end, async (f) => {
    if (dataFields.has(f.no)) {
      let list = data.get(f.no);
      if (!list) { list = []; data.set(f.no, list); }
      list.push({ start: f.start, end: f.end, wire: f.wire });
    } else {
      headerParts.push(await w.bytes(f.tagStart, f.end));
    }
  });
  let h: { dims?: number[]; data_type?: number; name?: string; external_data?: { key?: string; value?: string }[]; data_location?: number };
  try {
    h = headerType.toObject(headerType.decode(Buffer.concat(headerParts)), { longs: Number }) as typeof h;
  } catch (e) {
    throw new CheckpointError(path, `an initializer at byte ${start} cannot be decoded (${(e as Error).message})`);
  }
  const external = h.data_location === 1 ? Object.fromEntries((h.external_data ?? []).map((e) => [e.key ?? '', e.value ?? ''])) : undefined;
  return { name: h.name ?? '', dims: (h.dims ?? []).map(Number), dataType: h.data_type ?? 0, external, data };
}

/** For each initializer name, the (node, input position) that consume it, to canonicalise MatMul/Gemm weights. */
function consumersOf(nodes: NodeInfo[]): Map<string, { node: NodeInfo; index: number }[]> {
  const m = new Map<string, { node: NodeInfo; index: number }[]>();
  for (const node of nodes) node.inputs.forEach((name, index) => {
    let l = m.get(name);
    if (!l) { l = []; m.set(name, l); }
    l.push({ node, index });
  });
  return m;
}

/** The stand-in DType of a stored integer type for its bytes: UINT16 has none of its own and reads as I16's bits. */
function storedDType(dataType: number): DType | undefined {
  return DTYPE_OF[dataType] ?? (dataType === ONNX_DTYPE.UINT16 ? 'I16' : undefined);
}

async function describeInitializer(init: Initializer, path: string, folder: string, files: Checkpoint['files'],
  warnings: string[], uses: { node: NodeInfo; index: number }[] | undefined, quant: QuantPlan): Promise<TensorInfo | undefined> {
  const { name, dims } = init;
  const typeName = ONNX_DTYPE_NAME[init.dataType] ?? `type ${init.dataType}`;
  const q = quant.weights.get(name);
  const dtype = q ? storedDType(init.dataType) : DTYPE_OF[init.dataType];
  if (!dtype) { warnings.push(`${name}: ${typeName} initializers are not compared; skipped`); return undefined; }
  const n = elementsOf(init, path);
  const stored = await locate(init, dtype, n, path, folder, files, warnings);
  if (!stored) return undefined;
  let t: TensorInfo;
  if (q) {
    // A quantized weight is the float32 it stands for: value = (q - zero_point) * scale.
    // Located where the integers lie: dequantized as they are read (streamed, transposes included).
    t = { name, dtype: 'F32', shape: dims, storage: quantizedStorage(q.kind, q.affine, dims, path, name), location: stored };
  } else if (dtype === 'F16' || dtype === 'BF16') {
    // Half-precision weights compute as the float32 they widen to (as TF.js/TFLite float16 are read).
    t = { name, dtype: 'F32', shape: dims, storage: float16Storage(dtype), location: stored };
  } else {
    t = { name, dtype, shape: dims, location: stored };
  }
  // MatMul(x, W) and Gemm(x, W, transB=0) hold W as [in, out]; canonical is PyTorch's [out, in].
  if (dims.length === 2 && uses?.some((u) => MATMUL_WEIGHT[u.node.opType] === u.index || (GEMM_WEIGHT[u.node.opType] === u.index && !u.node.transB))) {
    t.storedShape = dims; t.permute = [1, 0]; t.shape = [dims[1], dims[0]];
  }
  return t;
}

/** The input position of the [in, out] weight of the matrix-multiplying ops. */
const MATMUL_WEIGHT: Record<string, number> = { MatMul: 1, MatMulInteger: 1, QLinearMatMul: 3, MatMulIntegerToFloat: 1, DynamicQuantizeMatMul: 1, QAttention: 1 };
/** The input position of the weight of the Gemm ops: [in, out] unless transB. */
const GEMM_WEIGHT: Record<string, number> = { Gemm: 1, QGemm: 3 };

function elementsOf(init: Initializer, path: string): number {
  try { return numel(init.dims); } catch { throw new CheckpointError(path, `initializer ${init.name} has impossible dims [${init.dims.join(', ')}]`); }
}

/** Where an initializer's bytes (as `dtype`) are: external data, raw_data, or a typed field; undefined (with a warning) if none. */
async function locate(init: Initializer, dtype: DType, n: number, path: string, folder: string, files: Checkpoint['files'], warnings: string[]): Promise<OnnxLocation | undefined> {
  const { name, dims } = init;
  const bytes = n * DTYPE_SIZE[dtype];
  if (init.external) return externalLocation(init, path, folder, bytes, files);
  if (init.data.has(TENSOR_DATA_FIELDS.raw_data)) {
    const r = init.data.get(TENSOR_DATA_FIELDS.raw_data)!;
    const last = r[r.length - 1];
    if (last.end - last.start !== bytes) throw new CheckpointError(path, `initializer ${name}: raw_data has ${last.end - last.start} bytes, its dims [${dims.join(', ')}] of ${ONNX_DTYPE_NAME[init.dataType] ?? dtype} need ${bytes}`);
    return { kind: 'contiguous', file: path, offset: last.start, littleEndian: true };
  }
  const typed = typedLocation(init, dtype, n, path);
  if (typed) return typed;
  if (n > 0) { warnings.push(`${name}: no data (neither raw_data nor a typed field); skipped`); return undefined; }
  return { kind: 'loader', littleEndian: true, load: async () => new Uint8Array(0) };
}

/** Where an ONNX initializer's bytes can be: a run of a file (raw_data, packed floats, external data), or decoded typed fields. */
type OnnxLocation = Extract<TensorLocation, { kind: 'contiguous' | 'loader' }>;

/** A small constant's numbers (a scale, a zero point), or undefined for none or one too large. */
async function smallValues(init: Initializer | undefined, path: string, folder: string, files: Checkpoint['files'], warnings: string[],
  readAt: (file: string, offset: number, bytes: number) => Promise<Uint8Array>): Promise<number[] | undefined> {
  if (init?.values) return init.values;
  const dtype = init ? storedDType(init.dataType) : undefined;
  if (!init || !dtype) return undefined;
  const n = elementsOf(init, path);
  if (n > MAX_SMALL_VALUES) return undefined;
  const loc = await locate(init, dtype, n, path, folder, files, warnings);
  if (!loc) return undefined;
  const raw = loc.kind === 'contiguous' ? await readAt(loc.file, loc.offset, n * DTYPE_SIZE[dtype]) : await loc.load();
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Array<number>(n);
  const T = ONNX_DTYPE;
  if (init.dataType === T.FLOAT16 || init.dataType === T.BFLOAT16) {
    const halves = decodeFloat32(raw.byteOffset % 2 === 0 ? raw : raw.slice(), dtype as 'F16' | 'BF16', n, new Float32Array(n));
    for (let i = 0; i < n; i++) out[i] = halves[i];
    return out;
  }
  for (let i = 0; i < n; i++) {
    switch (init.dataType) {
      case T.FLOAT: out[i] = dv.getFloat32(i * 4, true); break;
      case T.DOUBLE: out[i] = dv.getFloat64(i * 8, true); break;
      case T.INT8: out[i] = dv.getInt8(i); break;
      case T.UINT8: out[i] = dv.getUint8(i); break;
      case T.INT16: out[i] = dv.getInt16(i * 2, true); break;
      case T.UINT16: out[i] = dv.getUint16(i * 2, true); break;
      case T.INT32: out[i] = dv.getInt32(i * 4, true); break;
      case T.INT64: out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      default: return undefined;
    }
  }
  return out;
}

/** Typed repeated fields: packed floats/doubles are contiguous in the file; varints need decoding. */
function typedLocation(init: Initializer, dtype: DType, n: number, path: string): OnnxLocation | undefined {
  const f = TENSOR_DATA_FIELDS;
  const one = (no: number): Range | undefined => { const r = init.data.get(no); return r && r.length === 1 && r[0].wire === 2 ? r[0] : undefined; };
  const need = (r: Range, size: number): void => {
    if (r.end - r.start !== n * size) throw new CheckpointError(path, `initializer ${init.name}: typed data has ${r.end - r.start} bytes, its dims need ${n * size}`);
  };
  if (dtype === 'F32' && one(f.float_data)) { const r = one(f.float_data)!; need(r, 4); return { kind: 'contiguous', file: path, offset: r.start, littleEndian: true }; }
  if (dtype === 'F64' && one(f.double_data)) { const r = one(f.double_data)!; need(r, 8); return { kind: 'contiguous', file: path, offset: r.start, littleEndian: true }; }
  const field = dtype === 'F32' ? f.float_data : dtype === 'F64' ? f.double_data : dtype === 'I64' ? f.int64_data : f.int32_data;
  const ranges = init.data.get(field);
  if (!ranges) return undefined;
  return { kind: 'loader', littleEndian: true, load: () => decodeTyped(path, ranges, field, dtype, n, init.name) };
}

/** Reads a typed field's values (packed or not) and returns them as little-endian bytes of `dtype`. */
async function decodeTyped(path: string, ranges: Range[], field: number, dtype: DType, n: number, name: string): Promise<Uint8Array> {
  const file = await RandomAccessFile.open(path);
  const values: number[] = [];
  try {
    for (const r of ranges) {
      const bytes = await file.read(r.start, r.end - r.start);
      const rd = protobuf.Reader.create(bytes);
      const packed = r.wire === 2;
      // Unpacked elements were recorded one by one; packed ones are a run of the element encoding.
      try {
        while (rd.pos < rd.len) {
          if (values.length > n) break;
          if (field === TENSOR_DATA_FIELDS.float_data) values.push(rd.float());
          else if (field === TENSOR_DATA_FIELDS.double_data) values.push(rd.double());
          else if (field === TENSOR_DATA_FIELDS.int64_data) values.push(Number(rd.int64()));
          else values.push(rd.int32());
          if (!packed) break;
        }
      } catch (e) {
        throw new CheckpointError(path, `initializer ${name}: typed data is damaged (${(e as Error).message})`);
      }
    }
  } finally { await file.close(); }
  if (values.length !== n) throw new CheckpointError(path, `initializer ${name}: ${values.length} values in its typed field, its dims need ${n}`);
  const out = new Uint8Array(n * DTYPE_SIZE[dtype]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    switch (dtype) {
      case 'F32': dv.setFloat32(i * 4, v, true); break;
      case 'F64': dv.setFloat64(i * 8, v, true); break;
      case 'I64': dv.setBigInt64(i * 8, BigInt(v), true); break;
      case 'I32': dv.setInt32(i * 4, v, true); break;
      // FLOAT16/BFLOAT16 travel as their 16 bits in int32_data.
      case 'F16': case 'BF16': case 'I16': dv.setUint16(i * 2, v & 0xffff, true); break;
      case 'I8': case 'U8': case 'BOOL': out[i] = v & 0xff; break;
    }
  }
  return out;
}

async function externalLocation(init: Initializer, path: string, folder: string, bytes: number, files: Checkpoint['files']): Promise<OnnxLocation> {
  const ext = init.external!;
  const loc = ext.location;
  if (!loc) throw new CheckpointError(path, `initializer ${init.name} is stored externally but names no location`);
  if (isAbsolute(loc) || /^[a-z]+:/i.test(loc) || loc.split(/[\\/]/).includes('..')) {
    throw new CheckpointError(path, `refused: initializer ${init.name} points to external data ${loc}, outside the model's folder`);
  }
  const dataPath = normalize(join(folder, loc));
  if (!dataPath.startsWith(normalize(folder) + sep)) throw new CheckpointError(path, `refused: initializer ${init.name} points to external data ${loc}, outside the model's folder`);
  const offset = ext.offset ? Number(ext.offset) : 0;
  const length = ext.length ? Number(ext.length) : bytes;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length)) throw new CheckpointError(path, `initializer ${init.name}: external data offset/length are not valid numbers`);
  if (length !== bytes) throw new CheckpointError(path, `initializer ${init.name}: external data length ${length} does not match its dims (${bytes} bytes)`);
  let sig = files.find((f) => f.path === dataPath);
  if (!sig) {
    try { sig = await fileSignature(dataPath); } catch (e) {
      throw new CheckpointError(dataPath, `external data of ${path} cannot be read: ${describeFsError(e)}`);
    }
    files.push(sig);
  }
  if (offset + length > sig.size) throw new CheckpointError(dataPath, `truncated: initializer ${init.name} needs bytes ${offset}..${offset + length} but the file has ${sig.size}`);
  return { kind: 'contiguous', file: dataPath, offset, littleEndian: true };
}

function layerOfInit(name: string): string {
  const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  return cut < 0 ? name : name.slice(0, cut);
}

/** Ops that read only their input's shape, never its values. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/** A value as the layers see it: through QuantizeLinear/DequantizeLinear to what they (de)quantize. */
function resolver(alias: ReadonlyMap<string, string>): (v: string) => string {
  return (v) => {
    for (let k = 0; k < 64 && alias.has(v); k++) v = alias.get(v)!;
    return v;
  };
}

/** Layers in the order the graph's nodes first consume their initializers (a quantized weight: through its DequantizeLinear). */
function layerOrderOf(nodes: NodeInfo[], initNames: Set<string>, alias: ReadonlyMap<string, string>): string[] {
  const seen = new Set<string>();
  const resolve = resolver(alias);
  for (const node of nodes) {
    if (PASS_THROUGH.has(node.opType)) continue;
    for (const input of node.inputs) { const v = resolve(input); if (initNames.has(v)) seen.add(layerOfInit(v)); }
  }
  return [...seen];
}

/**
 * Which layer takes which layer's output directly: a node belongs to the layer of its first
 * initializer input (Conv → its weight's layer, BatchNormalization → its scale's); an edge runs
 * from the layer of the node that makes a value to the layer of each node that takes it.
 * Nodes without an initializer (Relu, Add) belong to no layer, so Conv → Relu → BN is no edge;
 * such a node is still a consumer that is no norm (`op:Add`): a Conv whose output goes to its BN
 * and also into a residual Add is not scale-invariant (the Add sees the kernel's scale). Nodes
 * that read only a value's shape (Shape, Size) are no consumer of its numbers.
 */
function layerGraphOf(nodes: NodeInfo[], initNames: Set<string>, alias: ReadonlyMap<string, string>): Record<string, string[]> {
  const resolve = resolver(alias);
  // Quantize/dequantize nodes are no layer and no consumer: a value and its (de)quantized copies are one.
  nodes = nodes.filter((n) => !PASS_THROUGH.has(n.opType));
  const layerOf = (n: NodeInfo) => { const w = n.inputs.map(resolve).find((i) => initNames.has(i)); return w === undefined ? undefined : layerOfInit(w); };
  const producer = new Map<string, string>();
  for (const n of nodes) { const l = layerOf(n); if (l !== undefined) for (const o of n.outputs) producer.set(o, l); }
  const graph: Record<string, string[]> = {};
  for (const n of nodes) {
    if (SHAPE_ONLY.has(n.opType)) continue;
    const l = layerOf(n) ?? `op:${n.opType}`;
    for (const i of n.inputs) {
      const from = producer.get(resolve(i));
      if (from === undefined || from === l) continue;
      const to: string[] = graph[from] ?? (graph[from] = []);
      if (!to.includes(l)) to.push(l);
    }
  }
  // Layers whose outputs go nowhere with weights are in the graph too: it says they feed no norm.
  for (const n of nodes) { const l = layerOf(n); if (l !== undefined) graph[l] ??= []; }
  return graph;
}
