// Format detection by content: a file's first bytes decide its reader, the name only breaks ties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CheckpointError } from '../../src/core/common/errors';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { openCheckpoint } from '../../src/core/formats/open';
import { detectReader } from '../../src/core/formats/index';
import { safetensorsReader } from '../../src/core/formats/safetensors';
import { safetensorsShardedReader } from '../../src/core/formats/safetensorsSharded';
import { npyReader } from '../../src/core/formats/numpy';
import { npzReader } from '../../src/core/formats/numpyNpz';

const FIX = resolve(__dirname, '../fixtures');
const ST = join(FIX, 'safetensors');
const NP = join(FIX, 'numpy');

function tmp(): string { return mkdtempSync(join(tmpdir(), 'reuse-lens-detect-')); }

async function refusal(f: () => Promise<unknown>): Promise<CheckpointError> {
  try { await f(); } catch (e) {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a refusal');
}

test('a safetensors file named .bin is read as safetensors, by its content', async () => {
  const ck = await openCheckpoint(join(ST, 'model_as.bin'));
  assert.equal(ck.format, 'safetensors');
  assert.deepEqual(ck.tensors.map((t) => t.name), ['0.bias', '0.weight']); // as the reference library stores them
  const exp = JSON.parse(readFileSync(join(ST, 'expected.json'), 'utf8'))['safetensors/model_as.bin'];
  const pool = new FilePool();
  try {
    const v = await readTensor(ck.tensors[0], pool);
    assert.ok(Math.abs(v[0] - exp[0].first[0]) <= 1e-6 * Math.abs(exp[0].first[0]));
  } finally { await pool.closeAll(); }
});

test('an .npy named .dat is read as NumPy, named after its file stem', async () => {
  const ck = await openCheckpoint(join(NP, 'weights.dat'));
  assert.equal(ck.format, 'npy');
  assert.deepEqual(ck.tensors.map((t) => [t.name, t.dtype, t.shape]), [['weights', 'F32', [2, 3]]]);
});

test('content wins over a misleading extension: an .npy named .safetensors is read as NumPy', async () => {
  const d = tmp();
  try {
    const p = join(d, 'model.safetensors');
    copyFileSync(join(NP, 'c_order.npy'), p);
    assert.equal((await openCheckpoint(p)).format, 'npy');
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('recognises .npz archives, stored and deflated, and shard indexes by name or by content', async () => {
  assert.equal((await openCheckpoint(join(NP, 'state_stored.npz'))).format, 'npz');
  assert.equal((await openCheckpoint(join(NP, 'state_deflated.npz'))).format, 'npz');
  assert.equal((await openCheckpoint(join(ST, 'sharded/model.safetensors.index.json'))).format, 'safetensors-sharded');
  const d = tmp();
  try {
    for (const f of readdirSync(join(ST, 'sharded'))) copyFileSync(join(ST, 'sharded', f), join(d, f));
    const renamed = join(d, 'weights-index.json');
    copyFileSync(join(d, 'model.safetensors.index.json'), renamed);
    const ck = await openCheckpoint(renamed);
    assert.equal(ck.format, 'safetensors-sharded');
    assert.equal(ck.tensors.length, 9); // conv weight, bias; BN weight, bias, running_mean, running_var, num_batches_tracked; linear weight, bias
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('a text file is refused with a message naming it and saying it is text', async () => {
  const d = tmp();
  try {
    const p = join(d, 'notes.bin');
    writeFileSync(p, 'epoch 3: loss 0.25\nepoch 4: loss 0.21\n');
    const e = await refusal(() => openCheckpoint(p));
    assert.equal(e.message, `${p}: is not a checkpoint format Reuse Lens reads (safetensors, PyTorch, NumPy, Keras, TF.js, ONNX, TFLite): it is a text file, though its name suggests pytorch-zip`);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

test('unknown binary content is refused with its first bytes; empty and missing files are refused by name', async () => {
  const d = tmp();
  try {
    const p = join(d, 'blob');
    writeFileSync(p, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5]));
    assert.match((await refusal(() => openCheckpoint(p))).message, /blob: is not a checkpoint format .*: it starts with bytes de ad be ef 00 01 02 03$/);
    const empty = join(d, 'empty.safetensors');
    writeFileSync(empty, '');
    assert.equal((await refusal(() => openCheckpoint(empty))).message, `${empty}: is empty`);
    const missing = join(d, 'nope.npy');
    assert.equal((await refusal(() => openCheckpoint(missing))).message, `${missing}: no such file`);
  } finally { rmSync(d, { recursive: true, force: true }); }
});

/** First bytes of other formats, so that our content checks are shown not to claim them. */
function zipHead(firstMember: string): Uint8Array {
  const name = Buffer.from(firstMember);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(name.length, 26);
  return Buffer.concat([h, name, Buffer.alloc(64)]);
}
const FOREIGN: [string, string, Uint8Array][] = [
  ['PyTorch zip', 'model.pt', zipHead('archive/data.pkl')],
  ['PyTorch zip named .npz', 'model.npz', zipHead('model/data.pkl')],
  ['Keras v3', 'model.keras', zipHead('metadata.json')],
  ['PyTorch legacy pickle', 'model.pth', Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x80, 0x02])],
  ['pickle protocol 4', 'x.ckpt', Buffer.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94])],
  ['HDF5', 'model.h5', Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0])],
  ['ONNX protobuf', 'model.onnx', Buffer.from([0x08, 0x07, 0x12, 0x07, 0x70, 0x79, 0x74, 0x6f, 0x72, 0x63, 0x68, 0x1a, 0x03, 0x31, 0x2e, 0x31])],
  ['TF.js model.json', 'model.json', Buffer.from('{"format": "layers-model", "modelTopology": {}, "weightsManifest": [{"paths": ["group1-shard1of1.bin"]}]}')],
  ['PyTorch shard index', 'pytorch_model.bin.index.json', Buffer.from('{"metadata": {"total_size": 10}, "weight_map": {"a.weight": "pytorch_model-00001-of-00002.bin"}}')],
  ['text', 'README.md', Buffer.from('# hello\nsome words here to fill the head\n')],
];

test('safetensors and NumPy content checks do not claim other formats', () => {
  const ours = [safetensorsReader, safetensorsShardedReader, npyReader, npzReader];
  for (const [what, name, head] of FOREIGN) {
    for (const r of ours) assert.equal(r.sniff(head, join('/w', name)), false, `${r.format} claims ${what}`);
  }
});

test('safetensors and NumPy content checks do not claim the other generators\' fixtures', () => {
  const ours = [safetensorsReader, safetensorsShardedReader, npyReader, npzReader];
  const mine = new Set(['safetensors', 'numpy']);
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? (dir === FIX && mine.has(f) ? [] : walk(p)) : [p];
  });
  const others = existsSync(FIX) ? walk(FIX).filter((p) => !/\.(py|md|txt)$/.test(p) && !p.endsWith('expected.json')) : [];
  for (const p of others) {
    const head = readFileSync(p).subarray(0, 4096);
    // A file named for one of our formats is ours to read, wherever it sits.
    if (/\.(safetensors|npy|npz)$|safetensors\.index\.json$/.test(p)) continue;
    for (const r of ours) assert.equal(r.sniff(head, p), false, `${r.format} claims ${p}`);
  }
});

