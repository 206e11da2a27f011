// Zip archives (PyTorch .pt, NumPy .npz, Keras .keras) built to attack the reader: names that
// climb out of the archive, duplicate names, zip bombs, sizes that lie, a directory claiming
// millions of entries. Each must end in a CheckpointError naming the file, quickly, without
// allocating what the archive claims. Names/duplicates come from Python's zipfile
// (test/fixtures/gen_hostile.py); bombs and lying sizes are built here byte by byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateRawSync, constants as zc } from 'node:zlib';
import { openCheckpoint } from '../../src/core/formats/open';
import { ZipArchive } from '../../src/core/formats/zip';
import { CheckpointError } from '../../src/core/common/errors';
import { openAndRead } from './helpers/fixtureAsserts';
import { checkRoom, spillFolder } from '../../src/core/tensor/inflateRead';

const HOSTILE = resolve(__dirname, '../fixtures/hostile/archives');

// ---------------------------------------------------------------- building zips by hand

interface RawEntry {
  name: string;
  /** The bytes stored in the archive (already deflated when method is 8). */
  data: Uint8Array;
  method: 0 | 8;
  /** What the headers claim; default: the truth for stored entries. */
  size: number;
  compressedSize?: number;
}

function u16(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; }
function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; }
function u64(v: bigint): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; }

/** A zip with local headers, data, central directory and end record; sizes as the entries claim. */
function buildZip(entries: RawEntry[], claimEntries?: number): Buffer {
  const parts: Buffer[] = [];
  const cd: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const comp = e.compressedSize ?? e.data.byteLength;
    const fields = [u16(20), u16(0), u16(e.method), u16(0), u16(0x21), u32(0), u32(comp), u32(e.size), u16(name.length), u16(0)];
    const local = Buffer.concat([u32(0x04034b50), ...fields, name]);
    cd.push(Buffer.concat([u32(0x02014b50), u16(20), ...fields, u16(0), u16(0), u16(0), u32(0), u32(off), name]));
    parts.push(local, Buffer.from(e.data));
    off += local.length + e.data.byteLength;
  }
  const dir = Buffer.concat(cd);
  const n = claimEntries ?? entries.length;
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(n), u16(n), u32(dir.length), u32(off), u16(0)]);
  return Buffer.concat([...parts, dir, end]);
}

/** A zip64 archive whose directory claims `claimed` entries (and holds one). */
function buildZip64Claiming(claimed: bigint): Buffer {
  const one = buildZip([{ name: 'w.npy', data: npy([4]), method: 0, size: npy([4]).byteLength }]);
  const body = one.subarray(0, one.length - 22);
  const cdOffset = one.readUInt32LE(one.length - 6), cdSize = one.readUInt32LE(one.length - 10);
  const z64 = Buffer.concat([u32(0x06064b50), u64(44n), u16(45), u16(45), u32(0), u32(0), u64(claimed), u64(claimed), u64(BigInt(cdSize)), u64(BigInt(cdOffset))]);
  const locator = Buffer.concat([u32(0x07064b50), u32(0), u64(BigInt(body.length)), u32(1)]);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(0xffffffff), u32(0xffffffff), u16(0)]);
  return Buffer.concat([body, z64, locator, end]);
}

/** A v1 .npy of float32 zeros with the given shape (header only when `withData` is false). */
function npy(shape: number[], withData = true): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  let header = dict + ' '.repeat(64 - ((10 + dict.length + 1) % 64)) + '\n';
  if ((10 + header.length) % 64) header = dict + ' '.repeat(128 - ((10 + dict.length + 1) % 128)) + '\n';
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), u16(header.length), Buffer.from(header, 'latin1')]);
  return withData ? Buffer.concat([head, Buffer.alloc(4 * shape.reduce((a, b) => a * b, 1))]) : head;
}

/**
 * A raw deflate stream of `prefix` followed by `mib` MiB of zeros, small on disk: one
 * byte-aligned block of 1 MiB of zeros (it refers only to its own output, so it can follow
 * anything) repeated, then an empty final block. This is how real zip bombs are made.
 */
function zeroBomb(prefix: Uint8Array, mib: number): Buffer {
  const head = deflateRawSync(prefix, { finishFlush: zc.Z_SYNC_FLUSH });
  const block = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: zc.Z_SYNC_FLUSH, level: 9 });
  return Buffer.concat([head, ...new Array(mib).fill(block), Buffer.from([0x03, 0x00])]);
}

function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-lens-zip-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}


function assertRefused(e: unknown, path: string, pattern: RegExp): void {
  assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  assert.equal(e.file, path);
  assert.match(e.message, pattern);
}

