// NumPy .npz: a zip of .npy members (np.savez stores them, np.savez_compressed deflates them).
// Stored members are read in place with positioned reads; deflated members are inflated as they
// are read, capped at their declared size (tensor/inflateRead.ts).
import { createInflateRaw } from 'node:zlib';
import { Checkpoint, NonTensorEntry, TensorInfo } from '../common/types';
import { CheckpointError } from '../common/errors';
import { RandomAccessFile } from '../common/fileio';
import { FormatReader } from './reader';
import { ZipArchive, ZipEntryInfo } from './zip';
import { MAX_DEFLATE_RATIO } from '../tensor/inflateRead';
import { MAX_NPY_HEADER_BYTES, npyLocation, NpyLayout, readNpyLayout } from './numpy';

export const npzReader: FormatReader = {
  format: 'npz',
  sniff: (head) => firstZipEntryName(head)?.toLowerCase().endsWith('.npy') ?? false,
  open: openNpz,
};

/** Name in the first local file header of a zip, if the head starts with one. */
export function firstZipEntryName(head: Uint8Array): string | undefined {
  if (head.byteLength < 30 || head[0] !== 0x50 || head[1] !== 0x4b || head[2] !== 3 || head[3] !== 4) return undefined;
  const len = head[26] | (head[27] << 8);
  if (30 + len > head.byteLength) return undefined;
  return Buffer.from(head.subarray(30, 30 + len)).toString('utf8');
}

/** The key as numpy spells it: `conv1/weight.npy` → `conv1/weight`; `arr_0.npy` → `arr_0`. */
export function npzTensorName(member: string): string {
  return member.replace(/\.npy$/i, '');
}

async function openNpz(path: string): Promise<Checkpoint> {
  const raf = await RandomAccessFile.open(path);
  const zip = await ZipArchive.open(path, raf).catch(async (e) => { await raf.close(); throw e; });
  try {
    const tensors: TensorInfo[] = [];
    const entries: NonTensorEntry[] = [];
    const warnings: string[] = [];
    const names = new Set<string>();
    for (const e of zip.entries) {
      if (e.name.endsWith('/')) continue;
      if (!e.name.toLowerCase().endsWith('.npy')) {
        entries.push({ name: e.name, type: 'file', value: `${e.uncompressedSize} bytes` });
        continue;
      }
      let name = npzTensorName(e.name);
      if (names.has(name)) {
        warnings.push(`members ${e.name} and another both map to the name ${name}; kept as ${e.name}`);
        name = e.name;
      }
      names.add(name);
      tensors.push(await describeMember(path, zip, raf, e, name));
    }
    return {
      path, format: 'npz', tensors, entries, files: [{ path, size: raf.size, mtimeMs: raf.mtimeMs }], warnings,
    };
  } finally {
    await zip.close();
  }
}

async function describeMember(path: string, zip: ZipArchive, raf: RandomAccessFile, e: ZipEntryInfo, name: string): Promise<TensorInfo> {
  const fail = (problem: string) => new CheckpointError(path, `member ${e.name}: ${problem}`);
  const start = await zip.dataOffset(e);
  let layout: NpyLayout;
  if (e.compression === 0) {
    if (e.compressedSize !== e.uncompressedSize) throw fail(`stored member has compressed size ${e.compressedSize} but size ${e.uncompressedSize}`);
    const size = e.compressedSize;
    layout = await readNpyLayout((pos, len) => raf.read(start + pos, len), size).catch((err) => { throw err instanceof CheckpointError ? err : fail((err as Error).message); });
    return { name, dtype: layout.header.dtype, shape: layout.header.shape, location: npyLocation(path, start + layout.dataOffset, layout.header) };
  }
  if (e.compression !== 8) throw fail(`uses zip compression method ${e.compression}, which is not supported (stored and deflated are)`);
  if (e.uncompressedSize > e.compressedSize * MAX_DEFLATE_RATIO + 1024) throw fail(`declares ${e.uncompressedSize} bytes from ${e.compressedSize} compressed bytes, more than deflate can produce (zip bomb or damaged archive)`);
  // Only the header is inflated now; the data is inflated when the tensor is read.
  const size = e.uncompressedSize;
  let prefix: Uint8Array = new Uint8Array(0);
  const readAt = async (pos: number, len: number): Promise<Uint8Array> => {
    if (pos + len > prefix.byteLength) prefix = await inflatePrefix(path, raf, start, e, Math.min(size, Math.max(pos + len, 4096)));
    if (pos + len > prefix.byteLength) throw fail(`truncated: inflates to ${prefix.byteLength} bytes, needs ${pos + len}`);
    return prefix.subarray(pos, pos + len);
  };
  layout = await readNpyLayout(readAt, size).catch((err) => { throw err instanceof CheckpointError ? err : fail((err as Error).message); });
  const { header, dataOffset } = layout;
  // The data is inflated as it is read, a chunk at a time (tensor/inflateRead.ts), never whole.
  const t: TensorInfo = {
    name, dtype: header.dtype, shape: header.shape,
    location: { kind: 'deflated', file: path, member: e.name, offset: start, compressedSize: e.compressedSize, inflatedSize: e.uncompressedSize, skip: dataOffset, littleEndian: header.littleEndian },
  };
  if (header.fortranOrder && header.shape.length >= 2) {
    // Column-major bytes are the C-order bytes of the reversed shape; permute reverses back.
    t.storedShape = [...header.shape].reverse();
    t.permute = header.shape.map((_, k) => header.shape.length - 1 - k);
  }
  return t;
}

/**
 * Inflates the first `want` bytes of a deflated member (its .npy header), reading compressed
 * bytes a little at a time, so that opening an .npz reads headers, not data.
 */
async function inflatePrefix(path: string, raf: RandomAccessFile, start: number, e: ZipEntryInfo, want: number): Promise<Uint8Array> {
  want = Math.min(want, MAX_NPY_HEADER_BYTES + 16);
  const inflate = createInflateRaw();
  const parts: Buffer[] = [];
  let total = 0;
  let done = false;
  const result = new Promise<Uint8Array>((resolve, reject) => {
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      inflate.destroy();
      if (err) reject(new CheckpointError(path, `member ${e.name} is damaged (${err.message})`));
      else { const all = Buffer.concat(parts, total); resolve(new Uint8Array(all.subarray(0, Math.min(want, all.length)))); }
    };
    inflate.on('data', (b: Buffer) => { parts.push(b); total += b.length; if (total >= want) finish(); });
    inflate.on('end', () => finish());
    inflate.on('error', (err) => finish(err));
  });
  // The inflater can fail while the loop below awaits a read: without a handler attached now,
  // that rejection is "unhandled" for a moment and takes the process down. Callers still get it.
  result.catch(() => undefined);
  // Small first read: a header of a few hundred bytes inflates from the first few hundred
  // compressed bytes; later reads grow so a long member does not take many small reads.
  let step = 1024;
  try {
    for (let p = 0; p < e.compressedSize && !done; p += step, step = Math.min(step * 4, 64 * 1024)) {
      const chunk = await raf.read(start + p, Math.min(step, e.compressedSize - p));
      if (done) break;
      if (!inflate.write(chunk)) await new Promise<void>((r) => { inflate.once('drain', r); inflate.once('close', r); });
    }
    if (!done) inflate.end();
  } catch (err) {
    inflate.destroy();
    if (!done) { done = true; throw err; }
  }
  return result;
}
