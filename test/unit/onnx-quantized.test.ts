// Quantized and half-precision ONNX weights are the float32 they stand for: QDQ (DequantizeLinear
// per tensor and per axis, a scale in a Constant node, no zero point, an int32 bias), QOperator
// (QLinearConv, QLinearMatMul) and dynamic quantization (ConvInteger/MatMulInteger with their
// scales behind Cast → Mul), float16 and bfloat16 initializers. Models from onnx.helper, truth
// from numpy's dequantization (test/fixtures/gen_onnx_quant.py → test/fixtures/onnx/quant/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/formats/open';
import { FilePool, readTensor } from '../../src/core/tensor/tensorData';
import { analyzePaths, inspectPath } from '../../src/core/analysis/engine';
import { planQuantization } from '../../src/core/formats/onnx/onnxQuant';
import { rejudgeReport, targetParameters } from '../../src/core/shared/verdicts';

const dir = join(__dirname, '..', 'fixtures', 'onnx', 'quant');
interface Entry { shape: number[]; storage: string; sum: number; sumsq: number; first: number[] }
const truth = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Record<string, Entry>> & { qdq_pair: Record<string, { relRmse: number }>; contrib_pair: Record<string, { relRmse: number }> };
const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= 1e-6 * Math.max(scale, 1e-9);

async function assertDequantized(file: string, entries: Record<string, Entry>): Promise<void> {
  const ck = await openCheckpoint(join(dir, file));
  const pool = new FilePool();
  try {
    for (const [name, e] of Object.entries(entries)) {
      const t = ck.tensors.find((x) => x.name === name);
      assert.ok(t, `${file}: ${name} is a tensor`);
      assert.equal(t.dtype, 'F32', `${name} is read as the float32 it stands for`);
      assert.equal(t.storage?.dtype, e.storage, `${name} shows its storage`);
      assert.deepEqual(t.shape, e.shape, `${name} in canonical layout`);
      const v = await readTensor(t, pool);
      let sum = 0, sumsq = 0;
      for (const x of v) { sum += x; sumsq += x * x; }
      assert.ok(close(sum, e.sum, Math.sqrt(e.sumsq)) && close(sumsq, e.sumsq, e.sumsq), `${name}: sums ${sum}, ${sumsq} vs numpy ${e.sum}, ${e.sumsq}`);
      e.first.forEach((x, i) => assert.ok(close(v[i], x, Math.abs(x)), `${name}[${i}] ${v[i]} vs numpy ${x}`));
    }
  } finally { await pool.closeAll(); }
}

test('QDQ ONNX: int8/uint8 weights and an int32 bias behind DequantizeLinear are the float32 numpy dequantizes them to', async () => {
  await assertDequantized('qdq_source.onnx', truth.qdq_source);
  await assertDequantized('qdq_target.onnx', truth.qdq_target);
});

test('QDQ ONNX: scales and zero points are no tensors of their own, and an int64 Reshape shape stays an unjudged integer', async () => {
  const ck = await openCheckpoint(join(dir, 'qdq_source.onnx'));
  assert.deepEqual(ck.tensors.map((t) => t.name), ['conv1.weight_quantized', 'conv1.bias_quantized', 'conv2.weight_quantized', 'flatten_shape',
    'fc1.weight_quantized', 'fc1.bias', 'fc2.weight_quantized', 'fc2.bias']);
  assert.equal(ck.tensors.find((t) => t.name === 'flatten_shape')?.dtype, 'I64');
  assert.deepEqual(ck.warnings, []);
});

test('QDQ ONNX: kinds and roles come from the op that takes the DequantizeLinear output, layers in graph order', async () => {
  const r = await inspectPath(join(dir, 'qdq_source.onnx'));
  const kernels = r.layers.filter((l) => l.kind === 'conv' || l.kind === 'linear');
  assert.deepEqual(kernels.map((l) => [l.name, l.kind]), [['conv1', 'conv'], ['conv2', 'conv'], ['fc1', 'linear'], ['fc2', 'linear']]);
  assert.deepEqual(Object.fromEntries(kernels[0].tensors.map((t) => [t.name, t.role])), { 'conv1.weight_quantized': 'weight', 'conv1.bias_quantized': 'bias' });
  assert.equal(r.order, 'declared');
});

