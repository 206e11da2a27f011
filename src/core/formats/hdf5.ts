// Our one module around h5wasm (the HDF5 C library compiled to WebAssembly). Keras `.h5`,
// `.weights.h5` and the weights inside `.keras` are HDF5 files. Nothing else imports h5wasm.
// h5wasm itself only ever runs in the HDF5 thread (hdf5Thread.ts, below: runInHdf5Thread), which
// is ended when a damaged file makes the library loop forever.
//
// h5wasm is ESM-only; its `h5wasm/node` build reads the host file system directly (NODERAWFS),
// so files are opened by path and only the parts HDF5 asks for are read. It is loaded with a
// dynamic import, which works under tsx and which esbuild inlines into dist/hdf5-thread.js, the
// one bundle that runs it (esbuild.mjs defines `import.meta.url` for it).
//
// h5wasm assigns its exported `Module` only when `ready` resolves. An ESM binding sees that, but a
// copy of the exports taken earlier (CommonJS seen from ESM, a namespace spread) holds undefined
// for good; so the WebAssembly module is taken from what `ready` resolves to, never from `Module`.
import type * as H5 from 'h5wasm';
import { DType } from '../common/types';
import { CheckpointError } from '../common/errors';
import { describeFsError } from '../common/fileio';
import type { Worker } from 'node:worker_threads';
import { startCoreThread } from '../tensor/threadEntry';
import { closeSync, fstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { baseAddress, chunkTable, contiguousData } from './hdf5Layout';
import { ChunkedDataset, Hdf5Filter } from './hdf5Chunks';
import type { FileWindow } from './hdf5Window';
import { resolve } from 'node:path';

type H5Module = typeof H5;
/** h5wasm's classes, and its WebAssembly module as `ready` resolved it. */
interface H5wasm { lib: H5Module; wasm: WasmModule }
let loading: Promise<H5wasm> | undefined;

async function h5(): Promise<H5wasm> {
  if (!loading) {
    loading = (async () => {
      // @ts-ignore -- `h5wasm/node` is resolved through package.json `exports`, which the
      // project's `moduleResolution: node` does not read; its types are those of `h5wasm`.
      const mod = (await import('h5wasm/node')) as unknown as H5Module & { default?: H5Module };
      const lib = (mod.File ? mod : mod.default) as H5Module;
      const wasm = (await lib.ready) as unknown as WasmModule & { activate_throwing_error_handler(): number };
      if (!wasm || typeof wasm._malloc !== 'function') throw new Error('h5wasm loaded without its WebAssembly module');
      // Make HDF5 errors throw (with HDF5's own message) instead of printing to stderr.
      wasm.activate_throwing_error_handler();
      return { lib, wasm };
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
  /** The superblock's base address, read once per open file (null: not one hdf5Layout.ts reads). */
  private base: number | null | undefined;
  private constructor(readonly path: string, private readonly lib: H5Module, private readonly wasm: WasmModule, private readonly file: H5.File, private readonly fsPath: string) {}

  /**
   * Opens `fsPath` (shown to the user as `displayPath`, e.g. the `.keras` it was extracted from).
   * The signature is checked first: HDF5 itself is not asked to parse a file that is not one.
   */
  static async open(fsPath: string, displayPath = fsPath): Promise<Hdf5File> {
    // Read through `fs` synchronously, as h5wasm reads: inside a file window (hdf5Window.ts) too.
    let head: Uint8Array;
    try {
      const fd = openSync(fsPath, 'r');
      try { const b = Buffer.alloc(2056); head = b.subarray(0, readSync(fd, b, 0, b.length, 0)); } finally { closeSync(fd); }
    } catch (e) {
      throw new CheckpointError(fsPath, describeFsError(e));
    }
    if (!isHdf5(head)) throw new CheckpointError(displayPath, 'is not an HDF5 file (no HDF5 signature)');
    const { lib, wasm } = await h5();
    let f: H5.File;
    try {
      f = new lib.File(fsPath, 'r');
    } catch (e) {
      hdf5Faults++;
      throw new CheckpointError(displayPath, `HDF5 file cannot be opened: ${hdf5Problem(e)}`);
    }
    return new Hdf5File(displayPath, lib, wasm, f, fsPath);
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
      const Module = this.wasm;
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

  /**
   * The file offset of a dataset stored contiguously, unfiltered and little-endian (what h5py
   * writes unless asked for chunks or compression), so that it can be read with positioned reads;
   * undefined for any other dataset. The offset comes from the dataset's object header
   * (hdf5Layout.ts) and is trusted only when the bytes there match h5wasm's own reading of the
   * dataset's first and last elements.
   */
  contiguousOffset(path: string): number | undefined {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) return undefined;
    return this.guard(() => {
      const m = o.metadata;
      if (m.chunks || !m.littleEndian || (o.filters ?? []).length > 0) return undefined;
      const nbytes = m.size * m.total_size;
      if (!(nbytes > 0)) return undefined;
      return this.withHeader(path, (fd, base, header) => {
        const data = contiguousData(fd, base, header);
        if (!data || (data.size >= 0 && data.size !== nbytes) || data.offset + nbytes > fstatSync(fd).size) return undefined;
        const shape = (m.shape ?? []).map(Number);
        const k = Math.min(shape[shape.length - 1] ?? 1, 256);
        const first = shape.map(() => 0), last = shape.map((d, i) => (i === shape.length - 1 ? d - k : d - 1));
        const count = shape.map((_, i) => (i === shape.length - 1 ? k : 1));
        const tail = nbytes - k * m.size;
        for (const [at, start] of [[0, first], [tail, last]] as const) {
          const want = this.hyperslab(path, start, count, k * m.size);
          const got = Buffer.alloc(want.byteLength);
          if (readSync(fd, got, 0, got.length, data.offset + at) !== got.length || !got.equals(want)) return undefined;
        }
        return data.offset;
      });
    });
  }

  /** The dataset's filters (HDF5's pipeline, in the order they were applied when writing). */
  filters(path: string): Hdf5Filter[] {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) return [];
    return this.guard(() => (o.filters ?? []).map((f) => ({ id: Number(f.id), name: String(f.name ?? ''), cd_values: [...(f.cd_values ?? [])].map(Number) })));
  }

  /**
   * What reading a chunked dataset without HDF5 takes (hdf5Chunks.ts): its chunk table and
   * filters, when it is little-endian and its table is the kind hdf5Layout.ts reads; undefined
   * otherwise (it is read through h5wasm). `filters` are the dataset's, as `filters(path)` gave
   * them to the caller, who found them undone natively (`filterSupport(filters) === 'native'`):
   * passed in so that a dataset's pipeline is fetched and judged once. The reader checks the
   * first and last chunks against h5wasm's reading before it trusts the table.
   */
  chunkedDataset(path: string, filters: Hdf5Filter[]): ChunkedDataset | undefined {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) return undefined;
    return this.guard(() => {
      const m = o.metadata;
      if (!m.chunks || !m.littleEndian) return undefined;
      const shape = (m.shape ?? []).map(Number);
      return this.withHeader(path, (fd, base, header) => {
        const table = chunkTable(fd, base, header, shape, m.size, MAX_NATIVE_CHUNKS);
        // The chunk shape HDF5 reports, and chunks small enough to hold a few of at once.
        if (!table || table.chunk.some((c, k) => c !== Number(m.chunks![k])) || table.chunk.reduce((a, b) => a * b, m.size) > MAX_NATIVE_CHUNK_BYTES) return undefined;
        return { ...table, dataset: path, shape, elementSize: m.size, filters };
      });
    });
  }

  /**
   * Runs `fn` on the file (read by `fs`) with the base address and the object header address of
   * `path`'s dataset. The superblock is read on the first call only: a Keras file of hundreds of
   * datasets reads it once.
   */
  private withHeader<T>(path: string, fn: (fd: number, base: number, header: number) => T | undefined): T | undefined {
    const Module = this.wasm;
    if (typeof Module?.create_object_reference !== 'function') return undefined;
    const ref = Array.from(Module.create_object_reference(this.file.file_id, '/' + path.replace(/^\/+/, '')));
    if (ref.length !== 8) return undefined;
    const header = ref.reduce((acc, b, i) => acc + b * 2 ** (8 * i), 0);
    let fd: number;
    try { fd = openSync(this.fsPath, 'r'); } catch { return undefined; }
    try {
      if (this.base === undefined) this.base = baseAddress(fd) ?? null;
      return this.base === null ? undefined : fn(fd, this.base, header);
    } finally {
      closeSync(fd);
    }
  }

  /** The dataset's chunk shape, or undefined when it is not chunked. */
  chunks(path: string): number[] | undefined {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) return undefined;
    return this.guard(() => o.metadata.chunks?.map(Number) ?? undefined);
  }

  /**
   * The box [start, start + count) of a dataset as little-endian bytes in C order: HDF5 reads
   * (and inflates) only the chunks the box touches. The box is checked against the dataset.
   */
  readSlab(path: string, start: readonly number[], count: readonly number[], into?: Uint8Array): Uint8Array {
    const o = this.get(path);
    if (!(o instanceof this.lib.Dataset)) throw new CheckpointError(this.path, `${path} is not a dataset`);
    return this.guard(() => {
      const m = o.metadata;
      const shape = (m.shape ?? []).map(Number);
      if (start.length !== shape.length || count.length !== shape.length || shape.some((d, i) => !(start[i] >= 0 && count[i] >= 1 && start[i] + count[i] <= d))) {
        throw new CheckpointError(this.path, `dataset ${path}: box at [${start.join(', ')}] of [${count.join(', ')}] is outside its shape [${shape.join(', ')}]`);
      }
      const nbytes = count.reduce((a, b) => a * b, 1) * m.size;
      if (nbytes > MAX_SLAB_BYTES) throw new CheckpointError(this.path, `dataset ${path}: a read of ${nbytes} bytes at once is refused (limit ${MAX_SLAB_BYTES})`);
      if (shape.length === 0) { const b = this.readBytes(path); if (!into || into.byteLength < b.byteLength) return b; into.set(b); return into.subarray(0, b.byteLength); }
      return this.hyperslab(path, start, count, nbytes, into);
    });
  }

  /** `count` elements at `start` of a dataset, as h5wasm reads them (little-endian bytes). */
  private hyperslab(path: string, start: readonly number[], count: readonly number[], nbytes: number, into?: Uint8Array): Uint8Array {
    const Module = this.wasm;
    const ptr = Module._malloc(nbytes);
    if (!ptr) throw new CheckpointError(this.path, `cannot allocate ${nbytes} bytes for dataset ${path}`);
    try {
      Module.get_dataset_data(this.file.file_id, '/' + path.replace(/^\/+/, ''), count.map(BigInt), start.map(BigInt), count.map(() => 1n), BigInt(ptr));
      if (into && into.byteLength >= nbytes) { into.set(Module.HEAPU8.subarray(ptr, ptr + nbytes)); return into.subarray(0, nbytes); }
      return Module.HEAPU8.slice(ptr, ptr + nbytes);
    } finally {
      Module._free(ptr);
    }
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
      hdf5Faults++;
      throw new CheckpointError(this.path, `HDF5 read failed: ${hdf5Problem(e)}`);
    } finally {
      progressHook?.();
    }
  }
}