test('each of our files is claimed by exactly its own reader', async () => {
  const cases: [string, string][] = [
    [join(ST, 'conv_bn_linear.safetensors'), 'safetensors'],
    [join(ST, 'model_as.bin'), 'safetensors'],
    [join(ST, 'sharded/model.safetensors.index.json'), 'safetensors-sharded'],
    [join(NP, 'fortran.npy'), 'npy'],
    [join(NP, 'weights.dat'), 'npy'],
    [join(NP, 'state_stored.npz'), 'npz'],
    [join(NP, 'positional.npz'), 'npz'],
  ];
  for (const [p, format] of cases) {
    const head = readFileSync(p).subarray(0, 4096);
    const claimed = [safetensorsReader, safetensorsShardedReader, npyReader, npzReader].filter((r) => r.sniff(head, p)).map((r) => r.format);
    assert.deepEqual(claimed, [format], p);
    assert.equal((await detectReader(p)).format, format, p);
  }
});

test('a safetensors file saved under an .onnx name is read as safetensors: the name alone does not decide', async () => {
  const { mkdtempSync, copyFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join: j } = await import('node:path');
  const { detectReader } = await import('../../src/core/formats/index');
  await import('../../src/core/formats/all');
  const dir = mkdtempSync(j(tmpdir(), 'rl-name-'));
  try {
    const f = j(dir, 'model.onnx');
    copyFileSync(j(__dirname, '..', 'fixtures', 'safetensors', 'conv_bn_linear.safetensors'), f);
    assert.equal((await detectReader(f)).format, 'safetensors');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