test('two QDQ quantizations of a net, each with its own scales: each kernel\'s relative RMSE is numpy\'s on the dequantized values, with the verdict it implies', async () => {
  const r = await analyzePaths(join(dir, 'qdq_source.onnx'), join(dir, 'qdq_target.onnx'));
  const kernels = Object.entries(truth.qdq_pair);
  assert.ok(kernels.some(([, e]) => e.relRmse === 0) && kernels.some(([, e]) => e.relRmse > 0.6), 'the pair spans reuse and retrain');
  for (const [name, e] of kernels) {
    const l = r.layers.find((x) => x.params.some((p) => p.sourceName === name && p.role === 'weight'));
    assert.ok(l, `${name} is compared`);
    assert.equal(l.matchedBy, 'name');
    assert.ok(close(l.kernelRelRmse!, e.relRmse, e.relRmse), `${name}: relative RMSE ${l.kernelRelRmse} vs numpy ${e.relRmse}`);
    assert.equal(l.verdict, e.relRmse < 0.1 ? 'reuse' : e.relRmse < 0.6 ? 'fine-tune' : 'retrain', `${name}: ${l.reason}`);
  }
  assert.equal(r.summary.network.splitAt, 'fc1');
});

test('QOperator ONNX: QLinearConv/QLinearMatMul weights (and the int32 bias at x_scale·w_scale) and ConvInteger/MatMulInteger weights with their scales after Cast → Mul are dequantized', async () => {
  await assertDequantized('qoperator.onnx', truth.qoperator);
  const r = await inspectPath(join(dir, 'qoperator.onnx'));
  assert.deepEqual(r.layers.filter((l) => l.kind !== 'other').map((l) => [l.name, l.kind]), [['qconv', 'conv'], ['qfc', 'linear'], ['dconv', 'conv'], ['dfc', 'linear']]);
  assert.equal(r.tensors.filter((t) => t.dtype === 'F32').length, Object.keys(truth.qoperator).length, 'no scale or zero point listed');
  assert.deepEqual(r.warnings, []);
});

test('float16 and bfloat16 ONNX initializers are read as float32 with their storage shown', async () => {
  await assertDequantized('fp16.onnx', truth.fp16);
  await assertDequantized('bf16.onnx', truth.bf16);
  const r = await inspectPath(join(dir, 'fp16.onnx'));
  assert.equal(r.layers.find((l) => l.name === 'bn')?.kind, 'bn');
});

test('integer weights whose dequantization cannot be read from the file stay integers, with a warning naming the tensor and why', async () => {
  const INT8 = 3, FLOAT = 1;
  const constants = new Map([['w', { dims: [4, 2], dataType: INT8 }], ['s3', { dims: [3], dataType: FLOAT }], ['b', { dims: [8], dataType: INT8 }], ['s', { dims: [], dataType: FLOAT }]]);
  const values = async (name: string) => ({ s3: [0.1, 0.2, 0.3], s: [0.5] } as Record<string, number[]>)[name];
  const plan = await planQuantization([
    // A scale computed at run time (a node's output), three scales for four channels, a blocked quantization.
    { opType: 'DequantizeLinear', inputs: ['w', 'runtime_scale'], outputs: ['w_dq'] },
    { opType: 'DequantizeLinear', inputs: ['w', 's3'], outputs: ['w_dq2'], axis: 0 },
    { opType: 'DequantizeLinear', inputs: ['b', 's', ''], outputs: ['b_dq'], blockSize: 4, axis: 0 },
  ], constants, values);
  assert.equal(plan.weights.size, 0);
  assert.deepEqual(plan.warnings, [
    'w: int8 weights whose scale is not a constant in the file; left as integers, not judged',
    'w: 3 scales and 1 zero points do not fit its shape [4, 2] along axis 0; left as integers, not judged',
    'b: int8 weights in blocks of 4 along axis 0 whose scale has shape [], not [2] for its shape [8]; left as integers, not judged',
  ]);
  assert.equal(plan.alias.get('w_dq'), 'w', 'the layer graph still sees through the DequantizeLinear');
});