/** Most chunks a dataset may have for its table to be held (16 MB of table); more are read through h5wasm. */
const MAX_NATIVE_CHUNKS = 1 << 20;
/** Largest chunk read without HDF5 (h5py's automatic chunks are at most 1 MB). */
const MAX_NATIVE_CHUNK_BYTES = 64 << 20;

/** Largest box one slab read returns (bands are a few tens of MB). */
const MAX_SLAB_BYTES = 256 << 20;

interface WasmModule {
  MAXIMUM_MEMORY: number;
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  get_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, stride: bigint[] | null, ptr: bigint): number;
  create_object_reference(fileId: bigint, path: string): ArrayLike<number>;
}

/**
 * Reads one dataset's bytes: opens the file, reads, closes. Runs h5wasm in this thread, so it is
 * for the HDF5 thread (hdf5Thread.ts); everyone else calls readHdf5DatasetInThread.
 */
export async function readHdf5Dataset(fsPath: string, datasetPath: string, displayPath = fsPath): Promise<Uint8Array> {
  const f = await Hdf5File.open(fsPath, displayPath);
  try { return f.readBytes(datasetPath); } finally { f.close(); }
}

/** Reads one box of a dataset (Hdf5File.readSlab): opens the file, reads, closes. For the HDF5 thread. */
export async function readHdf5Slab(fsPath: string, datasetPath: string, start: number[], count: number[], displayPath = fsPath, into?: Uint8Array): Promise<Uint8Array> {
  const f = await Hdf5File.open(fsPath, displayPath);
  try { return f.readSlab(datasetPath, start, count, into); } finally { f.close(); }
}

