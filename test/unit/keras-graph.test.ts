// Which Keras / TF.js kernels feed a normalization, read from the model config's graph
// (src/core/formats/kerasGraph.ts) rather than guessed from names and order, through the shipped
// CLI on files written by test/fixtures/gen_keras_graph.py: every conv of the target is its source
// scaled per output filter. Where the graph shows the BN takes the conv's output (directly, or
// through Dropout and ZeroPadding) that is the same function: reuse, judged scale-invariantly.
// Where the conv's output goes elsewhere, or through a ReLU first, it is not, although the BN is
// the next layer in order: judged on the raw change.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/core/shared/reportTypes';
import { openCheckpoint } from '../../src/core/formats/open';
import { groupLayers } from '../../src/core/analysis/layers';
import { normFollowers } from '../../src/core/analysis/normalization';
import { kerasLayerGraph } from '../../src/core/formats/kerasGraph';
import { kerasConfigForTfjs } from '../../src/core/experiments/kerasConfig';
import type { Checkpoint } from '../../src/core/common/types';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const DIR = join(ROOT, 'test', 'fixtures', 'keras-graph');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));

before(() => {
  if (!existsSync(CLI)) {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
});

function compare(source: string, target: string): Report {
  const r = spawnSync(process.execPath, [CLI, 'compare', join(DIR, source), join(DIR, target), '--json'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

/** What names and order alone would say (no graph): the guess the graph overrules. */
async function guessedByOrder(file: string): Promise<Record<string, string>> {
  const ck = await openCheckpoint(join(DIR, file));
  return Object.fromEntries([...normFollowers(groupLayers(ck.tensors, ck.layerOrder))].map(([k, v]) => [k, v.norm.name]));
}

function checkGraphDecides(r: Report, want: { normalised: Record<string, string>; not_normalised: Record<string, string> }): void {
  const layer = (n: string) => { const l = r.layers.find((x) => x.name === n); assert.ok(l, `layer ${n}`); return l; };
  for (const [conv, norm] of Object.entries(want.normalised)) {
    const l = layer(conv);
    assert.deepEqual(l.normalizedBy, { layer: norm, kind: 'bn', evidence: 'graph' }, conv);
    assert.equal(l.judgedOn, 'scale-invariant', conv);
    assert.equal(l.verdict, 'reuse', `${conv}: ${l.reason}`);
    assert.ok(l.params.find((p) => p.role === 'weight')!.relRmse! > 0.6, `${conv}: the raw change is large`);
  }
  for (const conv of Object.keys(want.not_normalised)) {
    const l = layer(conv);
    assert.equal(l.normalizedBy, undefined, `${conv} feeds no BN in the graph`);
    assert.notEqual(l.judgedOn, 'scale-invariant', conv);
    assert.equal(l.verdict, 'retrain', `${conv}: ${l.reason}`);
  }
}

test('a Keras 2 functional model (.h5 model_config inbound_nodes): the conv the BN takes is judged scale-invariantly, the conv listed before the BN is not', async () => {
  // Order alone pairs conv_a (listed right before the BN) and conv_c (a ReLU between) with a BN.
  const guess = await guessedByOrder('source.h5');
  for (const [conv, norm] of Object.entries(expected.functional.not_normalised)) assert.equal(guess[conv], norm, `order would guess ${conv} → ${norm}`);
  checkGraphDecides(compare('source.h5', 'target.h5'), expected.functional);
});

test('a Keras 3 .keras (config.json keras_history args) gives the same graph: through Dropout and ZeroPadding a BN still normalises, through a ReLU not', () => {
  checkGraphDecides(compare('source.keras', 'target.keras'), expected.functional);
});

test('a TF.js layers model (modelTopology inbound_nodes) gives the same graph', () => {
  checkGraphDecides(compare(join('tfjs_source', 'model.json'), join('tfjs_target', 'model.json')), expected.functional);
});

test('a TF.js Sequential model: Conv2D → Activation(relu) → BatchNormalization is not normalised, Conv2D → BatchNormalization is', async () => {
  const guess = await guessedByOrder(join('sequential_source', 'model.json'));
  for (const [conv, norm] of Object.entries(expected.sequential.not_normalised)) assert.equal(guess[conv], norm, `order would guess ${conv} → ${norm}`);
  checkGraphDecides(compare(join('sequential_source', 'model.json'), join('sequential_target', 'model.json')), expected.sequential);
});

test('where the config cannot tell (a nested model\'s boundary, a functional model without inbound_nodes), the layer is left to names and order', () => {
  const inner = { class_name: 'Sequential', config: { name: 'block', layers: [
    { class_name: 'Conv2D', config: { name: 'c1' } }, { class_name: 'BatchNormalization', config: { name: 'b1' } }, { class_name: 'Conv2D', config: { name: 'c2' } }] } };
  const outer = { class_name: 'Functional', config: { name: 'm', output_layers: [['bn', 0, 0]], layers: [
    { class_name: 'InputLayer', config: { name: 'in' }, inbound_nodes: [] },
    { class_name: 'Conv2D', config: { name: 'stem' }, inbound_nodes: [[['in', 0, 0, {}]]] },
    { ...inner, inbound_nodes: [[['stem', 0, 0, {}]]] },
    { class_name: 'BatchNormalization', config: { name: 'bn' }, inbound_nodes: [[['block', 0, 0, {}]]] }] } };
  const g = kerasLayerGraph(outer)!;
  assert.deepEqual(g['block.c1'], ['block.b1'], 'inside the nested Sequential the order is the graph');
  assert.equal(g['block.c2'], undefined, 'its last conv leaves the nested model: unknown here');
  assert.equal(g.stem, undefined, 'goes into a nested model: unknown here');
  assert.deepEqual(g.bn, ['(model output)']);
  const noInbound = { class_name: 'Functional', config: { layers: [{ class_name: 'Conv2D', config: { name: 'c' } }, { class_name: 'BatchNormalization', config: { name: 'b' } }], output_layers: [['b', 0, 0]] } };
  assert.deepEqual(Object.keys(kerasLayerGraph(noInbound)!), []);
});

test('a tensor passed by keyword (a Keras 3 call\'s kwargs) is read by the layer, so it is an edge of the graph, but it is no positional input of the TF.js model built from the config', () => {
  const t = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 8, 8, 4], dtype: 'float32', keras_history: [layer, 0, 0] } });
  const layer = (cls: string, name: string, args: unknown[], kwargs: Record<string, unknown> = {}) =>
    ({ module: 'keras.layers', class_name: cls, config: { name }, registered_name: null, inbound_nodes: [{ args, kwargs }] });
  const model = { module: 'keras', class_name: 'Functional', registered_name: 'Functional', config: { name: 'm', output_layers: ['d', 0, 0], input_layers: ['in', 0, 0], layers: [
    { module: 'keras.layers', class_name: 'InputLayer', config: { name: 'in', batch_shape: [null, 8, 8, 3] }, registered_name: null, inbound_nodes: [] },
    layer('Conv2D', 'c', [t('in')]),
    layer('BatchNormalization', 'b', [t('c')], { training: false }),
    // The conv's output also goes in by keyword (as an attention layer's `value`, a `mask`, ...).
    layer('Dense', 'd', [t('b')], { mask: t('c') })] } };
  const g = kerasLayerGraph(model)!;
  assert.deepEqual(g.c, ['b', 'd'], 'the layer that takes the conv by keyword sees its scale: not normalised');
  const topology = (kerasConfigForTfjs({ path: 'm.keras', architecture: model } as unknown as Checkpoint) as { modelTopology: { config: { layers: { config: { name: string }; inbound_nodes: unknown }[] } } }).modelTopology;
  const inbound = Object.fromEntries(topology.config.layers.map((l) => [l.config.name, l.inbound_nodes]));
  assert.deepEqual(inbound.d, [[['b', 0, 0, {}]]], 'TF.js calls the Dense on its positional input only');
  assert.deepEqual(inbound.b, [[['c', 0, 0, {}]]]);
});