test('quantized embedding tables: an int8 table gathered as integers and dequantized after (onnxruntime\'s quantized Gather), and one dequantized before its Gather, are embedding weights', async () => {
  await assertDequantized('embedding.onnx', truth.embedding);
  const r = await inspectPath(join(dir, 'embedding.onnx'));
  assert.deepEqual(r.layers.map((l) => [l.name, l.kind, l.tensors.map((t) => t.role).join()]),
    [['word_embeddings', 'embedding', 'weight'], ['position_embeddings', 'embedding', 'weight']]);
  assert.deepEqual(r.warnings, []);
});

test('onnxruntime contrib ops (com.microsoft): QGemm (transB 0 and 1, its int32 C at alpha·a_scale·b_scale), MatMulIntegerToFloat, DynamicQuantizeMatMul and QAttention weights are the float32 numpy dequantizes them to, in [out, in]', async () => {
  await assertDequantized('contrib_source.onnx', truth.contrib_source);
  await assertDequantized('contrib_target.onnx', truth.contrib_target);
  const r = await inspectPath(join(dir, 'contrib_source.onnx'));
  assert.deepEqual(r.layers.filter((l) => l.kind !== 'other').map((l) => [l.name, l.kind, l.tensors.map((t) => t.role).join()]),
    [['gemm1', 'linear', 'weight,bias'], ['gemm2', 'linear', 'weight,bias'], ['mm', 'linear', 'weight,bias'], ['dqm', 'linear', 'weight,bias'], ['attn', 'linear', 'weight,bias']]);
  assert.equal(r.tensors.find((t) => t.name === 'seq_shape')?.dtype, 'I64', 'a Reshape shape stays an integer');
  assert.ok(!r.tensors.some((t) => /scale|zero_point/.test(t.name)), 'no scale or zero point listed');
  assert.deepEqual(r.warnings, []);
});

test('two contrib-op quantizations of a net: each kernel\'s relative RMSE is numpy\'s on the dequantized values, with the verdict it implies', async () => {
  const r = await analyzePaths(join(dir, 'contrib_source.onnx'), join(dir, 'contrib_target.onnx'));
  const kernels = Object.entries(truth.contrib_pair);
  for (const [name, e] of kernels) {
    const l = r.layers.find((x) => x.params.some((p) => p.sourceName === name && p.role === 'weight'));
    assert.ok(l, `${name} is compared`);
    assert.ok(close(l.kernelRelRmse!, e.relRmse, e.relRmse), `${name}: relative RMSE ${l.kernelRelRmse} vs numpy ${e.relRmse}`);
    assert.equal(l.verdict, e.relRmse < 0.1 ? 'reuse' : e.relRmse < 0.6 ? 'fine-tune' : 'retrain', `${name}: ${l.reason}`);
  }
  assert.deepEqual(r.layers.filter((l) => l.kind === 'linear').map((l) => l.verdict), ['reuse', 'fine-tune', 'retrain', 'reuse', 'reuse']);
});

test('contrib ops given what they cannot take (5 scales for 12 columns, an int8 zero point of a uint8 weight) leave those weights unjudged integers, with warnings naming the file and tensor', async () => {
  const hostile = join(dir, 'contrib_hostile.onnx');
  const ck = await openCheckpoint(hostile);
  const dtype = (n: string) => ck.tensors.find((t) => t.name === n)?.dtype;
  assert.deepEqual([dtype('gemm1.weight_quantized'), dtype('gemm1.bias_quantized'), dtype('mm.weight_quantized')], ['I8', 'I32', 'U8']);
  assert.equal(dtype('gemm2.weight_quantized'), 'F32', 'the other weights are still read');
  assert.deepEqual(ck.warnings, [
    'gemm1.weight_quantized: 5 scales and 12 zero points do not fit its shape [12, 16] along axis 0; left as integers, not judged',
    'gemm1.bias_quantized: 5 scales and 1 zero points do not fit its shape [12] along axis 0; left as integers, not judged',
    'mm.weight_quantized: uint8 weights whose zero point mm.weight_zero_point is int8, not uint8; left as integers, not judged',
  ]);
  const r = await analyzePaths(join(dir, 'contrib_source.onnx'), hostile);
  assert.ok(r.warnings.includes(`${hostile}: mm.weight_quantized: uint8 weights whose zero point mm.weight_zero_point is int8, not uint8; left as integers, not judged`));
  // A float weight against integers is no pair of numbers: no metric, and the layer cannot be copied as it is.
  for (const name of ['gemm1', 'mm']) {
    const l = r.layers.find((x) => x.name === name)!;
    assert.equal(l.verdict, 'incompatible', `${name}: ${l.reason}`);
    assert.equal(l.kernelRelRmse, null);
    assert.ok(l.params.every((p) => p.rmse === null || p.role !== 'weight'));
  }
  assert.match(r.layers.find((x) => x.name === 'mm')!.reason, /^weight is F32 in the source, U8 in the target \(integers whose quantization scale was not read; see the warnings\)/);
  assert.equal(r.layers.find((x) => x.name === 'gemm2')!.verdict, 'reuse', 'the layers read on both sides are judged');
});

