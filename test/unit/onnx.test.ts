// ONNX initializers from models written by torch.onnx.export and onnx.helper
// (test/fixtures/gen_keras_tfjs_onnx.py), checked value by value against numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { CheckpointError } from '../../src/core/common/errors';
import { RandomAccessFile } from '../../src/core/common/fileio';
import { Checkpoint } from '../../src/core/common/types';

const dir = join(__dirname, '..', 'fixtures', 'onnx');
interface Expected { layerOrder: string[]; tensors: { name: string; shape: number[]; dtype?: string; storage?: string; values: number[] }[] }
const expected = (f: string): Expected => JSON.parse(readFileSync(join(dir, f), 'utf8'));

async function assertValues(ck: Checkpoint, exp: Expected): Promise<void> {
  const pool = new FilePool();
  try {
    for (const e of exp.tensors) {
      const t = ck.tensors.find((x) => x.name === e.name);
      assert.ok(t, `${e.name} present`);
      assert.deepEqual(t.shape, e.shape, `${e.name} shape`);
      if (e.dtype) assert.equal(t.dtype, e.dtype);
      assert.equal(t.storage?.dtype, e.storage, `${e.name} storage`);
      const v = await readTensor(t, pool);
      assert.deepEqual([...v].map((x) => Math.fround(x)), e.values.map((x) => Math.fround(x)), e.name);
    }
  } finally { await pool.closeAll(); }
}

test('reads the initializers of a torch.onnx.export model under their state_dict names, in graph node order', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn.onnx'));
  assert.equal(ck.format, 'onnx');
  const exp = expected('cnn_expected.json');
  assert.equal(ck.tensors.length, exp.tensors.length);
  await assertValues(ck, exp);
  assert.deepEqual(ck.layerOrder, exp.layerOrder);
  assert.equal(ck.metadata?.producer_name, 'pytorch');
});

test('opening an ONNX model reads its structure, not its weights', async () => {
  const before = RandomAccessFile.bytesRead;
  const ck = await openCheckpoint(join(dir, 'cnn.onnx'));
  const read = RandomAccessFile.bytesRead - before;
  // Every raw_data lies in the file at a recorded offset, read only when asked for.
  assert.ok(ck.tensors.every((t) => t.location.kind === 'contiguous'));
  const weights = ck.tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
  assert.ok(read < 16384 + 4096 + weights, `read ${read} bytes`);
});

test('reads initializers stored as external data beside the model', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn_external.onnx'));
  await assertValues(ck, expected('cnn_expected.json'));
  assert.ok(ck.files.some((f) => f.path.endsWith('cnn_external.onnx.data')));
  const w = ck.tensors.find((t) => t.name === 'conv1.weight')!;
  assert.equal(w.location.kind === 'contiguous' && w.location.file, join(dir, 'cnn_external.onnx.data'));
});

test('reads typed fields (float_data, double_data, int64_data, float16 in int32_data, read as float32) and puts Gemm weights in [out, in]', async () => {
  const ck = await openCheckpoint(join(dir, 'typed.onnx'));
  await assertValues(ck, { ...expected('typed_expected.json'), tensors: expected('typed_expected.json').tensors.filter((t) => t.name !== 'dense.weight') });
  // dense.weight feeds Gemm(transB=1): already [out, in], kept as stored.
  const w = ck.tensors.find((t) => t.name === 'dense.weight')!;
  assert.deepEqual(w.shape, [2, 3]);
  assert.equal(w.permute, undefined);
  assert.deepEqual(ck.layerOrder, expected('typed_expected.json').layerOrder);
});

test('refuses external data that points outside the model\'s folder', async () => {
  const p = join(dir, 'escape.onnx');
  await assert.rejects(openCheckpoint(p), (e: unknown) => e instanceof CheckpointError && e.message.startsWith(p) && /refused.*\.\.\/keras\/cnn_model\.h5.*outside the model's folder/.test(e.message));
});

test('a truncated ONNX file is a CheckpointError naming the file', async () => {
  const p = join(dir, 'truncated.onnx');
  await assert.rejects(openCheckpoint(p), (e: unknown) => e instanceof CheckpointError && e.message.startsWith(p) && /truncated/.test(e.message));
});
