// Keras checkpoints written in the exact layouts of tf.keras 2.x and Keras 3 (see
// test/fixtures/gen_keras_tfjs_onnx.py), checked value by value against numpy's transposes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { CheckpointError } from '../../src/core/common/errors';
import { Checkpoint } from '../../src/core/common/types';

const dir = join(__dirname, '..', 'fixtures', 'keras');
interface Expected { layerOrder: string[]; tensors: { name: string; shape: number[]; values: number[] }[] }
const expected = (f: string): Expected => JSON.parse(readFileSync(join(dir, f), 'utf8'));

async function assertMatches(ck: Checkpoint, exp: Expected): Promise<void> {
  assert.deepEqual(ck.tensors.map((t) => t.name), exp.tensors.map((t) => t.name));
  const pool = new FilePool();
  try {
    for (const e of exp.tensors) {
      const t = ck.tensors.find((x) => x.name === e.name)!;
      assert.deepEqual(t.shape, e.shape, `${e.name} shape`);
      const v = await readTensor(t, pool);
      assert.equal(v.length, e.values.length);
      for (let i = 0; i < v.length; i++) assert.ok(Math.abs(v[i] - e.values[i]) <= 1e-6 * Math.max(1, Math.abs(e.values[i])), `${e.name}[${i}]: ${v[i]} vs ${e.values[i]}`);
    }
  } finally { await pool.closeAll(); }
  assert.deepEqual(ck.layerOrder, exp.layerOrder);
}

test('reads a tf.keras model.save .h5: kernels in PyTorch layout with numpy\'s values, layers in the file\'s order', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn_model.h5'));
  assert.equal(ck.format, 'keras-h5');
  await assertMatches(ck, expected('cnn_expected.json'));
  // conv2d [3,3,3,4] -> [4,3,3,3]; depthwise [3,3,4,2] -> [8,1,3,3]; dense [6,5] -> [5,6]
  assert.deepEqual(ck.tensors.find((t) => t.name === 'conv2d/kernel')!.storedShape, [3, 3, 3, 4]);
  assert.deepEqual(ck.tensors.find((t) => t.name === 'depthwise_conv2d/depthwise_kernel')!.shape, [8, 1, 3, 3]);
  // Network order, not HDF5's alphabetical order (batch_normalization sorts first there).
  assert.equal(ck.tensors[0].name, 'conv2d/kernel', 'named as the file spells it (conv2d/kernel:0), without the output index');
  assert.equal(ck.metadata?.keras_version, '2.13.1');
  assert.ok(ck.entries.some((e) => e.name === 'optimizer_weights'));
});

test('reads a save_weights .h5 whose datasets are gzip-chunked', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn_weights.h5'));
  assert.equal(ck.format, 'keras-h5');
  await assertMatches(ck, expected('cnn_expected.json'));
});

test('reads a Keras 3 .weights.h5 (layers/<name>/vars/<i>), naming variables by layer class and skipping optimizer and RNG state', async () => {
  const ck = await openCheckpoint(join(dir, 'cnn.weights.h5'));
  assert.equal(ck.format, 'keras-v3');
  const exp = expected('cnn_keras3_expected.json');
  // Without config.json the order is the file's (alphabetical); names and values still match.
  assert.deepEqual([...ck.tensors.map((t) => t.name)].sort(), exp.tensors.map((t) => t.name).sort());
  await assertMatches({ ...ck, tensors: exp.tensors.map((e) => ck.tensors.find((t) => t.name === e.name)!), layerOrder: exp.layerOrder }, exp);
  assert.ok(ck.warnings.some((w) => /no model config/.test(w)));
  assert.ok(!ck.tensors.some((t) => /seed_generator|optimizer/.test(t.name)));
  assert.ok(ck.entries.some((e) => e.name === 'optimizer' && /2 variables/.test(e.value)));
});

