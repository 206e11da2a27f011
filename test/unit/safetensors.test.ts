// The safetensors reader on files written by the generator (test/fixtures/gen_safetensors_numpy.py),
// on sharded models, on bad input made here, and on a sparse 1 GB file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Checkpoint, TensorInfo } from '../../src/core/common/types';
import { RandomAccessFile } from '../../src/core/common/fileio';
import { safetensorsReader } from '../../src/core/formats/safetensors';
import { safetensorsShardedReader } from '../../src/core/formats/safetensorsSharded';
import { openCheckpoint } from '../../src/core/formats/open';
import { decodeInto, numel } from '../../src/core/tensor/dtypes';
import { loadExpected, assertMatchesExpected as matchesExpected, assertRefused } from './helpers/fixtureAsserts';
import { DTYPE_SIZE } from '../../src/core/common/types';

const FIX = resolve(__dirname, '../fixtures');
const ST = join(FIX, 'safetensors');
const EXPECTED = loadExpected(ST);
const assertMatchesExpected = (ck: Checkpoint, k: string) => matchesExpected(ck, k, EXPECTED, 7);

function tmp(): string { return mkdtempSync(join(tmpdir(), 'reuse-lens-st-')); }

/** A safetensors file from a header object and a data section. */
function writeSt(path: string, header: unknown, data: Uint8Array | number = 0): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, typeof data === 'number' ? Buffer.alloc(data) : data]));
}

test('reads a conv+BN+linear state_dict with its values, network order and __metadata__', async () => {
  const ck = await safetensorsReader.open(join(ST, 'conv_bn_linear.safetensors'));
  assert.equal(ck.format, 'safetensors');
  assert.deepEqual(ck.metadata, { format: 'pt', note: 'Reuse Lens fixture' });
  assert.equal(ck.files.length, 1);
  await assertMatchesExpected(ck, 'safetensors/conv_bn_linear.safetensors');
});