test('the contrib-op weights read are the ones onnxruntime computes with: each op\'s output, recomputed from its inputs and the float32 weights and biases read, is onnxruntime\'s', async () => {
  const ort = await import('onnxruntime-node');
  const file = join(dir, 'contrib_ops.onnx');
  const ck = await openCheckpoint(file);
  const pool = new FilePool();
  const read = async (name: string) => {
    const t = ck.tensors.find((x) => x.name === name);
    assert.ok(t && t.dtype === 'F32', `${name} is read as float32`);
    return { v: await readTensor(t, pool), shape: t.shape };
  };
  // Integer inputs around the zero point 128 at scale 0.02; DynamicQuantizeMatMul's float input
  // spans [-1.28, 1.27] so that its own quantization (scale 0.01, zero point 128) is exact.
  const codes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) % 256);
  const dqm = Float32Array.from(codes(20, 4), (q, i) => (i === 0 ? -128 : i === 1 ? 127 : q - 128) * 0.01);
  const feeds = {
    gemm1_in: new ort.Tensor('uint8', codes(32, 1), [2, 16]), gemm2_in: new ort.Tensor('uint8', codes(24, 2), [2, 12]),
    mm_in: new ort.Tensor('uint8', codes(16, 3), [2, 8]), dqm_in: new ort.Tensor('float32', dqm, [2, 10]),
    attn_in: new ort.Tensor('uint8', codes(6, 5), [1, 1, 6]),
  };
  const session = await ort.InferenceSession.create(file);
  const got = await session.run(feeds);
  await session.release();
  try {
    // y[m][n] = alpha * sum_k x[m][k] * W[n][k] + bias[n], W as read ([out, in]), rows [from, from + count).
    const check = async (op: string, x: ArrayLike<number>, rows: number, alpha: number, from = 0) => {
      const w = await read(`${op}.weight_quantized`);
      const b = await read(ck.tensors.some((t) => t.name === `${op}.bias_quantized`) ? `${op}.bias_quantized` : `${op}.bias`);
      const [, k] = w.shape;
      const y = got[`${op}_out`].data as Float32Array;
      const n = y.length / rows;
      let worst = 0, scale = 0;
      for (let m = 0; m < rows; m++) for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let i = 0; i < k; i++) acc += x[m * k + i] * w.v[(from + j) * k + i];
        const want = alpha * acc + b.v[from + j];
        worst = Math.max(worst, Math.abs(y[m * n + j] - want)); scale = Math.max(scale, Math.abs(want));
      }
      assert.ok(scale > 0.1 && worst <= 1e-5 * scale, `${op}: onnxruntime's output is off the one from the weights read by ${worst} (largest ${scale})`);
    };
    const dq = (t: { data: unknown }) => Array.from(t.data as Uint8Array, (q) => (q - 128) * 0.02);
    await check('gemm1', dq(feeds.gemm1_in), 2, 1);
    await check('gemm2', dq(feeds.gemm2_in), 2, 0.5);
    await check('mm', dq(feeds.mm_in), 2, 1);
    await check('dqm', dqm, 2, 1);
    // One token attends to itself only: QAttention's output is the V projection, the last third of its rows.
    await check('attn', dq(feeds.attn_in), 1, 1, 12);
  } finally { await pool.closeAll(); }
});

