// TF.js layers models in the published format (model.json + binary shards), written by
// test/fixtures/gen_keras_tfjs_onnx.py, checked value by value against numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { CheckpointError } from '../../src/core/common/errors';
import { Checkpoint } from '../../src/core/common/types';

const dir = join(__dirname, '..', 'fixtures', 'tfjs');
interface Expected { layerOrder: string[]; tensors: { name: string; shape: number[]; values: number[] }[] }
const expected = (f: string): Expected => JSON.parse(readFileSync(join(dir, f), 'utf8'));

async function assertMatches(ck: Checkpoint, exp: Expected, tol: number): Promise<void> {
  assert.deepEqual(ck.tensors.map((t) => t.name), exp.tensors.map((t) => t.name));
  assert.deepEqual(ck.layerOrder, exp.layerOrder);
  const pool = new FilePool();
  try {
    for (const [i, e] of exp.tensors.entries()) {
      const t = ck.tensors[i];
      assert.deepEqual(t.shape, e.shape, `${e.name} shape`);
      const v = await readTensor(t, pool);
      assert.equal(v.length, e.values.length);
      for (let k = 0; k < v.length; k++) assert.ok(Math.abs(v[k] - e.values[k]) <= tol * Math.max(1, Math.abs(e.values[k])), `${e.name}[${k}]: ${v[k]} vs ${e.values[k]}`);
    }
  } finally { await pool.closeAll(); }
}

test('reads a TF.js model.json with two shards, a weight spanning both, kernels in PyTorch layout', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn', 'model.json'));
  assert.equal(ck.format, 'tfjs');
  await assertMatches(ck, expected('cnn_expected.json'), 1e-7);
  // conv2d/kernel straddles the shard boundary: it is read from both shards with positioned reads, streamed.
  assert.equal(ck.tensors[0].location.kind, 'segmented');
  assert.deepEqual(ck.tensors[0].shape, [4, 3, 3, 3]);
  assert.equal(ck.files.length, 3);
});

test('uint8/uint16/float16-quantized weights are the float32 values numpy dequantizes, with the storage shown beside', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn_quant', 'model.json'));
  await assertMatches(ck, expected('cnn_quant_expected.json'), 1e-6);
  const k = ck.tensors.find((t) => t.name === 'conv2d/kernel')!;
  assert.equal(k.dtype, 'F32');
  assert.deepEqual([k.storage?.dtype, k.storage?.bytesPerElement], ['uint8', 1]);
  const bias = ck.tensors.find((t) => t.name === 'conv2d/bias')!.storage;
  assert.deepEqual([bias?.dtype, bias?.bytesPerElement], ['uint16', 2]);
  // The location is where the stored integers lie: they are dequantized as they are read, never whole.
  assert.equal(k.location.kind, 'contiguous');
  const gamma = ck.tensors.find((t) => t.name === 'batch_normalization/gamma')!;
  assert.equal(gamma.dtype, 'F32', 'float16 quantization is read as the float32 the model computes with');
  assert.equal(gamma.storage?.dtype, 'float16');
});

test('a missing shard is a CheckpointError naming the shard', async () => {
  await assert.rejects(openCheckpoint(join(dir, 'missing_shard', 'model.json')),
    (e: unknown) => e instanceof CheckpointError && e.message.includes('group1-shard2of2.bin') && /no such file/.test(e.message));
});

test('a short shard is a CheckpointError naming the shard and the bytes missing', async () => {
  await assert.rejects(openCheckpoint(join(dir, 'short_shard', 'model.json')),
    (e: unknown) => e instanceof CheckpointError && e.file.endsWith('group1-shard2of2.bin') && /short/.test(e.message));
});

test('refuses shard paths that leave the model\'s folder', async () => {
  await assert.rejects(openCheckpoint(join(dir, 'escape', 'model.json')),
    (e: unknown) => e instanceof CheckpointError && /refused shard path \.\.\/cnn/.test(e.message));
});