// HDF5 calls made in this thread that failed, and a hook called after each call: the HDF5 thread
// uses them to tell its caller that it is alive, and that its h5wasm may now hold leaked state.
let hdf5Faults = 0;
let progressHook: (() => void) | undefined;
export function hdf5FaultCount(): number { return hdf5Faults; }
export function onHdf5Progress(fn: (() => void) | undefined): void { progressHook = fn; }

/** Loads h5wasm ahead of the first file (the HDF5 thread does this as it starts). */
export async function preloadHdf5(): Promise<void> { await h5(); }

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

// ---------------------------------------------------------------------------------------------
// The HDF5 thread
//
// h5wasm is synchronous WebAssembly: on some damaged files the HDF5 library loops forever, and
// nothing in the thread running it can interrupt that. So all h5wasm work runs in a worker thread
// (hdf5Thread.ts) that we terminate when it stops answering; the caller gets a CheckpointError.
// One thread is kept and reused while it behaves (starting one and loading h5wasm costs 0.2-1 s);
// after a hang or an HDF5 error it is discarded, and the descriptors h5wasm left open are closed;
// idle for IDLE_END_MS it is ended, and the next HDF5 file starts another.

/** What the HDF5 thread is asked to do. */
/** `within`: the HDF5 file is bytes [offset, offset + size) of fsPath (a stored .keras member: hdf5Window.ts). */
export type Hdf5ThreadRequest = { within?: FileWindow } & (
  | { op: 'keras'; fsPath: string; displayPath: string; ctx: unknown }
  | { op: 'read'; fsPath: string; displayPath: string; dataset: string }
  | { op: 'slab'; fsPath: string; displayPath: string; dataset: string; start: number[]; count: number[]; into?: SharedArrayBuffer });

