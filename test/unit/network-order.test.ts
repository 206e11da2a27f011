// Network order from the best evidence (src/core/analysis/networkOrder.ts). safetensors files
// written by the reference library are stored sorted by dtype, then name
// (test/fixtures/gen_safetensors_numpy.py writes them that way): data order is not network order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePaths, inspectPath } from '../../src/core/analysis/engine';
import { openCheckpoint } from '../../src/core/formats/open';
import { compareNames } from '../../src/core/analysis/networkOrder';

const ST = join(__dirname, '..', 'fixtures', 'safetensors');
const PAIRS = join(__dirname, '..', 'fixtures', 'pairs');
const NP = join(__dirname, '..', 'fixtures', 'numpy');
const expected = JSON.parse(readFileSync(join(ST, 'order_expected.json'), 'utf8')) as { networkOrder: string[]; kernelRelRmse: Record<string, number> };

test('a safetensors file in the reference library\'s order stores num_batches_tracked first and features.12 before features.3', async () => {
  const ck = await openCheckpoint(join(ST, 'order_source.safetensors'));
  assert.match(ck.tensors[0].name, /num_batches_tracked$/);
  const names = ck.tensors.map((t) => t.name);
  assert.ok(names.indexOf('features.12.weight') < names.indexOf('features.3.weight'));
  assert.equal(ck.storedOrder, 'sorted');
});

test('a reference-ordered safetensors pair: the report lists layers in network order and names the right split point', async () => {
  const r = await analyzePaths(join(ST, 'order_source.safetensors'), join(ST, 'order_target.safetensors'));
  assert.deepEqual(r.layers.map((l) => l.name), expected.networkOrder);
  assert.equal(r.source.order, 'names');
  assert.equal(r.target.order, 'names');
  for (const [name, rel] of Object.entries(expected.kernelRelRmse)) {
    const w = r.layers.find((x) => x.name === name)!.params.find((p) => p.role === 'weight')!;
    assert.ok(Math.abs(w.relRmse! - rel) <= 1e-6 * rel, `${name}: ${w.relRmse} vs numpy ${rel}`);
  }
  assert.match(r.summary.network.reason, /features\.0 … features\.6 transfer \(3 of 6 kernel layers/);
  assert.match(r.summary.network.reason, /retrain from features\.9/);
});

test('a safetensors side without an order of its own takes the paired checkpoint\'s order', async () => {
  const r = await analyzePaths(join(NP, 'order_source.npz'), join(ST, 'order_target.safetensors'));
  assert.equal(r.source.order, 'stored');
  assert.equal(r.target.order, 'paired');
  assert.deepEqual(r.layers.map((l) => l.name), expected.networkOrder);
  assert.match(r.summary.network.reason, /retrain from features\.9/);
  // A writer that kept its input order (gen_pairs.py writes so) is evidence too.
  assert.equal((await analyzePaths(join(PAIRS, 'source.pt'), join(PAIRS, 'target.safetensors'))).target.order, 'stored');
});

test('inspect of a reference-ordered safetensors file lists layers in network order and says where the order comes from', async () => {
  const i = await inspectPath(join(ST, 'order_target.safetensors'));
  assert.equal(i.order, 'names');
  assert.deepEqual(i.layers.map((l) => l.name), expected.networkOrder);
});

test('numeric-aware hierarchical name order: features.3 before features.12, a module\'s children together, the head last', () => {
  const names = ['fc', 'layer1.10.conv', 'layer1.2.conv', 'conv1', 'layer1.2.bn', 'layer2.0.conv', 'classifier.0', 'features.12', 'features.3'];
  assert.deepEqual([...names].sort(compareNames), ['conv1', 'features.3', 'features.12', 'layer1.2.bn', 'layer1.2.conv', 'layer1.10.conv', 'layer2.0.conv', 'classifier.0', 'fc']);
});
