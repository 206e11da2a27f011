// safetensors: 8-byte little-endian header length N, N bytes of JSON, then raw tensor bytes.
// https://github.com/huggingface/safetensors — we read the header only; tensor bytes are read
// later through each tensor's 'contiguous' location.
import { Checkpoint, DType, DTYPE_SIZE, TensorInfo } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile } from '../common/fileio';
import { numel } from '../tensor/dtypes';
import { FormatReader, LIMITS } from './reader';

const DTYPES: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);

/** Header of one safetensors file, parsed and checked against the file's size. */
export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata?: Record<string, string>;
  warnings: string[];
  size: number;
  mtimeMs: number;
  /** The data is in the reference library's order (dtype, then name): it says nothing about the network. */
  referenceOrder: boolean;
}

/** Reads and validates the header of `path`. Every problem is a CheckpointError naming the file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await RandomAccessFile.open(path);
  try {
    if (file.size < 8) throw new CheckpointError(path, `truncated: a safetensors file starts with an 8-byte header length, but the file has ${file.size} bytes`);
    const lenBytes = await file.read(0, 8);
    // BigInt so that a lying length such as 2^60 is reported exactly and never becomes a Number.
    const claimed = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
    if (claimed > BigInt(file.size - 8)) {
      throw new CheckpointError(path, `safetensors header claims ${claimed} bytes but the file has ${file.size} (truncated or not safetensors)`);
    }
    if (claimed > BigInt(LIMITS.maxHeaderBytes)) {
      throw new CheckpointError(path, `safetensors header claims ${claimed} bytes, more than the limit of ${LIMITS.maxHeaderBytes}`);
    }
    const n = Number(claimed);
    // The header's bytes and text (10 MB each at 100,000 tensors) die here, before the tensors are built.
    const json = parseJson(path, await file.read(8, n));
    const parsed = parseHeader(path, json, 8 + n, file.size);
    return { ...parsed, size: file.size, mtimeMs: file.mtimeMs };
  } finally {
    await file.close();
  }
}

function parseJson(path: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new CheckpointError(path, `safetensors header is not valid JSON (${(e as Error).message})`);
  }
}

function parseHeader(path: string, json: unknown, dataStart: number, fileSize: number): { tensors: TensorInfo[]; metadata?: Record<string, string>; warnings: string[]; referenceOrder: boolean } {
  if (!isObject(json)) throw new CheckpointError(path, 'safetensors header is not a JSON object');
  const warnings: string[] = [];
  let metadata: Record<string, string> | undefined;
  const spans: { t: TensorInfo; begin: number; end: number }[] = [];
  // Tensors of one shape share one shape array (never changed: readers copy what they alter): the
  // 100,000 tensors of a mixture of experts have a handful of shapes (12 MB of arrays otherwise).
  const shapes = new Map<string, number[]>();
  const shared = (shape: number[]): number[] => {
    const key = shape.join(',');
    const s = shapes.get(key);
    if (s) return s;
    shapes.set(key, shape);
    return shape;
  };
  const keys = Object.keys(json);
  if (keys.length > LIMITS.maxTensors + 1) throw new CheckpointError(path, `safetensors header lists ${keys.length} tensors, more than the limit of ${LIMITS.maxTensors}`);
  for (const name of keys) {
    const v = json[name];
    if (name === '__metadata__') {
      if (!isObject(v)) throw new CheckpointError(path, 'safetensors __metadata__ is not an object');
      metadata = {};
      // The format says string → string; other writers put numbers here, which we keep as text.
      for (const [k, x] of Object.entries(v)) metadata[k] = typeof x === 'string' ? x : JSON.stringify(x);
      continue;
    }
    const where = `tensor ${name}`;
    if (!isObject(v)) throw new CheckpointError(path, `${where}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = v;
    if (typeof dtype !== 'string') throw new CheckpointError(path, `${where}: dtype missing`);
    if (!DTYPES.has(dtype)) throw new CheckpointError(path, `${where} has dtype ${dtype}, which Reuse Lens does not read (supported: ${[...DTYPES].join(' ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(path, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[1] < offsets[0]) {
      throw new CheckpointError(path, `${where}: data_offsets ${JSON.stringify(offsets)} is not a pair [begin, end] with begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    let count: number;
    try {
      count = numel(shape as number[]);
    } catch {
      throw new CheckpointError(path, `${where}: shape [${(shape as number[]).join(', ')}] has too many elements`);
    }
    const size = DTYPE_SIZE[dtype as DType];
    if (count * size !== end - begin) {
      throw new CheckpointError(path, `${where}: ${dtype} [${(shape as number[]).join(', ')}] needs ${count * size} bytes but data_offsets span ${end - begin}`);
    }
    if (dataStart + end > fileSize) {
      throw new CheckpointError(path, `${where} needs bytes ${dataStart + begin}..${dataStart + end} but the file has ${fileSize} (truncated?)`);
    }
    const t: TensorInfo = {
      name, dtype: dtype as DType, shape: shared(shape as number[]),
      location: { kind: 'contiguous', file: path, offset: dataStart + begin, littleEndian: true },
    };
    spans.push({ t, begin, end });
  }
  // Data order: the reference library (and so torch's and transformers' save_file) sorts by dtype,
  // then name, which says nothing about the network (see analysis/networkOrder.ts); a writer that
  // kept its input order (network order) is told apart by not being in that order.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const referenceOrder = spans.every((s, i) => i === 0 || referenceCompare(spans[i - 1].t, s.t) <= 0);
  // Overlapping tensors are an error, not a warning: the reference implementation refuses such
  // files, and two tensors sharing bytes would make a comparison silently wrong.
  let prev: { t: TensorInfo; end: number } | undefined;
  for (const s of spans) {
    if (s.end === s.begin) continue;
    if (prev && s.begin < prev.end) {
      throw new CheckpointError(path, `tensors ${prev.t.name} and ${s.t.name} overlap (bytes ${s.begin}..${prev.end} of the data)`);
    }
    prev = s;
  }
  return { tensors: spans.map((s) => s.t), metadata, warnings, referenceOrder };
}

/** The reference library's dtype order (its Dtype enum, by increasing alignment); it writes the largest first. */
const DTYPE_RANK: Record<DType, number> = { BOOL: 0, U8: 1, I8: 2, I16: 5, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13 };