/** What it answers: a result, an error, a sign of life, or that h5wasm is loaded. */
export type Hdf5ThreadMessage =
  | { type: 'ready' }
  | { type: 'progress' }
  | { type: 'done'; id: number; result: unknown; faulted: boolean }
  | { type: 'failed'; id: number; checkpoint: boolean; file: string; problem: string; faulted: boolean };

/** A damaged file makes a single HDF5 call never return; a sound one answers each call in milliseconds. */
export const HDF5_IDLE_MS = 3000;
/** Starting the thread and loading h5wasm, on a busy machine. */
const HDF5_START_MS = 30_000;

/** Time allowed for one dataset read of `bytes` bytes (decompression included). */
export function datasetReadMs(bytes: number): number {
  const ms = 4000 + Math.ceil(bytes / (25 * 1024 * 1024)) * 1000;
  return Number.isFinite(ms) ? Math.min(ms, 600_000) : 600_000;
}

/**
 * An idle thread is ended after this long, giving back its WebAssembly memory (which only grows:
 * the largest box it read stays allocated); the next HDF5 file starts a new one.
 * REUSE_LENS_HDF5_IDLE_END_MS sets it (tests).
 */
const IDLE_END_MS = Number(process.env.REUSE_LENS_HDF5_IDLE_END_MS) > 0 ? Number(process.env.REUSE_LENS_HDF5_IDLE_END_MS) : 30_000;

