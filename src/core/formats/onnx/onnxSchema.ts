// The part of the ONNX schema (onnx/onnx.proto, ONNX 1.12, proto2) that Reuse Lens decodes with
// protobufjs: the small messages around initializers. Field numbers are ONNX's; fields we never
// read (subgraphs, types, sparse tensors) are left out and skipped as unknown by the decoder.
// Kept as text in the bundle so no .proto file is looked up at run time.
import * as protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message AttributeProto {
  optional string name = 1;
  optional int32 type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
}

// An initializer without its data fields (4, 5, 6, 7, 9, 10, 11): those are located by offset
// and read later, never decoded here.
message TensorProtoHeader {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}
`;

let root: protobuf.Root | undefined;

export function onnxTypes(): { NodeProto: protobuf.Type; TensorProtoHeader: protobuf.Type; OperatorSetIdProto: protobuf.Type } {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return {
    NodeProto: root.lookupType('onnx.NodeProto'),
    TensorProtoHeader: root.lookupType('onnx.TensorProtoHeader'),
    OperatorSetIdProto: root.lookupType('onnx.OperatorSetIdProto'),
  };
}

/** ONNX TensorProto.DataType numbers. */
export const ONNX_DTYPE = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
} as const;

/** An ONNX DataType number's name (FLOAT, INT8, ...), for messages. */
export const ONNX_DTYPE_NAME = Object.fromEntries(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k])) as Partial<Record<number, string>>;

/** TensorProto field numbers of the data fields. */
export const TENSOR_DATA_FIELDS = { float_data: 4, int32_data: 5, string_data: 6, int64_data: 7, raw_data: 9, double_data: 10, uint64_data: 11 } as const;
