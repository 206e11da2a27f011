// Our one module around h5wasm (the HDF5 C library compiled to WebAssembly). Keras `.h5`,
// `.weights.h5` and the weights inside `.keras` are HDF5 files. Nothing else imports h5wasm.
//
// h5wasm is ESM-only; its `h5wasm/node` build reads the host file system directly (NODERAWFS),
// so files are opened by path and only the parts HDF5 asks for are read. It is loaded with a
// dynamic import, which works under tsx and which esbuild inlines into the CommonJS bundles
// (esbuild.mjs defines `import.meta.url` for it).
import type * as H5 from 'h5wasm';
import { DType } from '../types';
import { CheckpointError } from '../errors';
import { RandomAccessFile } from '../fileio';

type H5Module = typeof H5;
let loading: Promise<H5Module> | undefined;

async function h5(): Promise<H5Module> {
  if (!loading) {
    loading = (async () => {
      // @ts-ignore -- `h5wasm/node` is resolved through package.json `exports`, which the
      // project's `moduleResolution: node` does not read; its types are those of `h5wasm`.
      const mod = (await import('h5wasm/node')) as unknown as H5Module & { default?: H5Module };
      const lib = (mod.File ? mod : mod.default) as H5Module;
      const m = await lib.ready;
      // Make HDF5 errors throw (with HDF5's own message) instead of printing to stderr.
      (m as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
      return lib;
    })();
  }
  return loading;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `head` starts with the HDF5 signature (a user block would put it at 512, 1024, ...). */
export function isHdf5(head: Uint8Array): boolean {
  return signatureAt(head, 0) || signatureAt(head, 512) || signatureAt(head, 1024) || signatureAt(head, 2048);
}

function signatureAt(b: Uint8Array, off: number): boolean {
  if (b.byteLength < off + 8) return false;
  for (let i = 0; i < 8; i++) if (b[off + i] !== SIGNATURE[i]) return false;
  return true;
}

export interface Hdf5DatasetInfo {
  /** Element type, or null when it is not one we compute with (strings, compounds, uint32...). */
  dtype: DType | null;
  shape: number[];
  /** HDF5 class and size, for messages about unsupported types. */
  typeDescription: string;
}

export type Hdf5AttrValue = string | number | boolean | string[] | number[] | null;

/** One open HDF5 file, read-only. Always `close()` it (try/finally). */
export class Hdf5File {
  /** Member names per group path: lookups walk from the root, and big models have many. */
  private readonly keyCache = new Map<string, Set<string>>();
  private constructor(readonly path: string, private readonly lib: H5Module, private readonly file: H5.File) {}

  /**
   * Opens `fsPath` (shown to the user as `displayPath`, e.g. the `.keras` it was extracted from).
   * The signature is checked first: HDF5 itself is not asked to parse a file that is not one.
   */
  static async open(fsPath: string, displayPath = fsPath): Promise<Hdf5File> {
    const raf = await RandomAccessFile.open(fsPath);
    let head: Uint8Array;
    try { head = await raf.read(0, Math.min(raf.size, 2056)); } finally { await raf.close(); }
    if (!isHdf5(head)) throw new CheckpointError(displayPath, 'is not an HDF5 file (no HDF5 signature)');
    const lib = await h5();
    let f: H5.File;
    try {
      f = new lib.File(fsPath, 'r');
    } catch (e) {
      throw new CheckpointError(displayPath, `HDF5 file cannot be opened: ${hdf5Problem(e)}`);
    }
    return new Hdf5File(displayPath, lib, f);
  }

  close(): void {
    try { this.file.close(); } catch { /* already closed */ }
  }

  /** What sits at `path`: a group, a dataset, something else, or nothing. */
  kind(path: string): 'group' | 'dataset' | 'other' | null {
    const o = this.get(path);
    if (!o) return null;
    if (o instanceof this.lib.Group) return 'group';
    if (o instanceof this.lib.Dataset) return 'dataset';
    return 'other';
  }

  /** Names of a group's members, in HDF5's order (alphabetical unless the file tracks creation order). */
  keys(path: string): string[] {
    const o = this.get(path);
    if (!(o instanceof this.lib.Group)) return [];
    return this.guard(() => o.keys());
  }

  attrNames(path: string): string[] {
    const o = this.get(path);
    if (!o) return [];
    return this.guard(() => Object.keys(o.attrs));
  }

  /** An attribute's value, strings decoded; null when absent or unreadable. */
  attr(path: string, name: string): Hdf5AttrValue {
    const o = this.get(path);
    if (!o) return null;
    return this.guard(() => {
      const a = (o.attrs as Record<string, H5.Attribute>)[name];
      if (!a) return null;
      return normaliseValue(a.json_value);
    });
  }

  dataset(path: string): Hdf5DatasetInfo {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) throw new CheckpointError(this.path, `${path} is not a dataset`);
    return this.guard(() => {
      const m = o.metadata;
      return { dtype: dtypeOf(m), shape: (m.shape ?? []).map(Number), typeDescription: describeType(m) };
    });
  }

  /** The dataset's elements as little-endian bytes (h5wasm converts to little-endian on read). */
  readBytes(path: string): Uint8Array {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) throw new CheckpointError(this.path, `${path} is not a dataset`);
    return this.guard(() => {
      const m = o.metadata;
      const Module = this.lib.Module as unknown as WasmModule;
      const nbytes = m.size * m.total_size;
      if (nbytes === 0) return new Uint8Array(0);
      if (nbytes > Module.MAXIMUM_MEMORY / 2) throw new CheckpointError(this.path, `dataset ${path} is ${nbytes} bytes, too large to read`);
      const ptr = Module._malloc(nbytes);
      if (!ptr) throw new CheckpointError(this.path, `cannot allocate ${nbytes} bytes for dataset ${path}`);
      try {
        Module.get_dataset_data(this.file.file_id, '/' + path.replace(/^\/+/, ''), null, null, null, BigInt(ptr));
        return Module.HEAPU8.slice(ptr, ptr + nbytes);
      } finally {
        Module._free(ptr);
      }
    });
  }

  /** The object at `path`; links that lead nowhere (broken, external) count as absent. */
  private get(path: string): H5.Group | H5.Dataset | H5.Datatype | null {
    const p = path.replace(/^\/+/, '') || '/';
    if (p === '/') return this.file;
    // h5wasm's get() walks a path whose intermediate groups must exist; check membership first so
    // a missing name is `null` rather than an HDF5 error.
    const parts = p.split('/');
    let cur: H5.Group = this.file;
    for (let i = 0; i < parts.length; i++) {
      const where = parts.slice(0, i).join('/');
      let names = this.keyCache.get(where);
      if (!names) { const g = cur; names = new Set(this.guard(() => g.keys())); this.keyCache.set(where, names); }
      if (!names.has(parts[i])) return null;
      const next = this.guard(() => cur.get(parts[i]));
      if (i === parts.length - 1) {
        const { Group, Dataset, Datatype } = this.lib;
        return next instanceof Group || next instanceof Dataset || next instanceof Datatype ? next : null;
      }
      if (!(next instanceof this.lib.Group)) return null;
      cur = next;
    }
    return null;
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw new CheckpointError(this.path, `HDF5 read failed: ${hdf5Problem(e)}`);
    }
  }
}

