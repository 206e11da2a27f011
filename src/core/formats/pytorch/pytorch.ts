// PyTorch checkpoints written by torch.save: the zip format (torch >= 1.6: `<prefix>/data.pkl`
// plus one stored zip entry per storage) and the legacy format (a sequence of pickles followed
// by raw storages). Opening reads the pickle and the few headers needed to locate each
// storage; tensor bytes are read later through TensorInfo.location. The pickle is interpreted
// by our own allow-listing interpreter (pickle.ts): nothing in the file is ever executed.
import { extname } from 'node:path';
import { Checkpoint, DTYPE_SIZE, TensorInfo, TensorLocation } from '../../common/types';
import { CheckpointError, UnsafePickleError } from '../../common/errors';
import { RandomAccessFile } from '../../common/fileio';
import { numel } from '../../tensor/dtypes';
import { FormatReader } from '../reader';
import { ZipArchive, ZipEntryInfo } from '../zip';
import { PickleNeedsMore, unpickle } from './pickle';
import { PyValue, PyDict, PyList, CallContext } from './pickleValues';
import { StorageRef, StorageTable, TensorRef, TORCH_ALLOWED_GLOBALS } from './pytorchGlobals';
import { flattenCheckpoint } from './pytorchFlatten';

/** Largest data.pkl (or legacy pickle) we interpret. Real ones are a few MB for huge models. */
export const MAX_PICKLE_BYTES = 128 * 1024 * 1024;
/** Largest deflated storage we inflate in memory (torch writes storages stored, not deflated). */
const MAX_INFLATED_STORAGE = 1 << 30;

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
const TORCH_EXTENSIONS = new Set(['.pt', '.pth', '.bin', '.ckpt', '.pkl', '.pickle']);

export const pytorchReader: FormatReader = {
  format: 'pytorch-zip',
  sniff(head: Uint8Array, path: string): boolean {
    if (isZip(head)) return zipLooksLikeTorch(head) || TORCH_EXTENSIONS.has(extname(path).toLowerCase());
    // Legacy torch.save and bare pickles start with PROTO (protocol 2 is torch's default).
    if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return true;
    return TORCH_EXTENSIONS.has(extname(path).toLowerCase()) && head.length > 0 && isProtocol0Start(head[0]);
  },
  open: openPytorch,
};

function isZip(h: Uint8Array): boolean {
  return h.length >= 4 && h[0] === 0x50 && h[1] === 0x4b && ((h[2] === 3 && h[3] === 4) || (h[2] === 5 && h[3] === 6));
}

/** The first local header's file name: torch writes `<prefix>/data.pkl` first. */
function zipLooksLikeTorch(h: Uint8Array): boolean {
  if (h.length < 30 || h[2] !== 3) return false;
  const n = h[26] | (h[27] << 8);
  if (30 + n > h.length) return false;
  const name = new TextDecoder().decode(h.subarray(30, 30 + n));
  return name === 'data.pkl' || name.endsWith('/data.pkl') || name.includes('/data/') || name.endsWith('/version') || name.endsWith('/byteorder');
}

/** Protocol 0/1 pickles start with an opcode such as MARK, EMPTY_DICT, GLOBAL, ... */
function isProtocol0Start(b: number): boolean {
  return b === 0x28 || b === 0x7d || b === 0x5d || b === 0x63 || b === 0x29;
}

/** What opening has established so far, for the wording of errors. */
interface OpenState { isTorchFile: boolean }

export async function openPytorch(path: string): Promise<Checkpoint> {
  const raf = await RandomAccessFile.open(path);
  const state: OpenState = { isTorchFile: false };
  try {
    const head = await raf.read(0, Math.min(4, raf.size));
    if (isZip(head)) return await openZip(path, raf, state);
    return await openLegacy(path, raf, state);
  } catch (e) {
    await raf.close().catch(() => undefined);
    throw explain(e, path, state);
  }
}

