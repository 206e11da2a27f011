// Where a contiguous HDF5 dataset's bytes are in the file, so that a Keras kernel is read with
// positioned reads (and streamed, transposed a band at a time: tensor/viewRead.ts) instead of
// whole through h5wasm. h5wasm has no H5Dget_offset; it does give an object's header address
// (an object reference), and the header's Data Layout message holds the data's address. This
// module reads just that: superblock base address, object header v1 or v2 (with continuation
// blocks), layout message v1-v4. Anything unexpected answers undefined and the dataset is read
// through h5wasm as before; hdf5.ts also checks sample elements against h5wasm's own reading.
import { readSync } from 'node:fs';

export interface ContiguousData { /** Absolute file offset of the first byte. */ offset: number; size: number }

/** Object header messages we look at. */
const MSG_LAYOUT = 0x0008, MSG_CONTINUATION = 0x0010;
/** Bounds on what a header may make us read (real ones are a few hundred bytes, one or two blocks). */
const MAX_BLOCKS = 64, MAX_BLOCK_BYTES = 1 << 20;

function read(fd: number, position: number, length: number): Buffer | undefined {
  if (!Number.isSafeInteger(position) || position < 0 || length <= 0 || length > MAX_BLOCK_BYTES) return undefined;
  const b = Buffer.alloc(length);
  let got: number;
  try { got = readSync(fd, b, 0, length, position); } catch { return undefined; }
  return got === length ? b : undefined;
}