interface WasmModule {
  MAXIMUM_MEMORY: number;
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  get_dataset_data(fileId: bigint, path: string, count: null, offset: null, stride: null, ptr: bigint): number;
}

/** Reads one dataset's bytes: opens the file, reads, closes. Used by tensor loaders. */
export async function readHdf5Dataset(fsPath: string, datasetPath: string, displayPath = fsPath): Promise<Uint8Array> {
  const f = await Hdf5File.open(fsPath, displayPath);
  try { return f.readBytes(datasetPath); } finally { f.close(); }
}

function dtypeOf(m: H5.Metadata): DType | null {
  // H5T class: 0 integer, 1 float (h5py writes bool as an enum of int8, class 8: not a weight).
  if (m.type === 1) return m.size === 8 ? 'F64' : m.size === 4 ? 'F32' : m.size === 2 ? 'F16' : null;
  if (m.type === 0) {
    if (m.signed) return m.size === 8 ? 'I64' : m.size === 4 ? 'I32' : m.size === 2 ? 'I16' : m.size === 1 ? 'I8' : null;
    return m.size === 1 ? 'U8' : null;
  }
  return null;
}

function describeType(m: H5.Metadata): string {
  const cls = ['integer', 'float', 'time', 'string', 'bitfield', 'opaque', 'compound', 'reference', 'enum', 'vlen', 'array'][m.type] ?? `class ${m.type}`;
  return `${m.type === 0 && !m.signed ? 'unsigned ' : ''}${cls} of ${m.size} bytes`;
}

function normaliseValue(v: unknown): Hdf5AttrValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) {
    const flat = (v as unknown[]).flat(Infinity);
    if (flat.every((x) => typeof x === 'string')) return flat as string[];
    if (flat.every((x) => typeof x === 'number' || typeof x === 'bigint')) return flat.map(Number);
    return null;
  }
  return null;
}

/** The most telling line of an HDF5 error stack ("truncated file: eof = ...", "not an HDF5 file"). */
export function hdf5Problem(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  const eof = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(text);
  if (eof) return `truncated: the file has ${eof[1]} bytes but its HDF5 superblock says ${eof[2]}`;
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // HDF5 prints the stack outermost first; the innermost frame says what was actually wrong.
  const frames = lines.filter((l) => /^#\d+:/.test(l));
  if (frames.length) {
    const inner = frames[frames.length - 1].replace(/^#\d+:.*? in [\w]+\(\): /, '');
    return inner;
  }
  return lines[0] ?? 'unknown error';
}