/** A whole nn.Module pickled with torch.save(model) names its class; say what to do instead. */
function explain(e: unknown, path: string, state: OpenState): unknown {
  if (e instanceof UnsafePickleError && looksLikeModelClass(e.global, state.isTorchFile)) {
    e.message += `. It looks like a whole model saved with torch.save(model); save model.state_dict() instead, which holds only tensors`;
  } else if (e instanceof RangeError) {
    return new CheckpointError(path, e.message);
  }
  return e;
}

const DANGEROUS_MODULES = /^(os|posix|nt|sys|subprocess|builtins|shutil|socket|pty|runpy|importlib|pickle|marshal|code|codecs|ctypes|webbrowser|io|pathlib|tempfile|multiprocessing|threading|signal|platform|operator|functools|types|inspect|torch\._C|torch\.hub|torch\.serialization|numpy\.testing|_\w+)(\.|$)/;
function looksLikeModelClass(global: string, isTorchFile: boolean): boolean {
  const dot = global.lastIndexOf('.');
  const module = global.slice(0, dot), name = global.slice(dot + 1);
  if (module.startsWith('torch.nn.modules.') || module === '__main__') return true;
  // In a file torch.save wrote, a class from the user's own package is almost always the model.
  return isTorchFile && /^[A-Z]\w*$/.test(name) && !DANGEROUS_MODULES.test(module);
}

// ---------------------------------------------------------------- zip format