/** The reference library's `prepare()` order: dtype descending, then name by bytes. */
export function referenceCompare(a: TensorInfo, b: TensorInfo): number {
  return DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareUtf8(a.name, b.name);
}

/**
 * Order of two strings by their UTF-8 bytes, without encoding them (a header of 100,000 names
 * spent most of its parse in Buffer.from). Up to the first differing code unit both strings
 * encode alike; there, two units below U+D800 are whole code points, whose order is their
 * bytes' order. Surrogates and units above them (where UTF-16 and UTF-8 orders part) are
 * left to Buffer.compare.
 */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return a.length - b.length;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** First 8 bytes a plausible header length (little-endian) and byte 8 opens the JSON object. */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.byteLength < 10) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(LIMITS.maxHeaderBytes) && head[8] === 0x7b /* { */;
}

export const safetensorsReader: FormatReader = {
  format: 'safetensors',
  sniff: (head) => looksLikeSafetensors(head),
  async open(path: string): Promise<Checkpoint> {
    const h = await readSafetensorsHeader(path);
    return {
      path, format: 'safetensors', tensors: h.tensors, entries: [], metadata: h.metadata,
      files: [{ path, size: h.size, mtimeMs: h.mtimeMs }], warnings: h.warnings,
      storedOrder: h.referenceOrder && h.tensors.length > 1 ? 'sorted' : 'writer',
    };
  },
};
