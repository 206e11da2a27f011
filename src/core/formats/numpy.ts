// NumPy .npy: one array per file, named after the file's stem. The header is read and parsed
// (never evaluated); the data is located for positioned reads.
import { basename, extname } from 'node:path';
import { Checkpoint, DTYPE_SIZE, TensorInfo, TensorLocation } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile } from '../common/fileio';
import { numel } from '../tensor/dtypes';
import { FormatReader } from './reader';
import { hasNpyMagic, NpyHeader, NPY_PREAMBLE_BYTES, parseNpyHeader, parseNpyPreamble } from './numpyHeader';

/**
 * Largest header we accept. numpy pads headers to 64 bytes and itself refuses more than 10 000
 * by default; the extra room is for odd writers, and the cap keeps a lying length cheap.
 */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

export interface NpyLayout { header: NpyHeader; dataOffset: number; dataBytes: number }

/**
 * Reads and checks the header of an .npy that occupies `available` bytes, through `readAt`
 * (positions relative to the .npy's first byte). Problems are thrown as plain Errors whose
 * message is the problem; callers name the file (and the zip member).
 */
export async function readNpyLayout(readAt: (pos: number, len: number) => Promise<Uint8Array>, available: number): Promise<NpyLayout> {
  if (available < 10) throw new Error(available >= 6 ? `truncated: .npy is ${available} bytes, shorter than its preamble` : 'not a NumPy .npy array (magic \\x93NUMPY missing)');
  const pre = parseNpyPreamble(await readAt(0, Math.min(NPY_PREAMBLE_BYTES, available)));
  if (pre.headerLength > MAX_NPY_HEADER_BYTES) throw new Error(`.npy header claims ${pre.headerLength} bytes, more than the limit of ${MAX_NPY_HEADER_BYTES}`);
  if (pre.headerStart + pre.headerLength > available) throw new Error(`truncated: .npy header claims ${pre.headerLength} bytes but only ${Math.max(0, available - pre.headerStart)} follow`);
  const raw = await readAt(pre.headerStart, pre.headerLength);
  // Version 1 and 2 headers are latin1, version 3 utf8; the parts we use are ASCII either way.
  const text = Buffer.from(raw).toString(pre.major === 3 ? 'utf8' : 'latin1');
  const header = parseNpyHeader(text);
  const dataOffset = pre.headerStart + pre.headerLength;
  const dataBytes = numel(header.shape) * DTYPE_SIZE[header.dtype];
  if (dataOffset + dataBytes > available) {
    throw new Error(`truncated: ${header.descr} (${header.shape.join(', ')}) needs ${dataBytes} bytes of data but only ${available - dataOffset} follow the header`);
  }
  return { header, dataOffset, dataBytes };
}

/** Where an array's elements are: C order is contiguous, Fortran order a column-major strided view. */
export function npyLocation(file: string, offset: number, h: NpyHeader): TensorLocation {
  if (!h.fortranOrder || h.shape.length < 2) return { kind: 'contiguous', file, offset, littleEndian: h.littleEndian };
  const strides: number[] = [];
  let s = 1;
  for (const d of h.shape) { strides.push(s); s *= d; }
  return { kind: 'strided', file, offset, littleEndian: h.littleEndian, storageOffset: 0, strides, storageElements: numel(h.shape) };
}

/** Tensor name of a single .npy: its file name without the extension. */
export function npyTensorName(path: string): string {
  const b = basename(path);
  const stem = b.slice(0, b.length - extname(b).length);
  return stem || b;
}

export const npyReader: FormatReader = {
  format: 'npy',
  sniff: (head) => hasNpyMagic(head),
  async open(path: string): Promise<Checkpoint> {
    const file = await RandomAccessFile.open(path);
    try {
      let layout: NpyLayout;
      try {
        layout = await readNpyLayout((pos, len) => file.read(pos, len), file.size);
      } catch (e) {
        if (e instanceof CheckpointError) throw e;
        throw new CheckpointError(path, (e as Error).message);
      }
      const t: TensorInfo = {
        name: npyTensorName(path), dtype: layout.header.dtype, shape: layout.header.shape,
        location: npyLocation(path, layout.dataOffset, layout.header),
      };
      return {
        path, format: 'npy', tensors: [t], entries: [], files: [{ path, size: file.size, mtimeMs: file.mtimeMs }], warnings: [],
      };
    } finally {
      await file.close();
    }
  },
};