async function openZip(path: string, raf: RandomAccessFile, state: OpenState): Promise<Checkpoint> {
  const zip = await ZipArchive.open(path, raf);
  try {
    const pkl = zip.entries
      .filter((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'))
      .sort((a, b) => a.name.split('/').length - b.name.split('/').length)[0];
    if (!pkl) throw new CheckpointError(path, 'is a zip archive but not a PyTorch checkpoint (it has no data.pkl)');
    const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
    state.isTorchFile = true;
    const byName = new Map(zip.entries.map((e) => [e.name, e]));
    const warnings: string[] = [];

    let littleEndian = true;
    const bo = byName.get(prefix + 'byteorder');
    if (bo) {
      const text = new TextDecoder().decode(await zip.readEntry(bo, 64)).trim();
      if (text === 'big') littleEndian = false;
      else if (text !== 'little') warnings.push(`byteorder record says "${text.slice(0, 20)}"; assuming little-endian`);
    }

    const data = await zip.readEntry(pkl, MAX_PICKLE_BYTES);
    const storages = new StorageTable();
    const { value } = unpickle(data, 0, { file: path, globals: TORCH_ALLOWED_GLOBALS, persistentLoad: (pid, ctx) => storages.load(pid, ctx) });

    const located = new Map<string, StorageLocation>();
    const pending: [string, ZipEntryInfo][] = [];
    for (const key of storages.order) {
      const s = storages.byKey.get(key)!;
      const entry = byName.get(`${prefix}data/${key}`);
      if (!entry) throw new CheckpointError(path, `data.pkl refers to storage ${key}, but the archive has no entry ${prefix}data/${key} (damaged or incomplete file)`);
      const need = s.numel * s.elementSize;
      if (entry.uncompressedSize < need) throw new CheckpointError(path, `storage ${key} should hold ${need} bytes (${s.numel} × ${s.elementSize}) but its entry has ${entry.uncompressedSize}`);
      pending.push([key, entry]);
    }
    const offsets = await storedDataOffsets(zip, raf, pending.map(([, e]) => e).filter((e) => e.compression === 0));
    for (const [key, entry] of pending) located.set(key, locateZipStorage(path, entry, offsets));
    return buildCheckpoint(path, 'pytorch-zip', raf, value, located, littleEndian, warnings);
  } finally {
    // Tensor bytes are read later through the FilePool (or a fresh archive for deflated storages).
    await zip.close();
  }
}

type StorageLocation =
  | { kind: 'file'; offset: number }
  | { kind: 'entry'; read: () => Promise<Uint8Array> };

function locateZipStorage(path: string, entry: ZipEntryInfo, offsets: Map<ZipEntryInfo, number>): StorageLocation {
  const offset = offsets.get(entry);
  if (offset !== undefined) return { kind: 'file', offset };
  // A deflated storage (not something torch writes; a re-zipped file): inflated on demand from a
  // freshly opened archive, so an open checkpoint holds no file handle.
  const name = entry.name;
  return {
    kind: 'entry',
    read: async () => {
      const zip = await ZipArchive.open(path);
      try {
        const e = zip.find(name);
        if (!e) throw new CheckpointError(path, `zip entry ${name} disappeared (file changed while reading?)`);
        return await zip.readEntry(e, MAX_INFLATED_STORAGE);
      } finally { await zip.close(); }
    },
  };
}

/** Headers closer than this are read together: many tiny storages would otherwise cost one read each. */
const HEADER_GAP = 4096;

/**
 * Data offsets of stored entries. A stored entry's data starts after its local header, whose
 * variable-length fields may differ from the central directory's, so each header is read
 * (30 bytes). Runs of headers a few KB apart are read in one go; lone ones via
 * ZipArchive.dataOffset, a few in flight at a time.
 */
async function storedDataOffsets(zip: ZipArchive, raf: RandomAccessFile, entries: ZipEntryInfo[]): Promise<Map<ZipEntryInfo, number>> {
  const out = new Map<ZipEntryInfo, number>();
  const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const lone: ZipEntryInfo[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1].localHeaderOffset - sorted[j].localHeaderOffset <= HEADER_GAP) j++;
    if (j === i) { lone.push(sorted[i]); i++; continue; }
    const start = sorted[i].localHeaderOffset;
    const end = Math.min(sorted[j].localHeaderOffset + 30, raf.size);
    const buf = await raf.read(start, end - start);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let k = i; k <= j; k++) {
      const e = sorted[k];
      const at = e.localHeaderOffset - start;
      if (at + 30 > buf.byteLength || dv.getUint32(at, true) !== 0x04034b50) throw new CheckpointError(zip.path, `zip entry ${e.name}: local header missing`);
      const off = e.localHeaderOffset + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
      if (off + e.compressedSize > raf.size) throw new CheckpointError(zip.path, `zip entry ${e.name} runs past the end of the file (truncated?)`);
      out.set(e, off);
    }
    i = j + 1;
  }
  for (let i = 0; i < lone.length; i += 32) {
    const batch = lone.slice(i, i + 32);
    const offs = await Promise.all(batch.map((e) => zip.dataOffset(e)));
    batch.forEach((e, k) => out.set(e, offs[k]));
  }
  return out;
}

// ---------------------------------------------------------------- legacy format

/** Reads successive pickles from the start of a file, growing the buffer only as far as needed. */
class PickleStream {
  private buf = new Uint8Array(0);
  pos = 0;
  constructor(private readonly raf: RandomAccessFile, private readonly path: string) {}

  async next(persistentLoad?: (pid: PyValue, ctx: CallContext) => PyValue): Promise<PyValue> {
    let want = Math.max(this.buf.byteLength, Math.min(this.raf.size, 64 * 1024));
    for (;;) {
      if (want > this.buf.byteLength) await this.fill(want);
      try {
        const r = unpickle(this.buf, this.pos, {
          file: this.path, globals: TORCH_ALLOWED_GLOBALS, persistentLoad, complete: this.buf.byteLength >= this.raf.size,
        });
        this.pos = r.end;
        return r.value;
      } catch (e) {
        if (!(e instanceof PickleNeedsMore)) throw e;
        if (e.needed > this.raf.size) throw new CheckpointError(this.path, `truncated: the pickle needs ${e.needed} bytes but the file has ${this.raf.size}`);
        if (e.needed > MAX_PICKLE_BYTES) throw new CheckpointError(this.path, `pickle is larger than ${MAX_PICKLE_BYTES} bytes`);
        want = Math.min(this.raf.size, Math.max(e.needed, this.buf.byteLength * 2));
      }
    }
  }

