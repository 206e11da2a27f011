// PyTorch checkpoints written by torch.save (zip and legacy formats) open to the tensors a user
// knows, with values equal to what numpy computed when the fixtures were written
// (test/fixtures/gen_pytorch.py), and damaged files end in a CheckpointError naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { openCheckpoint } from '../../src/core/formats/open';
import { pytorchReader } from '../../src/core/formats/pytorch/pytorch';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { CheckpointError, UnsafePickleError } from '../../src/core/common/errors';
import { RandomAccessFile } from '../../src/core/common/fileio';
import { Checkpoint } from '../../src/core/common/types';

const DIR = join(__dirname, '..', 'fixtures', 'pytorch');
interface Expected { dtype: string; shape: number[]; first: number[]; sum: number; sumSq: number }
interface ExpectedFile { format: string; tensors: Record<string, Expected>; modelKey?: string; entries?: Record<string, string>; optimizerTensors?: number; emaTensors?: number }
const EXPECTED = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, ExpectedFile>;

function close(actual: number, expected: number, what: string): void {
  const tol = 1e-6 * Math.max(Math.abs(expected), 1e-6);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} != ${expected}`);
}

async function checkValues(ckpt: Checkpoint, exp: ExpectedFile): Promise<void> {
  assert.deepEqual(ckpt.tensors.map((t) => t.name), Object.keys(exp.tensors));
  const pool = new FilePool();
  try {
    for (const t of ckpt.tensors) {
      const e = exp.tensors[t.name];
      assert.equal(t.dtype, e.dtype, `${t.name} dtype`);
      assert.deepEqual(t.shape, e.shape, `${t.name} shape`);
      const v = await readTensor(t, pool);
      assert.equal(v.length, e.shape.reduce((a, b) => a * b, 1));
      e.first.forEach((x, i) => close(v[i], x, `${t.name}[${i}]`));
      let s = 0, s2 = 0;
      for (const x of v) { s += x; s2 += x * x; }
      close(s, e.sum, `${t.name} sum`);
      close(s2, e.sumSq, `${t.name} sum of squares`);
    }
  } finally { await pool.closeAll(); }
}

for (const [file, exp] of Object.entries(EXPECTED)) {
  test(`opens ${file} (${exp.format}) and every tensor decodes to numpy's values`, async () => {
    const path = join(DIR, file);
    const ckpt = await openCheckpoint(path);
    assert.equal(ckpt.format, exp.format);
    assert.equal(ckpt.path, path);
    assert.equal(ckpt.files.length, 1);
    assert.equal(ckpt.files[0].size, readFileSync(path).byteLength);
    assert.ok(ckpt.files[0].mtimeMs > 0);
    await checkValues(ckpt, exp);
  });
}

test('a training checkpoint exposes state_dict weights without the wrapper key and lists the rest', async () => {
  const exp = EXPECTED['checkpoint.pth'];
  const ckpt = await pytorchReader.open(join(DIR, 'checkpoint.pth'));
  assert.equal(ckpt.metadata?.modelKey, 'state_dict');
  assert.ok(ckpt.tensors.every((t) => t.name.startsWith('module.')), 'names keep the module. prefix of DataParallel');
  assert.ok(!ckpt.tensors.some((t) => t.name.startsWith('state_dict.')));
  const byName = new Map(ckpt.entries.map((e) => [e.name, e]));
  assert.deepEqual(byName.get('epoch'), { name: 'epoch', type: 'int', value: '3' });
  assert.deepEqual(byName.get('best_acc'), { name: 'best_acc', type: 'float', value: '0.875' });
  assert.deepEqual(byName.get('arch'), { name: 'arch', type: 'str', value: "'Net'" });
  assert.deepEqual(byName.get('optimizer'), { name: 'optimizer', type: 'optimizer state', value: `${exp.optimizerTensors} tensors` });
  assert.deepEqual(byName.get('args'), { name: 'args', type: 'argparse.Namespace', value: "Namespace(lr=0.1, arch='Net')" });
  assert.deepEqual(byName.get('val_loss'), { name: 'val_loss', type: 'float', value: '0.25' }, 'a numpy float32 scalar');
  assert.deepEqual(byName.get('steps'), { name: 'steps', type: 'int', value: '1200' }, 'a numpy int64 scalar');
  assert.equal(ckpt.entries.length, 7);
});