/** Runs fn and returns how much ArrayBuffer memory grew at most while it ran (sampled). */
async function peakBufferGrowth(fn: () => Promise<unknown>): Promise<number> {
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().arrayBuffers - base); }, 1);
  try { await fn(); } finally { clearInterval(timer); }
  return Math.max(peak, process.memoryUsage().arrayBuffers - base);
}

// ---------------------------------------------------------------- names

test('refuses a zip entry named with ".." that would climb out of the archive, naming the file', async () => {
  const p = join(HOSTILE, 'dotdot.npz');
  assertRefused(await openAndRead(p), p, /"\.\.\/\.\.\/outside\.npy" climbs out of the archive/);
});

test('refuses a zip entry with an absolute path, naming the file', async () => {
  const p = join(HOSTILE, 'absolute.npz');
  assertRefused(await openAndRead(p), p, /"\/etc\/weights\.npy" has an absolute path/);
});

test('refuses a zip with two entries of the same name (which one would be read is ambiguous)', async () => {
  const p = join(HOSTILE, 'duplicate.npz');
  assertRefused(await openAndRead(p), p, /two entries named w\.npy/);
});

test('the same archive with ordinary names opens (the refusals above are about the names)', async () => {
  const ck = await openCheckpoint(join(HOSTILE, 'plain.npz'));
  assert.deepEqual(ck.tensors.map((t) => t.name).sort(), ['b', 'w']);
});

test('refuses a Windows absolute path (drive letter) in a hand-made archive', () => withTemp(async (dir) => {
  const p = join(dir, 'drive.npz');
  writeFileSync(p, buildZip([{ name: 'C:/w.npy', data: npy([4]), method: 0, size: npy([4]).byteLength }]));
  assertRefused(await openAndRead(p), p, /absolute path/);
}));

// ---------------------------------------------------------------- zip bombs

test('refuses a zip bomb (3 MB inflating to 3 GB, declared honestly) by its size, before inflating anything', () => withTemp(async (dir) => {
  const stream = zeroBomb(npy([1], false), 3000);
  assert.ok(stream.byteLength < 4_000_000);
  const p = join(dir, 'bomb.npz');
  const size = npy([1], false).byteLength + 3000 * (1 << 20);
  writeFileSync(p, buildZip([{ name: 'w.npy', data: stream, method: 8, size }]));
  const zip = await ZipArchive.open(p);
  try {
    const started = Date.now();
    const grew = await peakBufferGrowth(() => assert.rejects(zip.readEntry(zip.find('w.npy')!, 1 << 30), (e) => {
      assertRefused(e, p, /is 3145728\d* bytes, over the limit/);
      return true;
    }));
    assert.ok(Date.now() - started < 1000, 'refused at once, not after inflating');
    assert.ok(grew < 64 << 20, `allocated ${grew} bytes`);
  } finally { await zip.close(); }
}));

test('a zip bomb whose entry lies that it is small (144 bytes, inflates to 3 GB) stops at the declared size', () => withTemp(async (dir) => {
  const header = npy([4], false);
  const stream = zeroBomb(header, 3000);
  const p = join(dir, 'liar.npz');
  writeFileSync(p, buildZip([{ name: 'w.npy', data: stream, method: 8, size: header.byteLength + 16 }]));
  const started = Date.now();
  let err: unknown;
  const grew = await peakBufferGrowth(async () => { err = await openAndRead(p); });
  assertRefused(err, p, /inflates past its declared size/);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.ok(grew < 64 << 20, `allocated ${grew} bytes`);
}));

test('refuses an entry declaring more bytes than deflate can make from its compressed size, without inflating', () => withTemp(async (dir) => {
  const stream = deflateRawSync(npy([4]));
  const p = join(dir, 'ratio.npz');
  writeFileSync(p, buildZip([{ name: 'w.npy', data: stream, method: 8, size: 1_500_000_000 }]));
  const zip = await ZipArchive.open(p);
  try {
    const grew = await peakBufferGrowth(() => assert.rejects(zip.readEntry(zip.find('w.npy')!, 2 ** 31 - 1), (e) => {
      assertRefused(e, p, /more than deflate can produce/);
      return true;
    }));
    assert.ok(grew < 64 << 20, `allocated ${grew} bytes`);
  } finally { await zip.close(); }
}));

// ---------------------------------------------------------------- sizes that lie

test('refuses an entry whose compressed size runs past the end of the file', () => withTemp(async (dir) => {
  const data = npy([4]);
  const p = join(dir, 'past_end.npz');
  writeFileSync(p, buildZip([{ name: 'w.npy', data, method: 0, size: data.byteLength, compressedSize: data.byteLength + 100_000 }]));
  assertRefused(await openAndRead(p), p, /past the end|overflows|truncated|compressed size/);
}));