function u64(b: Buffer, at: number): number | undefined {
  if (at + 8 > b.length) return undefined;
  const v = b.readBigUInt64LE(at);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** The base address all addresses are relative to (the superblock's position, after a user block). */
export function baseAddress(fd: number): number | undefined {
  for (const at of [0, 512, 1024, 2048, 4096]) {
    const b = read(fd, at, 48);
    if (!b || b.readUInt32BE(0) !== 0x89484446) continue;
    const version = b[8];
    if (version === 0 || version === 1) {
      if (b[13] !== 8 || b[14] !== 8) return undefined; // offsets and lengths of 8 bytes only
      return u64(b, version === 0 ? 24 : 28);
    }
    if (version === 2 || version === 3) {
      if (b[9] !== 8 || b[10] !== 8) return undefined;
      return u64(b, 12);
    }
    return undefined;
  }
  return undefined;
}

/** The contiguous data of the dataset whose object header is at `header` (relative to `base`). */
export function contiguousData(fd: number, base: number, header: number): ContiguousData | undefined {
  const layout = findMessage(fd, base, base + header, MSG_LAYOUT);
  if (!layout) return undefined;
  const version = layout[0];
  if (version === 3 || version === 4) {
    if (layout[1] !== 1) return undefined; // 0 compact, 2 chunked, 3 virtual
    const address = u64(layout, 2), size = u64(layout, 10);
    return address === undefined || size === undefined ? undefined : { offset: base + address, size };
  }
  if (version === 1 || version === 2) {
    if (layout[2] !== 1) return undefined;
    const address = u64(layout, 8);
    return address === undefined ? undefined : { offset: base + address, size: -1 };
  }
  return undefined;
}

/** A chunked dataset's chunk index: where each chunk is, how many bytes it takes, which filters it skipped. */
export interface ChunkTable {
  /** Chunk shape in elements. */
  chunk: number[];
  /** Per chunk, in C order of the grid of chunks: file offset (absolute), stored bytes, filter mask. */
  address: Float64Array;
  size: Uint32Array;
  mask: Uint32Array;
}

/**
 * The chunks of the dataset whose object header is at `header`, when its layout message is the
 * version 1-3 chunked kind (a version 1 B-tree of chunks: what h5py writes unless asked for a
 * newer file format) and every chunk of `shape` is present exactly once; undefined otherwise (the
 * dataset is then read through h5wasm). `maxChunks` bounds what a file can make us hold.
 */
export function chunkTable(fd: number, base: number, header: number, shape: readonly number[], elementSize: number, maxChunks: number): ChunkTable | undefined {
  const layout = findMessage(fd, base, base + header, MSG_LAYOUT);
  if (!layout) return undefined;
  let dims: number, btree: number | undefined, at: number;
  const version = layout[0];
  if (version === 3) {
    if (layout[1] !== 2) return undefined;
    dims = layout[2]; btree = u64(layout, 3); at = 11;
  } else if (version === 1 || version === 2) {
    if (layout[2] !== 2) return undefined;
    dims = layout[1]; btree = u64(layout, 8); at = 16;
  } else return undefined;
  const rank = shape.length;
  if (btree === undefined || dims !== rank + 1 || layout.length < at + 4 * dims) return undefined;
  const chunk = Array.from({ length: rank }, (_, k) => layout.readUInt32LE(at + 4 * k));
  if (layout.readUInt32LE(at + 4 * rank) !== elementSize || chunk.some((c) => c < 1)) return undefined;
  const grid = shape.map((d, k) => Math.ceil(d / chunk[k]));
  const n = grid.reduce((a, b) => a * b, 1);
  if (!(n >= 1 && n <= maxChunks)) return undefined;
  const t: ChunkTable = { chunk, address: new Float64Array(n).fill(-1), size: new Uint32Array(n), mask: new Uint32Array(n) };
  const keyBytes = 8 + 8 * dims;
  const seen = new Set<number>();
  const pending = [btree];
  let found = 0;
  while (pending.length) {
    const node = pending.pop()!;
    // Each node is visited once; a tree has fewer nodes than chunks.
    if (seen.has(node) || seen.size > n) return undefined;
    seen.add(node);
    const head = read(fd, base + node, 24);
    if (!head || head.toString('latin1', 0, 4) !== 'TREE' || head[4] !== 1) return undefined;
    const level = head[5], entries = head.readUInt16LE(6);
    const body = read(fd, base + node + 24, entries * (keyBytes + 8) + keyBytes);
    if (!body) return undefined;
    for (let e = 0; e < entries; e++) {
      const key = e * (keyBytes + 8);
      const child = u64(body, key + keyBytes);
      if (child === undefined) return undefined;
      if (level > 0) { pending.push(child); continue; }
      let i = 0;
      for (let k = 0; k < rank; k++) {
        const off = u64(body, key + 8 + 8 * k);
        if (off === undefined || off % chunk[k] !== 0 || off / chunk[k] >= grid[k]) return undefined;
        i = i * grid[k] + off / chunk[k];
      }
      if (t.address[i] !== -1) return undefined;
      t.address[i] = base + child;
      t.size[i] = body.readUInt32LE(key);
      t.mask[i] = body.readUInt32LE(key + 4);
      found++;
    }
  }
  // A chunk never written holds the fill value: HDF5 knows it, we do not.
  return found === n ? t : undefined;
}

/** The body of the first message of `type` in the object header at absolute `at`. */
function findMessage(fd: number, base: number, at: number, type: number): Buffer | undefined {
  const head = read(fd, at, 32);
  if (!head) return undefined;
  const blocks: Array<{ at: number; length: number; v2: boolean; continued: boolean }> = [];
  if (head.toString('latin1', 0, 4) === 'OHDR') {
    if (head[4] !== 2) return undefined;
    const flags = head[5];
    let p = 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
    const sizeBytes = 1 << (flags & 3);
    const size = sizeBytes === 8 ? u64(head, p) : head.readUIntLE(p, sizeBytes);
    if (size === undefined) return undefined;
    p += sizeBytes;
    blocks.push({ at: at + p, length: size, v2: true, continued: false });
    return walk(fd, base, blocks, type, (flags & 0x04) !== 0);
  }
  if (head[0] !== 1) return undefined;
  // Version 1: 16-byte prefix (version, reserved, message count, reference count, header size, padding).
  blocks.push({ at: at + 16, length: head.readUInt32LE(8), v2: false, continued: false });
  return walk(fd, base, blocks, type, false);
}

function walk(fd: number, base: number, blocks: Array<{ at: number; length: number; v2: boolean; continued: boolean }>, type: number, creationOrder: boolean): Buffer | undefined {
  for (let i = 0; i < blocks.length && i < MAX_BLOCKS; i++) {
    const blk = blocks[i];
    const b = read(fd, blk.at, blk.length);
    if (!b) return undefined;
    // A v2 continuation block starts with "OCHK" and ends with a 4-byte checksum.
    let p = blk.v2 && blk.continued ? 4 : 0;
    const end = blk.v2 ? b.length - (blk.continued ? 4 : 0) : b.length;
    if (blk.v2 && blk.continued && b.toString('latin1', 0, 4) !== 'OCHK') return undefined;
    while (p + (blk.v2 ? 4 : 8) <= end) {
      let t: number, size: number;
      if (blk.v2) {
        t = b[p]; size = b.readUInt16LE(p + 1);
        p += 4 + (creationOrder ? 2 : 0);
      } else {
        t = b.readUInt16LE(p); size = b.readUInt16LE(p + 2);
        p += 8;
      }
      if (p + size > end) return undefined;
      const body = b.subarray(p, p + size);
      if (t === type) return body;
      if (t === MSG_CONTINUATION) {
        const off = u64(body, 0), len = u64(body, 8);
        if (off === undefined || len === undefined) return undefined;
        blocks.push({ at: base + off, length: len, v2: blk.v2, continued: true });
      }
      p += blk.v2 ? size : (size + 7) & ~7;
    }
  }
  return undefined;
}