test('a model + ema checkpoint (legacy format) compares the model and lists the ema copy', async () => {
  const exp = EXPECTED['model_ema_legacy.ckpt'];
  const ckpt = await pytorchReader.open(join(DIR, 'model_ema_legacy.ckpt'));
  assert.equal(ckpt.format, 'pytorch-legacy');
  assert.equal(ckpt.metadata?.modelKey, 'model');
  assert.deepEqual(ckpt.entries, [
    { name: 'ema', type: 'state dict', value: `${exp.emaTensors} tensors` },
    { name: 'epoch', type: 'int', value: '7' },
  ]);
});

test('nested module dicts are flattened with dots', async () => {
  const ckpt = await pytorchReader.open(join(DIR, 'nested.pt'));
  assert.deepEqual(ckpt.tensors.map((t) => t.name), ['backbone.conv1.weight', 'backbone.bn1.running_var', 'head.fc.weight', 'head.fc.bias']);
  assert.equal(ckpt.metadata?.modelKey, undefined);
});

test('views of one storage point into the same bytes; non-contiguous tensors are strided', async () => {
  for (const file of ['shared_strided.pt', 'shared_strided_legacy.pt']) {
    const ckpt = await pytorchReader.open(join(DIR, file));
    const t = new Map(ckpt.tensors.map((x) => [x.name, x]));
    const loc = (n: string) => t.get(n)!.location;
    const base = loc('base'), view = loc('view_at_offset'), view2 = loc('view_2d');
    assert.ok(base.kind === 'contiguous' && view.kind === 'contiguous' && view2.kind === 'contiguous', file);
    assert.equal(view.offset - base.offset, 4 * 4, 'storage_offset 4 of a float32 storage');
    assert.equal(view2.offset - base.offset, 2 * 4);
    const wt = loc('weight_t'), w = loc('weight');
    assert.ok(wt.kind === 'strided' && w.kind === 'contiguous');
    assert.deepEqual(wt.strides, [1, 3]);
    assert.equal(wt.offset, w.offset, 'the transposed weight shares the weight storage');
    const stepped = loc('stepped');
    assert.ok(stepped.kind === 'strided');
    assert.equal(stepped.storageOffset, 1);
    assert.deepEqual(stepped.strides, [3]);
    const expanded = loc('expanded');
    assert.ok(expanded.kind === 'strided' && expanded.strides[1] === 0);
  }
});

test('a re-zipped checkpoint with deflated storages is inflated on demand, not at open', async () => {
  // Values are checked against numpy by the per-fixture test above; here, how they are reached.
  const ckpt = await pytorchReader.open(join(DIR, 'shared_strided_deflated.pt'));
  assert.ok(ckpt.tensors.every((t) => t.location.kind === 'loader'));
});

test('a big-endian checkpoint (byteorder record) decodes to the same numbers', async () => {
  const ckpt = await pytorchReader.open(join(DIR, 'big_endian.pt'));
  assert.equal(ckpt.metadata?.byteOrder, 'big');
  assert.ok(ckpt.tensors.every((t) => t.location.kind !== 'loader' && !t.location.littleEndian));
});

test('a whole pickled nn.Module is refused, naming its class and suggesting state_dict()', async () => {
  const path = join(DIR, 'whole_model.pt');
  await assert.rejects(pytorchReader.open(path), (e: unknown) => {
    assert.ok(e instanceof UnsafePickleError);
    assert.equal(e.global, '__main__.Net');
    assert.ok(e.message.startsWith(`refused to load ${path}: pickle calls __main__.Net, which is not a tensor type; nothing was executed`));
    assert.match(e.message, /model\.state_dict\(\)/);
    return true;
  });
});