let thread: Worker | undefined;
let threadReady = false;
let idleTimer: NodeJS.Timeout | undefined;

/** Ends `w` if it is still the thread and still idle `IDLE_END_MS` from now. */
function endWhenIdle(w: Worker): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (thread !== w || pending) return;
    thread = undefined;
    void w.terminate().catch(() => undefined);
  }, IDLE_END_MS);
  idleTimer.unref();
}
let nextId = 1;
let tail: Promise<unknown> = Promise.resolve();
type Pending = { id: number; onMessage(m: Hdf5ThreadMessage): void; onDeath(e: Error): void };
let pending: Pending | undefined;

function startThread(): Worker {
  const w = startCoreThread('formats/hdf5Thread.ts', 'hdf5-thread.js');
  threadReady = false;
  w.unref();
  w.on('message', (m: Hdf5ThreadMessage) => {
    if (m.type === 'ready') threadReady = true;
    pending?.onMessage(m);
  });
  const died = (e: Error) => {
    if (thread === w) thread = undefined;
    pending?.onDeath(e);
  };
  w.on('error', died);
  w.on('exit', (code) => died(new Error(`HDF5 thread exited (code ${code})`)));
  thread = w;
  return w;
}

/**
 * Runs `req` in the HDF5 thread, one request at a time. `idleMs`: longest wait for a sign of
 * life (each HDF5 call gives one) before the thread is taken for hung and terminated.
 */
export function runInHdf5Thread<T>(req: Hdf5ThreadRequest, idleMs: number): Promise<T> {
  const run = tail.then(() => runNow<T>(req, idleMs), () => runNow<T>(req, idleMs));
  tail = run.catch(() => undefined);
  return run;
}

async function runNow<T>(req: Hdf5ThreadRequest, idleMs: number): Promise<T> {
  clearTimeout(idleTimer);
  try {
    return await runOnThread<T>(req, idleMs);
  } finally {
    if (thread) endWhenIdle(thread);
  }
}

async function runOnThread<T>(req: Hdf5ThreadRequest, idleMs: number): Promise<T> {
  const fdsBefore = openFds();
  const w = thread ?? startThread();
  const id = nextId++;
  w.ref(); // the caller is waiting: keep the process alive until the answer comes
  type Outcome = { kind: 'reply'; m: Hdf5ThreadMessage } | { kind: 'hung' } | { kind: 'died'; e: Error };
  let allowedMs = idleMs;
  const outcome = await new Promise<Outcome>((resolve) => {
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      allowedMs = threadReady ? idleMs : HDF5_START_MS;
      timer = setTimeout(() => resolve({ kind: 'hung' }), allowedMs);
    };
    pending = {
      id,
      onMessage: (m) => {
        if (m.type === 'ready' || m.type === 'progress') { arm(); return; }
        if (m.id !== id) return;
        clearTimeout(timer); resolve({ kind: 'reply', m });
      },
      onDeath: (e) => { clearTimeout(timer); resolve({ kind: 'died', e }); },
    };
    arm();
    w.postMessage({ id, ...req });
  });
  pending = undefined;
  if (thread === w) w.unref();

  if (outcome.kind === 'reply' && outcome.m.type === 'done') {
    // An HDF5 call failed along the way (and was tolerated), or h5wasm kept the file open after
    // closing it (a damaged file whose close fails quietly): its h5wasm is not trusted further.
    if (outcome.m.faulted || leftOpen(fdsBefore, req.fsPath)) await discardThread(w, fdsBefore, req.fsPath);
    return outcome.m.result as T;
  }
  // A refusal of ours (not a Keras file, ...) that no HDF5 failure led to, and that left nothing
  // open, leaves the thread sound.
  const clean = outcome.kind === 'reply' && outcome.m.type === 'failed' && outcome.m.checkpoint && !outcome.m.faulted && !leftOpen(fdsBefore, req.fsPath);
  if (!clean) await discardThread(w, fdsBefore, req.fsPath);
  if (outcome.kind === 'hung') {
    throw new CheckpointError(req.displayPath, `HDF5 library did not finish reading ${req.displayPath} within ${Math.round(allowedMs / 1000)} s: the file is damaged`);
  }
  if (outcome.kind === 'died') {
    throw new CheckpointError(req.displayPath, `HDF5 library failed reading it: ${outcome.e.message}`);
  }
  const m = outcome.m as Extract<Hdf5ThreadMessage, { type: 'failed' }>;
  if (m.checkpoint) throw new CheckpointError(m.file, m.problem);
  throw new Error(m.problem);
}