test('QDQ scales given as a Constant node\'s value_floats (per channel) or value_float (per tensor) are read: the weights are the float32 numpy dequantizes them to', async () => {
  await assertDequantized('constant_scales.onnx', truth.constant_scales);
  const r = await inspectPath(join(dir, 'constant_scales.onnx'));
  assert.deepEqual(r.layers.map((l) => [l.name, l.kind]), [['conv', 'conv'], ['fc', 'linear']]);
  assert.deepEqual(r.warnings, []);
});

test('a value_floats scale one short of the channels leaves that kernel unjudged integers (still the conv\'s kernel), with a warning naming the tensor; against a float kernel it is incompatible', async () => {
  const hostile = join(dir, 'qdq_hostile.onnx');
  const r = await analyzePaths(join(dir, 'constant_scales.onnx'), hostile);
  assert.deepEqual(r.warnings, [`${hostile}: conv.weight_quantized: 7 scales and 8 zero points do not fit its shape [8, 3, 3, 3] along axis 0; left as integers, not judged`]);
  assert.deepEqual(r.layers.map((l) => [l.name, l.kind, l.verdict]), [['conv', 'conv', 'incompatible'], ['fc', 'linear', 'reuse']]);
  assert.match(r.layers[0].reason, /^kernel is F32 in the source, I8 in the target/);
});

test('blocked quantization (DequantizeLinear block_size, opset 21): each block of 4 along the axis has its own scale and zero point, a last shorter block included; the weights are numpy\'s and onnxruntime\'s dequantization', async () => {
  await assertDequantized('blocked.onnx', truth.blocked);
  const file = join(dir, 'blocked.onnx');
  const r = await inspectPath(file);
  assert.deepEqual(r.layers.map((l) => [l.name, l.kind]), [['conv', 'conv'], ['fc', 'linear']]);
  assert.deepEqual(r.warnings, []);
  // The graph also outputs the dequantized weights: onnxruntime's reading, element by element.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(file);
  const got = await session.run({ input: new ort.Tensor('float32', new Float32Array(6 * 64), [1, 6, 8, 8]), features: new ort.Tensor('float32', new Float32Array(12), [1, 12]) });
  await session.release();
  const ck = await openCheckpoint(file);
  const pool = new FilePool();
  try {
    const conv = await readTensor(ck.tensors.find((t) => t.name === 'conv.weight_quantized')!, pool);
    assert.deepEqual(Array.from(conv), Array.from(got.conv_weight_values.data as Float32Array), 'the conv kernel, bit for bit');
    // fc is read as [out, in]; onnxruntime gives it as stored, [in, out].
    const fc = await readTensor(ck.tensors.find((t) => t.name === 'fc.weight_quantized')!, pool);
    const stored = got.fc_weight_values.data as Float32Array;
    assert.deepEqual(Array.from(fc), Array.from({ length: 60 }, (_, i) => stored[(i % 12) * 5 + Math.floor(i / 12)]), 'the fc weight, bit for bit');
  } finally { await pool.closeAll(); }
});

test('blocked quantization whose scale is cut by floor instead of ceil, or whose zero point has another shape, stays unjudged integers with warnings naming the tensor and the shapes', async () => {
  const hostile = join(dir, 'blocked_hostile.onnx');
  const r = await analyzePaths(join(dir, 'blocked.onnx'), hostile);
  assert.deepEqual(r.warnings, [
    `${hostile}: conv.weight_quantized: int8 weights in blocks of 4 along axis 1 whose scale has shape [8, 1, 3, 3], not [8, 2, 3, 3] for its shape [8, 6, 3, 3]; left as integers, not judged`,
    `${hostile}: fc.weight_quantized: uint8 weights in blocks of 4 along axis 0 whose zero point has shape [3, 4], not [3, 5] for its shape [12, 5]; left as integers, not judged`,
  ]);
  assert.deepEqual(r.layers.map((l) => [l.name, l.verdict]), [['conv', 'incompatible'], ['fc', 'incompatible']]);
});

