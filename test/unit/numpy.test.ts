// The NumPy .npy and .npz readers on files written by numpy (test/fixtures/gen_safetensors_numpy.py)
// and on bad input made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { crc32, deflateRawSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Checkpoint } from '../../src/core/common/types';
import { CheckpointError } from '../../src/core/common/errors';
import { RandomAccessFile } from '../../src/core/common/fileio';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { npyReader } from '../../src/core/formats/numpy';
import { npzReader } from '../../src/core/formats/numpyNpz';
import { loadExpected, assertMatchesExpected as matchesExpected, assertRefused } from './helpers/fixtureAsserts';
import { parsePyLiteral } from '../../src/core/formats/numpyHeader';

const FIX = resolve(__dirname, '../fixtures');
const NP = join(FIX, 'numpy');
const EXPECTED = loadExpected(NP);
const assertMatchesExpected = (ck: Checkpoint, k: string) => matchesExpected(ck, k, EXPECTED, 5);

function tmp(): string { return mkdtempSync(join(tmpdir(), 'reuse-lens-np-')); }

/** An .npy v1.0 with the given header text and data bytes. */
function npy(header: string, data: Uint8Array | number = 0, version = 1): Buffer {
  const h = Buffer.from(header, 'latin1');
  const pre = Buffer.alloc(version === 1 ? 10 : 12);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(pre);
  if (version === 1) pre.writeUInt16LE(h.length, 8); else pre.writeUInt32LE(h.length, 8);
  return Buffer.concat([pre, h, typeof data === 'number' ? Buffer.alloc(data) : data]);
}