for (const f of ['cnn.keras', 'cnn_deflated.keras']) {
  test(`reads a Keras 3 .keras zip (${f}): roles and order from config.json, depthwise kernel from its class`, async () => {
    const ck = await openCheckpoint(join(dir, f));
    assert.equal(ck.format, 'keras-v3');
    assert.equal(ck.path, join(dir, f));
    await assertMatches(ck, expected('cnn_keras3_expected.json'));
    assert.deepEqual(ck.tensors.find((t) => t.name === 'depthwise_conv2d/kernel')!.shape, [8, 1, 3, 3]);
    assert.equal(ck.metadata?.keras_version, '3.3.3');
  });
}

test('a truncated HDF5 file is a CheckpointError naming the file and saying it is truncated', async () => {
  const p = join(dir, 'truncated.h5');
  await assert.rejects(openCheckpoint(p), (e: unknown) => e instanceof CheckpointError && e.message.includes(p) && /truncated/i.test(e.message));
});

test('an HDF5 file that is not a Keras checkpoint is a CheckpointError saying so', async () => {
  const p = join(dir, 'not_keras.h5');
  await assert.rejects(openCheckpoint(p), (e: unknown) => e instanceof CheckpointError && e.message.includes(p) && /not a Keras checkpoint/.test(e.message));
});

test('puts Conv1D, Conv3D, Conv2DTranspose, depthwise and dense kernels in PyTorch\'s layout, element by element', async () => {
  const { kerasLayout } = await import('../../src/core/formats/keras');
  const { permute } = await import('../../src/core/tensor/tensorData');
  // Stored values are their own C-order index, so each canonical element names its source.
  const check = (cls: string | undefined, variable: string, stored: number[], canonical: number[], src: (c: number[]) => number[]) => {
    const l = kerasLayout(cls, variable, stored);
    assert.deepEqual(l.shape, canonical, `${cls} ${variable} shape`);
    const n = stored.reduce((a, b) => a * b, 1);
    const values = Float64Array.from({ length: n }, (_, i) => i);
    const out = l.permute ? permute(values, l.storedShape!, l.permute) : values;
    const strides = (s: number[]) => s.map((_, k) => s.slice(k + 1).reduce((a, b) => a * b, 1));
    const ss = strides(stored);
    const idx = new Array(canonical.length).fill(0);
    for (let i = 0; i < n; i++) {
      const want = src(idx).reduce((p, v, k) => p + v * ss[k], 0);
      assert.equal(out[i], want, `${cls} ${variable} at [${idx}]`);
      for (let k = canonical.length - 1; k >= 0; k--) { if (++idx[k] < canonical[k]) break; idx[k] = 0; }
    }
  };
  // Conv1D [k, in, out] -> [out, in, k]
  check('Conv1D', 'kernel', [3, 2, 4], [4, 2, 3], ([o, i, k]) => [k, i, o]);
  // Conv3D [d, h, w, in, out] -> [out, in, d, h, w]
  check('Conv3D', 'kernel', [2, 3, 2, 2, 3], [3, 2, 2, 3, 2], ([o, i, d, h, w]) => [d, h, w, i, o]);
  // Conv2DTranspose stores [h, w, out, in]; PyTorch's ConvTranspose2d weight is [in, out, h, w]
  check('Conv2DTranspose', 'kernel', [3, 2, 5, 4], [4, 5, 3, 2], ([i, o, h, w]) => [h, w, o, i]);
  // Depthwise [h, w, in, mult] -> [in*mult, 1, h, w]; output channel c*mult+m
  check('DepthwiseConv2D', 'kernel', [2, 3, 4, 2], [8, 1, 2, 3], ([oc, , h, w]) => [h, w, Math.floor(oc / 2), oc % 2]);
  // DepthwiseConv1D [k, in, mult] -> [in*mult, 1, k]
  check(undefined, 'depthwise_kernel', [3, 2, 3], [6, 1, 3], ([oc, , k]) => [k, Math.floor(oc / 3), oc % 3]);
  // Dense [in, out] -> [out, in]; embeddings stay [vocab, dim]
  check('Dense', 'kernel', [3, 5], [5, 3], ([o, i]) => [i, o]);
  check('Embedding', 'embeddings', [7, 3], [7, 3], ([v, d]) => [v, d]);
});
