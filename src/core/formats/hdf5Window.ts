// An HDF5 file that lies inside another file (the model.weights.h5 a .keras stores uncompressed,
// which is what Keras writes), opened by h5wasm where it lies instead of from a copy.
//
// h5wasm's Node build reads the host file system through Node's `fs` (open, fstat/stat for the
// size, positioned readSync). For the duration of one call, the descriptors it opens on the outer
// file are shifted: reads at position p read byte `offset + p`, and never past `offset + size`;
// fstat and stat report `size`. Only the HDF5 thread (hdf5Thread.ts) uses this: a worker thread
// has its own `fs` module object, so nothing else in the process sees the shift.
import { resolve } from 'node:path';
import type { Stats } from 'node:fs';

// The `fs` module object h5wasm calls through (its properties are looked up on each call).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('node:fs') as typeof import('node:fs');

export interface FileWindow { offset: number; size: number }

let active: (FileWindow & { path: string }) | undefined;
const shifted = new Set<number>();
let installed = false;

function sized<T extends Stats>(st: T, size: number): T {
  return Object.assign(Object.create(Object.getPrototypeOf(st)), st, { size, blocks: Math.ceil(size / 512) });
}

function install(): void {
  if (installed) return;
  installed = true;
  const o = { openSync: fs.openSync, closeSync: fs.closeSync, readSync: fs.readSync, fstatSync: fs.fstatSync, statSync: fs.statSync, lstatSync: fs.lstatSync };
  const mine = (p: unknown) => !!active && typeof p === 'string' && resolve(p) === active.path;
  fs.openSync = ((p: string, ...rest: unknown[]) => {
    const fd = (o.openSync as (...a: unknown[]) => number)(p, ...rest);
    if (mine(p)) shifted.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.closeSync = ((fd: number) => { shifted.delete(fd); o.closeSync(fd); }) as typeof fs.closeSync;
  fs.readSync = ((fd: number, buffer: NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (!active || !shifted.has(fd)) return (o.readSync as (...a: unknown[]) => number)(fd, buffer, ...rest);
    const [off, len, pos] = rest as [number, number, number | bigint | null];
    if (typeof off !== 'number' || typeof len !== 'number' || pos === null || pos === undefined) throw new Error('hdf5Window: only positioned reads are shifted');
    const p = Number(pos);
    const n = Math.max(0, Math.min(len, active.size - p));
    return n === 0 ? 0 : o.readSync(fd, buffer, off, n, active.offset + p);
  }) as typeof fs.readSync;
  fs.fstatSync = ((fd: number, opts?: unknown) => {
    const st = (o.fstatSync as (...a: unknown[]) => Stats)(fd, opts);
    return active && shifted.has(fd) ? sized(st, active.size) : st;
  }) as typeof fs.fstatSync;
  for (const k of ['statSync', 'lstatSync'] as const) {
    const orig = o[k] as (...a: unknown[]) => Stats | undefined;
    (fs as unknown as Record<string, unknown>)[k] = (p: unknown, opts?: unknown) => {
      const st = orig(p, opts);
      return st && mine(p) ? sized(st, active!.size) : st;
    };
  }
}

/** Runs `fn` with `path` seen (by h5wasm, by positioned reads through `fs`) as its bytes [offset, offset + size). */
export async function withFileWindow<T>(path: string, w: FileWindow | undefined, fn: () => Promise<T>): Promise<T> {
  if (!w) return fn();
  install();
  active = { path: resolve(path), offset: w.offset, size: w.size };
  try { return await fn(); } finally { active = undefined; shifted.clear(); }
}