/** True when a descriptor on `fsPath` (or an h5wasm temp file) opened since `fdsBefore` is still open. */
function leftOpen(fdsBefore: Map<number, string> | undefined, fsPath: string): boolean {
  const after = fdsBefore && openFds();
  if (!after) return false;
  let target: string;
  try { target = realpathSync(fsPath); } catch { target = resolve(fsPath); }
  for (const [fd, link] of after) {
    if (fdsBefore!.get(fd) === link) continue;
    const path = link.replace(/ \(deleted\)$/, '');
    if (path === target || /\/tmpfile_[^/]*$/.test(path)) return true;
  }
  return false;
}

/** Ends the thread and closes what its h5wasm left open on `fsPath` (and h5wasm's temp files). */
async function discardThread(w: Worker, fdsBefore: Map<number, string> | undefined, fsPath: string): Promise<void> {
  if (thread === w) thread = undefined;
  try { await w.terminate(); } catch { /* already gone */ }
  if (!fdsBefore) return startSpareThread();
  let target: string;
  try { target = realpathSync(fsPath); } catch { target = resolve(fsPath); }
  const after = openFds();
  if (!after) return startSpareThread();
  for (const [fd, link] of after) {
    if (fdsBefore.get(fd) === link) continue;
    const path = link.replace(/ \(deleted\)$/, '');
    if (path === target || /\/tmpfile_[^/]*$/.test(path)) {
      try { closeSync(fd); } catch { /* closed meanwhile */ }
    }
  }
  await startSpareThread();
}

/**
 * Starts the replacement thread now and waits until h5wasm is loaded in it: the next file does not
 * wait for it, and the process holds the same descriptors as before the failure (a thread owns a
 * few: its event loop's), so a caller counting them sees no change.
 */
async function startSpareThread(): Promise<void> {
  const w = startThread();
  w.ref(); // the caller awaits this: keep the process alive meanwhile
  await new Promise<void>((done) => {
    const timer = setTimeout(finish, 5000);
    function finish() { clearTimeout(timer); w.off('message', onMessage); w.off('exit', finish); done(); }
    function onMessage(m: Hdf5ThreadMessage) { if (m.type === 'ready') finish(); }
    w.on('message', onMessage);
    w.on('exit', finish);
  });
  w.unref();
}

/** This process's open descriptors and what they point at (Linux; elsewhere undefined: no clean-up). */
function openFds(): Map<number, string> | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const out = new Map<number, string>();
    for (const name of readdirSync('/proc/self/fd')) {
      try { out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`)); } catch { /* closed meanwhile */ }
    }
    return out;
  } catch {
    return undefined;
  }
}