  private async fill(n: number): Promise<void> {
    const more = await this.raf.read(this.buf.byteLength, n - this.buf.byteLength);
    const b = new Uint8Array(n);
    b.set(this.buf, 0);
    b.set(more, this.buf.byteLength);
    this.buf = b;
  }

  /** 8 bytes at `at`, from the buffer when it holds them. */
  async u64At(at: number): Promise<bigint> {
    const b = at + 8 <= this.buf.byteLength ? this.buf.subarray(at, at + 8) : await this.raf.read(at, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
  }
}

async function openLegacy(path: string, raf: RandomAccessFile, state: OpenState): Promise<Checkpoint> {
  const stream = new PickleStream(raf, path);
  const magic = await stream.next();
  const m = typeof magic === 'bigint' ? magic : typeof magic === 'number' ? BigInt(magic) : undefined;
  if (m === undefined) throw new CheckpointError(path, 'is a pickle but not a PyTorch checkpoint (no torch.save magic number)');
  if (m !== LEGACY_MAGIC) throw new CheckpointError(path, `has the wrong magic number 0x${m.toString(16)} (not a legacy torch.save file, or damaged)`);
  state.isTorchFile = true;
  const protocol = await stream.next();
  if (protocol !== LEGACY_PROTOCOL_VERSION) throw new CheckpointError(path, `uses legacy serialization protocol ${String(protocol)}, expected ${LEGACY_PROTOCOL_VERSION}`);
  const sysInfo = await stream.next();
  let littleEndian = true;
  const warnings: string[] = [];
  if (sysInfo instanceof PyDict) {
    const le = sysInfo.get('little_endian');
    if (le === false) littleEndian = false;
  } else warnings.push('legacy header has no system information; assuming little-endian');

  const storages = new StorageTable();
  const value = await stream.next((pid, ctx) => storages.load(pid, ctx));
  const keysValue = await stream.next();
  const keys = keysValue instanceof PyList ? keysValue.items : undefined;
  if (!keys || !keys.every((k): k is string => typeof k === 'string')) throw new CheckpointError(path, 'legacy checkpoint has no list of storage keys after its pickle');

  // Storages follow in key order, each as an 8-byte element count and the raw elements.
  const located = new Map<string, StorageLocation>();
  let pos = stream.pos;
  for (const key of keys) {
    const s = storages.byKey.get(key);
    if (!s) throw new CheckpointError(path, `legacy checkpoint stores storage ${key}, which its pickle never describes`);
    if (pos + 8 > raf.size) throw new CheckpointError(path, `truncated: storage ${key} would start at byte ${pos} but the file has ${raf.size}`);
    const count = await stream.u64At(pos);
    const bytes = count * BigInt(s.elementSize);
    if (count < 0n || bytes > BigInt(raf.size - pos - 8)) {
      throw new CheckpointError(path, `storage ${key} claims ${count} elements (${bytes} bytes) but only ${raf.size - pos - 8} bytes remain (truncated or damaged)`);
    }
    if (Number(count) < s.numel) throw new CheckpointError(path, `storage ${key} holds ${count} elements but its tensors need ${s.numel}`);
    located.set(key, { kind: 'file', offset: pos + 8 });
    pos += 8 + Number(bytes);
  }
  for (const key of storages.order) {
    if (!located.has(key)) throw new CheckpointError(path, `the pickle refers to storage ${key}, which the file does not hold`);
  }
  const ckpt = buildCheckpoint(path, 'pytorch-legacy', raf, value, located, littleEndian, warnings);
  await raf.close();
  return ckpt;
}

// ---------------------------------------------------------------- tensors

function buildCheckpoint(path: string, format: 'pytorch-zip' | 'pytorch-legacy', raf: RandomAccessFile, value: PyValue,
  located: Map<string, StorageLocation>, littleEndian: boolean, warnings: string[]): Checkpoint {
  const flat = flattenCheckpoint(value, path);
  const tensors: TensorInfo[] = flat.tensors.map(({ name, tensor }) => ({
    name, dtype: tensor.dtype, shape: tensor.shape, location: tensorLocation(path, name, tensor, located, littleEndian),
  }));
  const metadata: Record<string, string> = {};
  if (flat.modelKey !== undefined) metadata.modelKey = flat.modelKey;
  if (!littleEndian) metadata.byteOrder = 'big';
  if (tensors.length === 0) warnings.push('holds no tensors');
  return {
    path, format, tensors, entries: flat.entries, metadata,
    files: [{ path, size: raf.size, mtimeMs: raf.mtimeMs }],
    warnings: [...warnings, ...flat.warnings],
  };
}

function tensorLocation(path: string, name: string, t: TensorRef, located: Map<string, StorageLocation>, littleEndian: boolean): TensorLocation {
  const s: StorageRef = t.storage;
  const loc = located.get(s.key);
  if (!loc) throw new CheckpointError(path, `tensor ${name} refers to storage ${s.key}, which the file does not hold`);
  const size = DTYPE_SIZE[t.dtype];
  let n: number;
  try { n = numel(t.shape); } catch (e) { throw new CheckpointError(path, `tensor ${name}: ${(e as Error).message}`); }
  // The storage in elements of the tensor's dtype (they differ only for untyped storages).
  const storageBytes = s.numel * s.elementSize;
  const viewByteOffset = s.viewOffset * s.elementSize;
  const storageElements = Math.floor(storageBytes / size);
  let contiguous = true;
  let expect = 1;
  let maxIndex = t.storageOffset;
  for (let k = t.shape.length - 1; k >= 0; k--) {
    if (t.shape[k] !== 1 && t.stride[k] !== expect) contiguous = false;
    expect *= t.shape[k];
    if (t.shape[k] > 0) maxIndex += (t.shape[k] - 1) * t.stride[k];
  }
  if (n > 0 && (!Number.isSafeInteger(maxIndex) || maxIndex >= storageElements)) {
    throw new CheckpointError(path, `tensor ${name} reaches element ${maxIndex} of storage ${s.key}, which holds ${storageElements}`);
  }
  if (loc.kind === 'file') {
    const base = loc.offset + viewByteOffset;
    if (contiguous) return { kind: 'contiguous', file: path, offset: base + t.storageOffset * size, littleEndian };
    return { kind: 'strided', file: path, offset: base, littleEndian, storageOffset: t.storageOffset, strides: t.stride, storageElements };
  }
  const shape = t.shape, strides = t.stride, offset = t.storageOffset;
  return {
    kind: 'loader', littleEndian,
    load: async () => {
      const bytes = await loc.read();
      if (bytes.byteLength < storageBytes) throw new CheckpointError(path, `storage ${s.key} inflates to ${bytes.byteLength} bytes, needs ${storageBytes}`);
      return gather(bytes, viewByteOffset, size, shape, strides, offset, n);
    },
  };
}

/** Copies a strided view's elements out of a storage's bytes into C order. */
function gather(storage: Uint8Array, base: number, size: number, shape: number[], strides: number[], offset: number, n: number): Uint8Array {
  const out = new Uint8Array(n * size);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let p = offset;
    for (let k = 0; k < shape.length; k++) p += idx[k] * strides[k];
    out.set(storage.subarray(base + p * size, base + (p + 1) * size), i * size);
    for (let k = shape.length - 1; k >= 0; k--) { if (++idx[k] < shape[k]) break; idx[k] = 0; }
  }
  return out;
}