test('refuses a deflated entry that inflates to fewer bytes than it declares', () => withTemp(async (dir) => {
  const data = npy([4]);
  const p = join(dir, 'short.npz');
  const z = buildZip([{ name: 'w.npy', data: deflateRawSync(data), method: 8, size: data.byteLength + 4000 }]);
  writeFileSync(p, z);
  const zip = await ZipArchive.open(p);
  try {
    await assert.rejects(zip.readEntry(zip.find('w.npy')!, 1 << 20), (e) => { assertRefused(e, p, /inflates to \d+ bytes but declares|damaged/); return true; });
  } finally { await zip.close(); }
}));

test('refuses a stored entry whose two declared sizes disagree', () => withTemp(async (dir) => {
  const data = npy([4]);
  const p = join(dir, 'stored.npz');
  writeFileSync(p, buildZip([{ name: 'w.npy', data, method: 0, size: data.byteLength * 1000, compressedSize: data.byteLength }]));
  assertRefused(await openAndRead(p), p, /size mismatch for stored file|stored .* declares/);
}));

test('refuses an entry whose local header offset points past the end of the file', () => withTemp(async (dir) => {
  const data = npy([4]);
  const z = buildZip([{ name: 'w.npy', data, method: 0, size: data.byteLength }]);
  const cd = z.readUInt32LE(z.length - 6);
  z.writeUInt32LE(10_000_000, cd + 42);
  const p = join(dir, 'offset.npz');
  writeFileSync(p, z);
  assertRefused(await openAndRead(p), p, /past the end|overflows|truncated|local header/);
}));

// ---------------------------------------------------------------- directories that lie

test('refuses a zip64 directory claiming 5 million entries at once, without reading them', () => withTemp(async (dir) => {
  const p = join(dir, 'millions.npz');
  writeFileSync(p, buildZip64Claiming(5_000_000n));
  const started = Date.now();
  assertRefused(await openAndRead(p), p, /claims 5000000 entries/);
  assert.ok(Date.now() - started < 1000);
}));

test('refuses a directory claiming more entries than the file has room for', () => withTemp(async (dir) => {
  const p = join(dir, 'many.npz');
  writeFileSync(p, buildZip64Claiming(900_000n));
  assertRefused(await openAndRead(p), p, /claims 900000 entries but the file has room for at most \d+/);
  const q = join(dir, 'many16.npz');
  writeFileSync(q, buildZip([{ name: 'w.npy', data: npy([4]), method: 0, size: npy([4]).byteLength }], 60_000));
  assertRefused(await openAndRead(q), q, /claims 60000 entries but the file has room/);
}));

// ---------------------------------------------------------------- .keras weights inflated to disk

test('a .keras whose deflated weights lie that they are small (4 KB, inflating to 3 GB) stops at the declared size, leaving no temp file', () => withTemp(async (dir) => {
  const p = join(dir, 'liar.keras');
  const signature = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  writeFileSync(p, buildZip([{ name: 'model.weights.h5', data: zeroBomb(signature, 3000), method: 8, size: 4096 }]));
  const started = Date.now();
  let err: unknown;
  const grew = await peakBufferGrowth(async () => { err = await openAndRead(p); });
  assertRefused(err, p, /zip entry model\.weights\.h5 inflates past its declared size of 4096 bytes/);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.ok(grew < 64 << 20, `allocated ${grew} bytes`);
  assert.deepEqual(spillFiles(), [], 'the partial temp file is removed');
}));

test('a .keras whose deflated weights declare more than deflate can make is refused before anything is written', () => withTemp(async (dir) => {
  const p = join(dir, 'ratio.keras');
  writeFileSync(p, buildZip([{ name: 'model.weights.h5', data: deflateRawSync(Buffer.alloc(64)), method: 8, size: 1_500_000_000 }]));
  assertRefused(await openAndRead(p), p, /zip entry model\.weights\.h5 declares 1500000000 bytes from \d+ compressed bytes, more than deflate can produce/);
  assert.deepEqual(spillFiles(), []);
}));

test('inflating to disk is refused, naming the archive, when the disk lacks the room', () => {
  assert.throws(() => checkRoom(tmpdir(), 1e18, '/models/big.keras', 'zip entry model.weights.h5'),
    (e: unknown) => e instanceof CheckpointError && e.file === '/models/big.keras' && /reading zip entry model\.weights\.h5 needs 1000000000000 MB of temporary disk space in .*, and only \d+ MB are free/.test(e.message));
});

/** Files in this process's spill folder (tensor/inflateRead.ts). */
function spillFiles(): string[] {
  const d = spillFolder();
  return readdirSync(d);
}