test('detects PyTorch files by content: a .bin zip and a legacy file with no extension', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rl-pt-'));
  try {
    const noExt = join(tmp, 'weights');
    writeFileSync(noExt, readFileSync(join(DIR, 'conv_net_legacy.pt')));
    assert.equal((await openCheckpoint(noExt)).format, 'pytorch-legacy');
    const zipNoExt = join(tmp, 'zipped');
    writeFileSync(zipNoExt, readFileSync(join(DIR, 'conv_net.pt')));
    assert.equal((await openCheckpoint(zipNoExt)).format, 'pytorch-zip');
    assert.ok(pytorchReader.sniff(readFileSync(join(DIR, 'pytorch_model.bin')).subarray(0, 4096), 'x'));
    assert.ok(!pytorchReader.sniff(Buffer.from('{"a": 1}'), 'x.json'));
  } finally { rmSync(tmp, { recursive: true, force: true }); }
});

// ---------------------------------------------------------------- damaged files

async function failure(path: string): Promise<CheckpointError> {
  try { await pytorchReader.open(path); } catch (e) {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
    assert.ok(e.message.includes(path), `message names the file: ${e.message}`);
    return e;
  }
  assert.fail(`${path} opened`);
}

const BROKEN: [string, RegExp][] = [
  ['missing_record.pt', /refers to storage 0, but the archive has no entry .*data\/0/],
  ['huge_numel.pt', /storage 0 should hold \d+ bytes/],
  ['view_out_of_storage.pt', /tensor w reaches element 7 of storage 0, which holds 4/],
  ['huge_string.pt', /needs 4294967280 more bytes/],
  ['legacy_huge_count.pt', /claims 1152921504606846976 elements/],
  ['legacy_wrong_magic.pt', /wrong magic number/],
  ['not_torch.pt', /no data\.pkl/],
];
for (const [file, problem] of BROKEN) {
  test(`refuses broken/${file} with a clear CheckpointError`, async () => {
    const e = await failure(join(DIR, 'broken', file));
    assert.match(e.message, problem);
  });
}

test('truncated checkpoints (zip and legacy, cut at many points) end in a CheckpointError', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rl-pt-'));
  try {
    for (const file of ['conv_net.pt', 'conv_net_legacy.pt', 'checkpoint.pth', 'shared_strided_legacy.pt']) {
      const bytes = readFileSync(join(DIR, file));
      for (const frac of [0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
        const cut = Math.max(1, Math.floor(bytes.byteLength * frac));
        const path = join(tmp, `${frac}-${file}`);
        writeFileSync(path, bytes.subarray(0, cut));
        await failure(path);
      }
      const path = join(tmp, `minus1-${file}`);
      writeFileSync(path, bytes.subarray(0, bytes.byteLength - 1));
      await failure(path);
    }
  } finally { rmSync(tmp, { recursive: true, force: true }); }
});

// ---------------------------------------------------------------- a 1 GB checkpoint, opened lazily

