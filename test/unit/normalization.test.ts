// Which kernels feed a normalization (and so are judged with its scale removed): from the
// file's graph where it has one, else from names and network order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { normFollowers } from '../../src/core/analysis/normalization';
import { groupLayers } from '../../src/core/analysis/layers';
import { analyzePaths } from '../../src/core/analysis/engine';
import type { TensorInfo } from '../../src/core/common/types';

const t = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'F32', shape, location: { kind: 'contiguous', file: 'x', offset: 0, littleEndian: true } });
const conv = (n: string, out: number, inp = 4) => [t(`${n}.weight`, [out, inp, 3, 3])];
const bn = (n: string, c: number) => [t(`${n}.weight`, [c]), t(`${n}.bias`, [c]), t(`${n}.running_mean`, [c]), t(`${n}.running_var`, [c])];
const followers = (tensors: TensorInfo[][], graph?: Record<string, string[]>) =>
  Object.fromEntries([...normFollowers(groupLayers(tensors.flat()), graph)].map(([k, v]) => [k, `${v.norm.name}:${v.evidence}`]));

test('a conv followed by its BatchNorm under the same parent feeds it; a pre-activation block\'s last conv does not feed the next block\'s norm', () => {
  assert.deepEqual(followers([conv('features.0', 8), bn('features.1', 8), conv('features.3', 16, 8), bn('features.4', 16)]),
    { 'features.0': 'features.1:order', 'features.3': 'features.4:order' });
  // Pre-activation: bn1 → conv1 → bn2 → conv2, then the next block. conv1 feeds bn2; conv2's output is added to the shortcut.
  const pre = [bn('layer1.0.bn1', 8), conv('layer1.0.conv1', 8, 8), bn('layer1.0.bn2', 8), conv('layer1.0.conv2', 8, 8), bn('layer1.1.bn1', 8), conv('layer1.1.conv1', 8, 8)];
  const f = followers(pre);
  assert.equal(f['layer1.0.conv1'], 'layer1.0.bn2:order');
  assert.equal(f['layer1.0.conv2'], undefined, 'bn2 sits right before conv2: it takes conv1\'s output');
  // A channel count that differs is not the conv's norm.
  assert.deepEqual(followers([conv('a.0', 8), bn('a.1', 16)]), {});
});

test('in a file sorted by name (bn1, bn2, conv1, conv2) the sibling named after the conv is its norm', () => {
  const sorted = [bn('layer1.0.bn1', 8), bn('layer1.0.bn2', 16), conv('layer1.0.conv1', 8), conv('layer1.0.conv2', 16, 8)];
  assert.deepEqual(followers(sorted), { 'layer1.0.conv1': 'layer1.0.bn1:name', 'layer1.0.conv2': 'layer1.0.bn2:name' });
});

test('the file\'s graph decides where it has one: a conv whose output goes elsewhere feeds no norm, whatever the order says', () => {
  const layers = [conv('c1', 8), bn('b1', 8)];
  assert.deepEqual(followers(layers, { c1: ['b1'], b1: [] }), { c1: 'b1:graph' });
  assert.deepEqual(followers(layers, { c1: [], b1: [] }), {}, 'Conv → Relu → BN: no direct edge');
  assert.deepEqual(followers(layers, { c1: ['b1', 'x'], b1: [] }), {}, 'an output that also goes elsewhere is not normalised there');
});

test('an ONNX model\'s graph is read: Conv → BatchNormalization is found, Conv → Relu is not', async () => {
  const f = join(__dirname, '..', 'fixtures', 'onnx', 'cnn.onnx');
  const r = await analyzePaths(f, f);
  const by = Object.fromEntries(r.layers.map((l) => [l.name, l.normalizedBy]));
  assert.deepEqual(by.conv1, { layer: 'bn1', kind: 'bn', evidence: 'graph' });
  assert.equal(by.conv2, undefined);
});

test('BN statistics are measured with the source framework\'s ε (Keras 1e-3, PyTorch 1e-5), and a Keras conv → BatchNormalization is found in the model config\'s graph', async () => {
  const k = join(__dirname, '..', 'fixtures', 'keras', 'cnn_model.h5');
  const r = await analyzePaths(k, k);
  const bn = r.layers.find((l) => l.kind === 'bn')!;
  assert.equal(bn.bnStats?.eps, 1e-3);
  assert.deepEqual(r.layers.find((l) => l.name === 'conv2d')?.normalizedBy, { layer: bn.name, kind: 'bn', evidence: 'graph' });
  const p = join(__dirname, '..', 'fixtures', 'verdicts', 'adabn');
  const t = await analyzePaths(join(p, 'source.pt'), join(p, 'target.pt'));
  assert.equal(t.layers.find((l) => l.kind === 'bn')?.bnStats?.eps, 1e-5);
});

test('an ONNX Conv whose output goes to its BatchNormalization and also into a residual Add is not scale-invariant; a Conv that feeds only its BN is', async () => {
  // Written by python3-onnx in the test: X → conv1 → {bn1, Add}; X → conv2 → Shape and bn2.
  const dir = await mkdtemp(join(tmpdir(), 'reuse-lens-onnx-residual-'));
  try {
    const f = join(dir, 'residual.onnx');
    execFileSync('/usr/bin/python3', ['-c', `
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(0)
inits = []
def w(name, shape): inits.append(numpy_helper.from_array(r.standard_normal(shape).astype(np.float32), name))
def bn(n):
    w(n + '.weight', [4]); w(n + '.bias', [4]); w(n + '.running_mean', [4])
    inits.append(numpy_helper.from_array(np.ones(4, np.float32), n + '.running_var'))
w('conv1.weight', [4, 4, 3, 3]); bn('bn1'); w('conv2.weight', [4, 4, 3, 3]); bn('bn2')
nodes = [
  helper.make_node('Conv', ['X', 'conv1.weight'], ['c1'], pads=[1, 1, 1, 1]),
  helper.make_node('BatchNormalization', ['c1', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var'], ['b1']),
  helper.make_node('Add', ['b1', 'c1'], ['s1']),
  helper.make_node('Conv', ['s1', 'conv2.weight'], ['c2'], pads=[1, 1, 1, 1]),
  helper.make_node('Shape', ['c2'], ['shape2']),
  helper.make_node('BatchNormalization', ['c2', 'bn2.weight', 'bn2.bias', 'bn2.running_mean', 'bn2.running_var'], ['Y']),
]
g = helper.make_graph(nodes, 'residual', [helper.make_tensor_value_info('X', TensorProto.FLOAT, [1, 4, 8, 8])],
  [helper.make_tensor_value_info('Y', TensorProto.FLOAT, [1, 4, 8, 8]), helper.make_tensor_value_info('shape2', TensorProto.INT64, [4])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
`, f]);
    const r = await analyzePaths(f, f);
    const by = Object.fromEntries(r.layers.map((l) => [l.name, l.normalizedBy]));
    assert.equal(by.conv1, undefined, 'conv1 also feeds the Add: its kernel\'s scale reaches the output');
    assert.deepEqual(by.conv2, { layer: 'bn2', kind: 'bn', evidence: 'graph' }, 'a Shape read of conv2\'s output does not count');
  } finally { await rm(dir, { recursive: true, force: true }); }
});