test('decodes every dtype: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL, scalars and empty tensors', async () => {
  const ck = await safetensorsReader.open(join(ST, 'all_dtypes.safetensors'));
  assert.deepEqual(new Set(ck.tensors.map((t) => t.dtype)), new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']));
  await assertMatchesExpected(ck, 'safetensors/all_dtypes.safetensors');
});

test('every dtype decodes the same from unaligned and from byte-swapped big-endian bytes', async () => {
  // The fixtures' reads land in aligned buffers; this covers decodeInto's other paths on the same values.
  const p = join(ST, 'all_dtypes.safetensors');
  const ck = await safetensorsReader.open(p);
  const file = readFileSync(p);
  for (const t of ck.tensors) {
    assert.equal(t.location.kind, 'contiguous');
    if (t.location.kind !== 'contiguous') continue;
    const n = numel(t.shape), size = DTYPE_SIZE[t.dtype];
    const raw = new Uint8Array(file.subarray(t.location.offset, t.location.offset + n * size));
    const aligned = new Float64Array(n);
    decodeInto(raw, t.dtype, true, n, aligned);
    const unaligned = new Uint8Array(n * size + 1).subarray(1);
    unaligned.set(raw);
    const fromUnaligned = new Float64Array(n);
    decodeInto(unaligned, t.dtype, true, n, fromUnaligned);
    const swapped = new Uint8Array(n * size);
    for (let i = 0; i < n; i++) for (let k = 0; k < size; k++) swapped[i * size + k] = raw[i * size + size - 1 - k];
    const fromBig = new Float64Array(n);
    decodeInto(swapped, t.dtype, false, n, fromBig);
    assert.deepEqual([...fromUnaligned], [...aligned], `${t.name} unaligned`);
    assert.deepEqual([...fromBig], [...aligned], `${t.name} big-endian`);
  }
});

test('opens a sharded model from its index as one checkpoint whose tensors point into each shard', async () => {
  const index = join(ST, 'sharded/model.safetensors.index.json');
  const ck = await safetensorsShardedReader.open(index);
  assert.equal(ck.format, 'safetensors-sharded');
  assert.deepEqual(ck.files.map((f) => f.path), [index, join(ST, 'sharded/model-00001-of-00002.safetensors'), join(ST, 'sharded/model-00002-of-00002.safetensors')]);
  const fileOf = (t: TensorInfo) => (t.location.kind === 'contiguous' ? t.location.file : '');
  assert.ok(fileOf(ck.tensors[0]).endsWith('model-00001-of-00002.safetensors'));
  assert.ok(fileOf(ck.tensors[ck.tensors.length - 1]).endsWith('model-00002-of-00002.safetensors'));
  assert.equal(ck.metadata?.total_size, String(JSON.parse(readFileSync(index, 'utf8')).metadata.total_size));
  assert.equal(ck.metadata?.format, 'pt');
  await assertMatchesExpected(ck, 'safetensors/sharded/model.safetensors.index.json');
});

test('a sharded model with a missing shard is refused, naming the shard', async () => {
  const d = tmp();
  try {
    for (const f of ['model.safetensors.index.json', 'model-00001-of-00002.safetensors']) copyFileSync(join(ST, 'sharded', f), join(d, f));
    await assertRefused(() => safetensorsShardedReader.open(join(d, 'model.safetensors.index.json')), 'model.safetensors.index.json', /shard model-00002-of-00002\.safetensors is missing/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a shard index that points outside its folder (.. or an absolute path) is refused and not followed', async () => {
  const d = tmp();
  try {
    const idx = join(d, 'm.safetensors.index.json');
    writeFileSync(idx, JSON.stringify({ weight_map: { 'a.weight': '../../etc/passwd' } }));
    await assertRefused(() => safetensorsShardedReader.open(idx), idx, /outside the index's folder; refused/);
    writeFileSync(idx, JSON.stringify({ weight_map: { 'a.weight': join(ST, 'conv_bn_linear.safetensors') } }));
    await assertRefused(() => safetensorsShardedReader.open(idx), idx, /outside the index's folder; refused/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a shard index naming a tensor its shard does not hold is refused', async () => {
  const d = tmp();
  try {
    copyFileSync(join(ST, 'conv_bn_linear.safetensors'), join(d, 's.safetensors'));
    const idx = join(d, 'm.safetensors.index.json');
    writeFileSync(idx, JSON.stringify({ weight_map: { '0.weight': 's.safetensors', 'ghost.weight': 's.safetensors' } }));
    await assertRefused(() => safetensorsShardedReader.open(idx), idx, /index puts ghost\.weight in shard s\.safetensors, which does not contain it/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('truncated files are refused at every cut point with a message naming the file', async () => {
  const src = join(ST, 'conv_bn_linear.safetensors');
  const bytes = readFileSync(src);
  const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
  const d = tmp();
  try {
    const cases: [number, RegExp][] = [
      [4, /truncated: a safetensors file starts with an 8-byte header length, but the file has 4 bytes/],
      [8, /header claims \d+ bytes but the file has 8/],
      [100, /header claims \d+ bytes but the file has 100/],
      [headerEnd, /needs bytes \d+\.\.\d+ but the file has \d+ \(truncated\?\)/],
      [headerEnd + 100, /needs bytes \d+\.\.\d+ but the file has \d+ \(truncated\?\)/],
      [bytes.length - 1, /needs bytes \d+\.\.\d+ but the file has \d+ \(truncated\?\)/],
    ];
    for (const [cut, problem] of cases) {
      const p = join(d, `cut${cut}.safetensors`);
      writeFileSync(p, bytes.subarray(0, cut));
      await assertRefused(() => safetensorsReader.open(p), p, problem);
    }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a header that claims 2^60 bytes is refused without allocating it', async () => {
  const d = tmp();
  try {
    const p = join(d, 'huge.safetensors');
    const b = Buffer.alloc(64, 0x20);
    b.writeBigUInt64LE(1n << 60n);
    b[8] = 0x7b;
    writeFileSync(p, b);
    await assertRefused(() => safetensorsReader.open(p), p, /header claims 1152921504606846976 bytes but the file has 64/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a file that is not safetensors (wrong first bytes) is refused by the safetensors reader', async () => {
  const d = tmp();
  try {
    const p = join(d, 'text.safetensors');
    writeFileSync(p, 'this is just some text, not a checkpoint\n');
    await assertRefused(() => safetensorsReader.open(p), p, /header claims \d+ bytes but the file has 41/);
    const q = join(d, 'notjson.safetensors');
    writeSt(q, {});
    const b = readFileSync(q); b[8] = 0x5b; /* '[' */ writeFileSync(q, Buffer.concat([b, Buffer.from('xx')]));
    await assertRefused(() => safetensorsReader.open(q), q, /header is not valid JSON|not a JSON object/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('lying or malformed tensor entries are refused with the tensor and the problem named', async () => {
  const d = tmp();
  try {
    const p = join(d, 'bad.safetensors');
    const cases: [unknown, number, RegExp][] = [
      [{ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8, /tensor w needs bytes \d+\.\.\d+ but the file has \d+/],
      [{ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4, /tensor w has dtype F8_E4M3, which Reuse Lens does not read/],
      [{ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16, /F32 \[2, 2\] needs 16 bytes but data_offsets span 12/],
      [{ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] } }, 16, /shape \[1099511627776, 1099511627776\] has too many elements/],
      [{ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, /shape \[-1\] is not a list of non-negative integers/],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, 8, /data_offsets \[8,4\] is not a pair/],
      [{ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16, /tensors a and b overlap/],
      [{ __metadata__: 'x' }, 0, /__metadata__ is not an object/],
    ];
    for (const [header, dataBytes, problem] of cases) {
      writeSt(p, header, dataBytes);
      await assertRefused(() => safetensorsReader.open(p), p, problem);
    }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('tensors come in data order, not the sorted order of the JSON header', async () => {
  const d = tmp();
  try {
    const p = join(d, 'order.safetensors');
    writeSt(p, { 'a.second': { dtype: 'U8', shape: [1], data_offsets: [1, 2] }, 'z.first': { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 2);
    const ck = await safetensorsReader.open(p);
    assert.deepEqual(ck.tensors.map((t) => t.name), ['z.first', 'a.second']);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('inspecting a 1 GB safetensors file reads well under 1 MB of it', async () => {
  const d = tmp();
  const p = join(d, 'big.safetensors');
  try {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    const per = 4_473_924; // 60 × 4 473 924 float32 ≈ 1.07 GB
    for (let i = 0; i < 60; i++) header[`layers.${i}.weight`] = { dtype: 'F32', shape: [per], data_offsets: [i * per * 4, (i + 1) * per * 4] };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const fd = openSync(p, 'w');
    try {
      writeSync(fd, Buffer.concat([len, json]));
      ftruncateSync(fd, 8 + json.length + 60 * per * 4);
    } finally { closeSync(fd); }
    const before = RandomAccessFile.bytesRead;
    const ck = await openCheckpoint(p);
    const read = RandomAccessFile.bytesRead - before;
    assert.equal(ck.format, 'safetensors');
    assert.equal(ck.tensors.length, 60);
    assert.ok(ck.files[0].size > 1e9);
    assert.ok(read < 64 * 1024, `read ${read} bytes`);
  } finally { rmSync(d, { recursive: true, force: true }); }
});
