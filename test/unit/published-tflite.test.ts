// TFLite as MediaPipe publishes it (@mediapipe/selfie_segmentation, a devDependency): float16
// weights reaching CONV_2D / DEPTHWISE_CONV_2D through DEQUANTIZE ops, held against flatc's and
// numpy's reading (test/fixtures/gen_published_tflite_truth.py → test/fixtures/published/truth.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { analyzePaths, inspectPath } from '../../src/core/analysis/engine';
import { CheckpointError } from '../../src/core/common/errors';

const root = join(__dirname, '..', '..');
const selfie = join(root, 'node_modules', '@mediapipe', 'selfie_segmentation', 'selfie_segmentation.tflite');
interface Entry { shape: number[]; sum: number; sumsq: number; first: number[] }
const truth = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'published', 'truth.json'), 'utf8')).mediapipe_selfie as
  { values: Record<string, Entry>; kernelOrder: string[] };
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

test('a TFLite model\'s kernels read as flatc and numpy read them, in PyTorch layout', async () => {
  const ck = await openCheckpoint(selfie);
  assert.equal(ck.format, 'tflite');
  // Its weights are float16 that DEQUANTIZE ops widen: read as float32, the storage beside.
  for (const name of Object.keys(truth.values)) {
    const t = ck.tensors.find((x) => x.name === name)!;
    assert.deepEqual([t.dtype, t.storage?.dtype], ['F32', 'float16'], name);
  }
  const pool = new FilePool();
  try {
    for (const [name, e] of Object.entries(truth.values)) {
      const t = ck.tensors.find((x) => x.name === name)!;
      assert.ok(t, name);
      assert.deepEqual(t.shape, e.shape, name);
      const v = await readTensor(t, pool);
      let sum = 0, sumsq = 0;
      for (const x of v) { sum += x; sumsq += x * x; }
      assert.ok(close(sum, e.sum) && close(sumsq, e.sumsq), `${name}: ${sum}, ${sumsq} vs ${e.sum}, ${e.sumsq}`);
      e.first.forEach((x, i) => assert.ok(close(v[i], x), `${name}[${i}]`));
    }
  } finally { await pool.closeAll(); }
});

test('TFLite kinds and order come from the operators (CONV_2D, DEPTHWISE_CONV_2D through DEQUANTIZE)', async () => {
  const r = await inspectPath(selfie);
  assert.equal(r.order, 'declared');
  const kernels = r.layers.filter((l) => l.kind === 'conv').map((l) => l.tensors.find((t) => t.role === 'weight')!.name);
  assert.deepEqual(kernels, truth.kernelOrder);
  assert.equal(r.layers.find((l) => l.name === 'depthwise_conv2d')?.kind, 'conv');
});

test('a TFLite model compared with itself: every layer reusable at RMSE 0', async () => {
  const r = await analyzePaths(selfie, selfie);
  assert.ok(r.layers.every((l) => l.verdict === 'reuse'));
  assert.equal(r.summary.network.verdict, 'reusable');
});

test('a truncated .tflite is a CheckpointError naming the file, not a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-tflite-'));
  try {
    const cut = join(dir, 'cut.tflite');
    writeFileSync(cut, readFileSync(selfie).subarray(0, 4096));
    await assert.rejects(openCheckpoint(cut), (e: unknown) => e instanceof CheckpointError && e.file === cut);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
