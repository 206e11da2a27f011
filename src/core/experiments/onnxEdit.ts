// An ONNX model's bytes with some initializers' data replaced, every other byte copied as it was:
// the graph is walked at the protobuf wire level (ModelProto.graph = 7, GraphProto.initializer = 5)
// so nothing we do not understand (ops, attributes, subgraphs, metadata) is decoded or re-encoded.
// This is how a replacement reaches ONNX Runtime: one session per variant, built from these bytes.
import * as protobuf from 'protobufjs';

export interface InitializerData {
  /** ONNX TensorProto.DataType. */
  dataType: number;
  dims: number[];
  /** Little-endian element bytes (raw_data). */
  raw: Uint8Array;
}

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_NAME = 8;

/** The model with the named initializers' data (and data location) replaced. */
export function withInitializers(model: Uint8Array, replace: ReadonlyMap<string, InitializerData>): Uint8Array {
  if (!replace.size) return model;
  return rewrite(model, MODEL_GRAPH, (graph) => rewrite(graph, GRAPH_INITIALIZER, (tensor) => {
    const data = replace.get(tensorName(tensor));
    return data ? encodeTensor(tensorName(tensor), data) : tensor;
  }));
}

/** Copies a message, passing the payload of each length-delimited field `field` through `edit`. */
function rewrite(msg: Uint8Array, field: number, edit: (payload: Uint8Array) => Uint8Array): Uint8Array {
  const r = protobuf.Reader.create(msg);
  const parts: Uint8Array[] = [];
  let copied = 0;
  while (r.pos < r.len) {
    const tagStart = r.pos;
    const tag = r.uint32();
    if ((tag >>> 3) === field && (tag & 7) === 2) {
      const len = r.uint32();
      const payload = msg.subarray(r.pos, r.pos + len);
      r.skip(len);
      const edited = edit(payload);
      if (edited === payload) continue;
      parts.push(msg.subarray(copied, tagStart), lengthDelimited(field, edited));
      copied = r.pos;
    } else {
      r.skipType(tag & 7);
    }
  }
  if (!parts.length) return msg;
  parts.push(msg.subarray(copied));
  return Buffer.concat(parts);
}

function tensorName(tensor: Uint8Array): string {
  const r = protobuf.Reader.create(tensor);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if ((tag >>> 3) === TENSOR_NAME && (tag & 7) === 2) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

function encodeTensor(name: string, d: InitializerData): Uint8Array {
  const w = protobuf.Writer.create();
  for (const dim of d.dims) w.uint32(1 << 3).int64(dim);
  w.uint32(2 << 3).int32(d.dataType);
  w.uint32((TENSOR_NAME << 3) | 2).string(name);
  w.uint32((9 << 3) | 2).bytes(d.raw);
  return w.finish();
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = protobuf.Writer.create().uint32((field << 3) | 2).uint32(payload.byteLength).finish();
  return Buffer.concat([head, payload]);
}