/** A protocol-2 pickle of {'w': tensor of `numel` float32} as torch.save writes it. */
function statePickle(numel: number, legacy: boolean): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([0x58]), u32(s.length), Buffer.from(s)]);
  const glob = (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`);
  const int = (n: number) => Buffer.concat([Buffer.from([0x4a]), u32(n)]);
  return Buffer.concat([
    Buffer.from([0x80, 2, 0x7d, 0x28]), str('w'), glob('torch._utils', '_rebuild_tensor_v2'),
    Buffer.from([0x28, 0x28]), str('storage'), glob('torch', 'FloatStorage'), str('0'), str('cpu'), int(numel),
    legacy ? Buffer.from([0x4e]) : Buffer.alloc(0), Buffer.from([0x74, 0x51]),
    int(0), int(numel), Buffer.from([0x85]), int(1), Buffer.from([0x85, 0x89]), glob('collections', 'OrderedDict'),
    Buffer.from([0x29, 0x52, 0x74, 0x52, 0x75, 0x2e]),
  ]);
}
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; }

/** Writes a torch zip whose 1 GB storage is a hole in a sparse file. */
function writeSparseTorchZip(path: string, numel: number): void {
  const pkl = statePickle(numel, false);
  const entries = [
    { name: 'big/data.pkl', size: pkl.byteLength, crc: crc32(pkl), data: pkl as Buffer | undefined },
    { name: 'big/data/0', size: numel * 4, crc: 0, data: undefined },
  ];
  const fd = openSync(path, 'w');
  try {
    let pos = 0;
    const central: Buffer[] = [];
    for (const e of entries) {
      const name = Buffer.from(e.name);
      const local = Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(0), u16(0), u16(0x21), u32(e.crc), u32(e.size), u32(e.size), u16(name.length), u16(0), name]);
      central.push(Buffer.concat([u32(0x02014b50), u16(20), u16(20), u16(0), u16(0), u16(0), u16(0x21), u32(e.crc), u32(e.size), u32(e.size), u16(name.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(pos), name]));
      writeSync(fd, local, 0, local.length, pos);
      pos += local.length;
      if (e.data) writeSync(fd, e.data, 0, e.data.length, pos);
      pos += e.size; // the big entry's data is never written: a hole
    }
    const cd = Buffer.concat(central);
    const eocd = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(entries.length), u16(entries.length), u32(cd.length), u32(pos), u16(0)]);
    writeSync(fd, Buffer.concat([cd, eocd]), 0, cd.length + eocd.length, pos);
  } finally { closeSync(fd); }
}

/** The legacy layout: magic, protocol, sys_info, pickle, keys, then [count][hole]. */
function writeSparseLegacy(path: string, numel: number): void {
  const magic = Buffer.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
  const proto = Buffer.from([0x80, 2, 0x4d, 0xe9, 0x03, 0x2e]);
  const sysInfo = Buffer.from([0x80, 2, 0x7d, 0x2e]);
  const keys = Buffer.from([0x80, 2, 0x5d, 0x58, 1, 0, 0, 0, 0x30, 0x61, 0x2e]);
  const count = Buffer.alloc(8); count.writeBigInt64LE(BigInt(numel));
  const head = Buffer.concat([magic, proto, sysInfo, statePickle(numel, true), keys, count]);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, Buffer.from([0]), 0, 1, head.length + numel * 4 - 1); // extends the file; the rest is a hole
  } finally { closeSync(fd); }
}

test('opening a 1 GB checkpoint (zip and legacy) reads well under 1 MB of it', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rl-pt-big-'));
  const numel = 2 ** 28; // 1 GiB of float32
  try {
    for (const [name, write, format] of [['big.pt', writeSparseTorchZip, 'pytorch-zip'], ['big_legacy.pt', writeSparseLegacy, 'pytorch-legacy']] as const) {
      const path = join(tmp, name);
      write(path, numel);
      const before = RandomAccessFile.bytesRead;
      const ckpt = await openCheckpoint(path);
      const read = RandomAccessFile.bytesRead - before;
      assert.equal(ckpt.format, format);
      assert.ok(ckpt.files[0].size > numel * 4, 'the file really is over 1 GB');
      assert.deepEqual(ckpt.tensors.map((t) => [t.name, t.dtype, t.shape]), [['w', 'F32', [numel]]]);
      assert.equal(ckpt.tensors[0].location.kind, 'contiguous');
      assert.ok(read < 1024 * 1024, `${name}: read ${read} bytes`);
      assert.ok(read > 0);
    }
  } finally { rmSync(tmp, { recursive: true, force: true }); }
});