test('weights of onnxruntime\'s packed quantized ops (MatMulNBits and the like) stay integers, with a warning naming the tensor, the op and why, once per weight', async () => {
  const UINT8 = 2, FLOAT = 1;
  const constants = new Map([['q_proj.B', { dims: [8, 1, 16], dataType: UINT8 }], ['q_proj.scales', { dims: [8, 1], dataType: FLOAT }]]);
  const plan = await planQuantization([
    { opType: 'MatMulNBits', inputs: ['x', 'q_proj.B', 'q_proj.scales'], outputs: ['y'] },
    { opType: 'MatMulNBits', inputs: ['x2', 'q_proj.B', 'q_proj.scales'], outputs: ['y2'] },
  ], constants, async () => undefined);
  assert.equal(plan.weights.size, 0);
  assert.deepEqual(plan.warnings, ['q_proj.B: uint8 weights of MatMulNBits are not read (packed n-bit blocks); left as integers, not judged']);
});

test('a blocked quantization with more scales than Reuse Lens holds is not read (its scales are not even loaded), with a warning giving the count and the limit', async () => {
  const INT8 = 3, FLOAT = 1;
  // [4096, 4096] in blocks of 8 along axis 1: 2,097,152 scales, over the 1,048,576 held for one tensor.
  const constants = new Map([['w', { dims: [4096, 4096], dataType: INT8 }], ['s', { dims: [4096, 512], dataType: FLOAT }]]);
  let loaded = 0;
  const plan = await planQuantization([{ opType: 'DequantizeLinear', inputs: ['w', 's'], outputs: ['w_dq'], axis: 1, blockSize: 8 }], constants, async () => { loaded++; return undefined; });
  assert.equal(loaded, 0);
  assert.deepEqual(plan.warnings, ['w: int8 weights in blocks of 8 whose 2097152 scales are more than Reuse Lens holds (1048576 a tensor, 16777216 a model); left as integers, not judged']);
});

test('two models whose kernels both stay unread integers: the layer is not judged on its float bias, and its reason says the weight was not measured', async () => {
  const hostile = join(dir, 'contrib_hostile.onnx');
  const r = await analyzePaths(hostile, hostile);
  for (const name of ['gemm1', 'mm']) {
    const l = r.layers.find((x) => x.name === name)!;
    assert.equal(l.kernelRelRmse, null, name);
    assert.equal(l.reason, 'weight is integers on both sides (a quantization whose scale was not read; see the warnings): not measured, so this verdict says nothing of its values');
  }
  assert.equal(r.layers.find((x) => x.name === 'seq_shape')!.reason, 'no floating-point tensor to compare (only integer counters); nothing to retrain');
});

test('layers passed without their weight measured stay out of the network estimate and its split point, and the summary says how many', async () => {
  const hostile = join(dir, 'contrib_hostile.onnx');
  const r = await analyzePaths(hostile, hostile);
  const unread = r.layers.filter((l) => l.reason.startsWith('weight is integers on both sides'));
  assert.ok(unread.length >= 2);
  assert.equal(r.summary.notMeasured, unread.length);
  assert.match(r.summary.text, new RegExp(`; ${unread.length} not measured \\(quantized weights whose scale was not read`));
  const measured = r.layers.filter((l) => !unread.includes(l));
  assert.equal(r.summary.totalParameters, measured.reduce((n, l) => n + targetParameters(l), 0), 'their parameters are left out of the total');
  assert.match(r.summary.network.reason, new RegExp(`; ${unread.length} layers left out, their weights not measured \\(quantized, scale not read\\)$`), 'the report panel shows the network reason');
  assert.equal(r.summary.network.leading?.kernelLayersTotal, measured.filter((l) => ['conv', 'linear', 'embedding'].includes(l.kind) && l.verdict !== 'source-only' && l.verdict !== 'target-only').length);
  // The same from the stored metrics (the extension re-judges reports when thresholds change).
  const again = rejudgeReport(r, { ...r.options, reuseBelow: 0.5 });
  assert.equal(again.summary.notMeasured, unread.length);
  assert.equal(again.summary.totalParameters, r.summary.totalParameters);
});