/** A zip written here, so that sizes can be large or lie: members stored (0) or deflated (8). */
function zip(members: { name: string; data: Buffer; method: 0 | 8; declaredSize?: number }[]): Buffer {
  const locals: Buffer[] = [], centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const body = m.method === 8 ? deflateRawSync(m.data, { level: 1 }) : m.data;
    const size = m.declaredSize ?? m.data.length;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(m.method, 8); lh.writeUInt16LE(0x21, 12);
    lh.writeUInt32LE(crc32(m.data), 14); lh.writeUInt32LE(body.length, 18); lh.writeUInt32LE(size, 22); lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(m.method, 10); ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(crc32(m.data), 16); ch.writeUInt32LE(body.length, 20); ch.writeUInt32LE(size, 24); ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    centrals.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(members.length, 8); end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A C-order float32 .npy of `n` pseudo-random values (incompressible, so the zip stays big). */
function f32npy(n: number): { bytes: Buffer; values: Float32Array } {
  const values = new Float32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; values[i] = (x / 2 ** 32) - 0.5; }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n},), }`;
  header += ' '.repeat(127 - 10 - header.length) + '\n';
  return { bytes: npy(header, new Uint8Array(values.buffer)), values };
}

const NPY_FILES = ['c_order', 'fortran', 'big_endian', 'big_endian_i4', 'mask', 'half', 'bytes', 'version2'];

test('reads .npy arrays written by numpy: C order, Fortran order, big-endian, bool, float16, uint8, version 2.0', async () => {
  for (const name of NPY_FILES) {
    const ck = await npyReader.open(join(NP, `${name}.npy`));
    assert.equal(ck.format, 'npy');
    await assertMatchesExpected(ck, `numpy/${name}.npy`);
  }
});

test('a Fortran-order array is read through column-major strides and a big-endian one as big-endian', async () => {
  const f = (await npyReader.open(join(NP, 'fortran.npy'))).tensors[0];
  assert.equal(f.location.kind, 'strided');
  if (f.location.kind === 'strided') assert.deepEqual(f.location.strides, [1, 3]);
  const b = (await npyReader.open(join(NP, 'big_endian.npy'))).tensors[0];
  assert.equal(b.location.kind === 'contiguous' && b.location.littleEndian, false);
});

test('reads a stored .npz (np.savez) in place, keys with a slash named as numpy spells them', async () => {
  const ck = await npzReader.open(join(NP, 'state_stored.npz'));
  assert.equal(ck.format, 'npz');
  assert.ok(ck.tensors.every((t) => t.location.kind !== 'loader'), 'stored members need no inflating');
  assert.ok(ck.tensors.some((t) => t.name === 'head/weight'));
  await assertMatchesExpected(ck, 'numpy/state_stored.npz');
});

test('reads a deflated .npz (np.savez_compressed), inflating only headers when opening', async () => {
  const before = RandomAccessFile.bytesRead;
  const ck = await npzReader.open(join(NP, 'state_deflated.npz'));
  const opened = RandomAccessFile.bytesRead - before;
  assert.ok(ck.tensors.every((t) => t.location.kind === 'deflated'));
  assert.ok(opened < readFileSync(join(NP, 'state_deflated.npz')).length * 4, `opening read ${opened} bytes`);
  await assertMatchesExpected(ck, 'numpy/state_deflated.npz');
});

test('opening a 16 MB deflated .npz reads its directory and headers, not its data', async () => {
  const d = tmp();
  try {
    const { bytes, values } = f32npy(4 << 20);
    const p = join(d, 'big.npz');
    writeFileSync(p, zip([{ name: 'layer/weight.npy', data: bytes, method: 8 }, { name: 'layer/bias.npy', data: f32npy(3).bytes, method: 0 }]));
    const before = RandomAccessFile.bytesRead;
    const ck = await npzReader.open(p);
    const read = RandomAccessFile.bytesRead - before;
    assert.ok(read < 200 * 1024, `opening read ${read} bytes`);
    assert.deepEqual(ck.tensors.map((t) => [t.name, t.shape, t.location.kind]), [['layer/weight', [4 << 20], 'deflated'], ['layer/bias', [3], 'contiguous']]);
    const pool = new FilePool();
    try {
      const v = await readTensor(ck.tensors[0], pool);
      assert.equal(v.length, values.length);
      for (const i of [0, 1, 12345, values.length - 1]) assert.equal(v[i], values[i]);
    } finally { await pool.closeAll(); }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a deflated member that inflates past its declared size (a zip bomb) is refused when read', async () => {
  const d = tmp();
  try {
    // The header says 16 floats; the member inflates to 8 MB of zeros but declares 192 bytes.
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (16,), }";
    header += ' '.repeat(127 - 10 - header.length) + '\n';
    const bomb = npy(header, 8 << 20);
    const p = join(d, 'bomb.npz');
    writeFileSync(p, zip([{ name: 'w.npy', data: bomb, method: 8, declaredSize: 128 + 64 }]));
    const ck = await npzReader.open(p);
    const pool = new FilePool();
    try {
      await assertRefused(() => readTensor(ck.tensors[0], pool), p, /zip entry w\.npy (inflates past its declared size|is damaged \(too many bytes)/);
    } finally { await pool.closeAll(); }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('names positional arrays of np.savez arr_0, arr_1', async () => {
  await assertMatchesExpected(await npzReader.open(join(NP, 'positional.npz')), 'numpy/positional.npz');
});

test('an object array (a pickle inside an .npy) is refused and nothing is executed', async () => {
  const p = join(NP, 'bad_object.npy');
  await assertRefused(() => npyReader.open(p), p, /object array \(\|O\), which is a pickle; refused, nothing was executed/);
});

test('the header is parsed as a literal, never evaluated', async () => {
  assert.throws(() => parsePyLiteral("{'descr': __import__('os').system('touch /tmp/x'), }"), /not a dict literal/);
  const d = tmp();
  try {
    const p = join(d, 'evil.npy');
    writeFileSync(p, npy("{'descr': __import__('os').system('echo pwned'), 'fortran_order': False, 'shape': (1,), }\n"));
    await assertRefused(() => npyReader.open(p), p, /header is not a dict literal \(unexpected "_"/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('truncated .npy files are refused at every cut point with a message naming the file', async () => {
  const bytes = readFileSync(join(NP, 'c_order.npy'));
  const d = tmp();
  try {
    const cases: [number, RegExp][] = [
      [3, /not a NumPy \.npy array/],
      [8, /truncated: \.npy is 8 bytes, shorter than its preamble/],
      [40, /truncated: \.npy header claims \d+ bytes but only 30 follow/],
      [128, /truncated: <f4 \(4, 3, 2\) needs 96 bytes of data but only 0 follow the header/],
      [bytes.length - 1, /needs 96 bytes of data but only 95 follow/],
    ];
    for (const [cut, problem] of cases) {
      const p = join(d, `cut${cut}.npy`);
      writeFileSync(p, bytes.subarray(0, cut));
      await assertRefused(() => npyReader.open(p), p, problem);
    }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('wrong magic, unknown versions, huge header lengths and unsupported dtypes are refused by name', async () => {
  const d = tmp();
  try {
    const p = join(d, 'bad.npy');
    const good = readFileSync(join(NP, 'c_order.npy'));
    const cases: [Buffer, RegExp][] = [
      [Buffer.concat([Buffer.from('XNUMPY'), good.subarray(6)]), /magic \\x93NUMPY missing/],
      [(() => { const b = Buffer.from(good); b[6] = 9; return b; })(), /version 9\.0 is not supported/],
      [(() => { const b = npy('', 0, 2); b.writeUInt32LE(0xfffffff0, 8); return b; })(), /header claims 4294967280 bytes, more than the limit/],
      [npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16), /dtype <c8 is not supported/],
      [npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8), /structured array/],
      [npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), /too many elements/],
      [npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 8), /needs 24 bytes of data but only 8 follow/],
    ];
    for (const [bytes, problem] of cases) {
      writeFileSync(p, bytes);
      await assertRefused(() => npyReader.open(p), p, problem);
    }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a truncated .npz is refused naming the file', async () => {
  const d = tmp();
  try {
    for (const f of ['state_stored.npz', 'state_deflated.npz']) {
      const bytes = readFileSync(join(NP, f));
      for (const cut of [10, 200, bytes.length - 30]) {
        const p = join(d, `cut${cut}-${f}`);
        writeFileSync(p, bytes.subarray(0, cut));
        await assertRefused(() => npzReader.open(p), p, /not a readable zip archive|truncated|damaged/);
      }
    }
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a deflated .npz member that is damaged or inflates past its declared size is refused when read, naming the member', async () => {
  const d = tmp();
  try {
    const src = readFileSync(join(NP, 'state_deflated.npz'));
    // Corrupt the middle of the first member's compressed data, keeping the zip directory intact.
    const b = Buffer.from(src);
    const nameLen = b.readUInt16LE(26), extraLen = b.readUInt16LE(28), compressed = b.readUInt32LE(18);
    const start = 30 + nameLen + extraLen;
    const size = compressed === 0xffffffff ? 200 : compressed;
    for (let i = start + Math.floor(size / 2); i < start + size - 4; i++) b[i] = 0xff;
    const p = join(d, 'damaged.npz');
    writeFileSync(p, b);
    let err: unknown;
    try {
      const ck = await npzReader.open(p);
      const pool = new FilePool();
      try { await readTensor(ck.tensors[0], pool); } finally { await pool.closeAll(); }
    } catch (e) { err = e; }
    assert.ok(err instanceof CheckpointError, String(err));
    assert.ok(err.message.includes(p), err.message);
    assert.match(err.message, /zip entry 0\.weight\.npy (is damaged|inflates past its declared size)/);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('fixtures folder holds what the generator promised', () => {
  const files = readdirSync(NP);
  for (const n of NPY_FILES) assert.ok(files.includes(`${n}.npy`), n);
});
