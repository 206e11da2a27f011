// TF.js weights as others publish them, read from npm packages installed as devDependencies:
// @vladmandic/face-api (bare uint8-quantized weights manifests) and @vladmandic/human (graph
// models, float32 and float16). Numbers are held against numpy's reading of the same files
// (test/fixtures/gen_published_truth.py → test/fixtures/published/truth.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, listCheckpointsInFolder } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { analyzePaths, inspectPath } from '../../src/core/analysis/engine';
import { Checkpoint } from '../../src/core/common/types';

const root = join(__dirname, '..', '..');
const faceApi = join(root, 'node_modules', '@vladmandic', 'face-api', 'model');
const human = join(root, 'node_modules', '@vladmandic', 'human', 'models');
interface Entry { shape: number[]; sum: number; sumsq: number; first: number[]; storage?: string }
const truth = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'published', 'truth.json'), 'utf8')) as Record<string, Record<string, Entry>>;

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

async function assertTensors(ck: Checkpoint, expected: Record<string, Entry>): Promise<void> {
  const pool = new FilePool();
  try {
    for (const [name, e] of Object.entries(expected)) {
      const t = ck.tensors.find((x) => x.name === name);
      assert.ok(t, `${name} is listed`);
      assert.deepEqual(t.shape, e.shape, `${name} shape`);
      if (e.storage && e.storage !== 'float32') assert.equal(t.storage?.dtype, e.storage, `${name} storage`);
      const v = await readTensor(t, pool);
      let sum = 0, sumsq = 0;
      for (const x of v) { sum += x; sumsq += x * x; }
      assert.ok(close(sum, e.sum, 1e-6), `${name} sum ${sum} vs numpy ${e.sum}`);
      assert.ok(close(sumsq, e.sumsq, 1e-6), `${name} sum of squares ${sumsq} vs numpy ${e.sumsq}`);
      e.first.forEach((x, i) => assert.ok(close(v[i], x, 1e-6), `${name}[${i}] ${v[i]} vs numpy ${x}`));
    }
  } finally { await pool.closeAll(); }
}

test('face-api\'s uint8-quantized weights manifest reads as the float32 values numpy dequantizes, kernels in PyTorch layout', async () => {
  const ck = await openCheckpoint(join(faceApi, 'face_landmark_68_model-weights_manifest.json'));
  assert.equal(ck.format, 'tfjs');
  await assertTensors(ck, truth.faceapi_landmark68);
  assert.ok(ck.tensors.every((t) => t.dtype === 'F32'), 'every quantized weight is judged as float32');
  const r = await inspectPath(join(faceApi, 'face_landmark_68_model-weights_manifest.json'));
  const k = r.tensors.find((t) => t.name === 'dense0/conv0/filters')!;
  assert.equal(k.storage, 'uint8');
  assert.equal(k.bytes, 864, 'bytes are the stored uint8s');
  assert.equal(r.layers.find((l) => l.name === 'dense0/conv1')?.kind, 'conv');
  assert.equal(r.layers.find((l) => l.name === 'fc')?.kind, 'linear');
});

test('a folder of weights manifests lists one checkpoint per manifest, the shards under them', async () => {
  const list = await listCheckpointsInFolder(faceApi);
  assert.deepEqual(list.map((e) => e.name), [
    'age_gender_model-weights_manifest.json', 'face_expression_model-weights_manifest.json', 'face_landmark_68_model-weights_manifest.json',
    'face_landmark_68_tiny_model-weights_manifest.json', 'face_recognition_model-weights_manifest.json', 'ssd_mobilenetv1_model-weights_manifest.json',
    'tiny_face_detector_model-weights_manifest.json']);
});

test('comparing two quantized face-api models judges their dequantized kernels: numpy\'s relative RMSE and the verdict it implies', async () => {
  const r = await analyzePaths(join(faceApi, 'face_landmark_68_model-weights_manifest.json'), join(faceApi, 'face_expression_model-weights_manifest.json'));
  const expected = truth.faceapi_landmark68_vs_expression as unknown as Record<string, { relRmse: number; rmse: number; cosine: number }>;
  assert.ok(Object.keys(expected).length >= 16);
  for (const [name, e] of Object.entries(expected)) {
    const l = r.layers.find((x) => x.name === name);
    assert.ok(l, `${name} is in the report`);
    assert.equal(l.matchedBy, 'name');
    assert.ok(close(l.kernelRelRmse!, e.relRmse, 1e-6), `${name} relative RMSE ${l.kernelRelRmse} vs numpy ${e.relRmse}`);
    const implied = e.relRmse < 0.1 ? 'reuse' : e.relRmse < 0.6 ? 'fine-tune' : 'retrain';
    assert.equal(l.verdict, implied, `${name}: ${l.reason}`);
    assert.equal(l.params[0].storage, 'uint8');
  }
  // The landmark head (136 outputs) and the expression head (7) cannot be copied.
  assert.equal(r.layers.find((x) => x.name === 'fc')?.verdict, 'incompatible');
  assert.ok(!r.layers.some((l) => /integer counters/.test(l.reason)), 'no quantized layer is waved through as integers');
});

test('a TF.js graph model (human\'s emotion.json) gets kinds, PyTorch layouts and order from its ops', async () => {
  const ck = await openCheckpoint(join(human, 'emotion.json'));
  await assertTensors(ck, truth.human_emotion);
  const r = await inspectPath(join(human, 'emotion.json'));
  const layers = r.layers.filter((l) => l.kind !== 'other');
  assert.equal(layers[0].name, 'StatefulPartitionedCall/model_1/conv2d_1', 'the first conv of the graph comes first');
  assert.ok(layers.every((l) => l.kind === 'conv'), layers.map((l) => `${l.name} ${l.kind}`).join('\n'));
  const depthwise = r.layers.find((l) => l.tensors.some((t) => t.name === 'unknown_9'))!;
  assert.equal(depthwise.kind, 'conv');
  assert.equal(r.layers.find((l) => l.tensors.some((t) => t.name === 'unknown_44'))?.tensors.find((t) => t.name === 'unknown_44')?.role, 'bias');
});

test('a float16 TF.js graph model (human\'s faceres.json) reads the values numpy reads', async () => {
  const ck = await openCheckpoint(join(human, 'faceres.json'));
  await assertTensors(ck, truth.human_faceres_float16);
  assert.equal(ck.tensors.find((t) => t.name === 'age_pred/kernel')?.storage?.dtype, 'float16');
  assert.ok(ck.tensors.every((t) => t.dtype !== 'F16'), 'float16 quantization is judged as the float32 the model computes with');
  const r = await inspectPath(join(human, 'faceres.json'));
  const k = r.tensors.find((t) => t.name === 'age_pred/kernel')!;
  assert.deepEqual([k.dtype, k.storage, k.bytes], ['F32', 'float16', 2 * k.parameters], 'F32 with its float16 storage beside; bytes are the stored halves');
});
