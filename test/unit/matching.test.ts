import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupLayers } from '../../src/core/analysis/layers';
import { matchLayers, alignByOrderAndShape, stripPrefixes } from '../../src/core/analysis/matching';
import { TensorInfo } from '../../src/core/common/types';

function t(name: string, shape: number[]): TensorInfo {
  return { name, dtype: 'F32', shape, location: { kind: 'loader', load: async () => new Uint8Array(0), littleEndian: true } };
}
/** A conv layer `name` with `out` filters over `inp` channels, plus its BN. */
function convBn(name: string, inp: number, out: number): TensorInfo[] {
  return [t(`${name}.conv.weight`, [out, inp, 3, 3]), t(`${name}.bn.weight`, [out]), t(`${name}.bn.bias`, [out]),
    t(`${name}.bn.running_mean`, [out]), t(`${name}.bn.running_var`, [out])];
}
const pairsOf = (src: TensorInfo[], tgt: TensorInfo[], rules = ['module.', '_orig_mod.']) =>
  matchLayers(groupLayers(src), groupLayers(tgt), rules).map((p) => [p.source?.name ?? null, p.target?.name ?? null, p.matchedBy]);

test('pairs layers by identical name, then by name after stripping module. and _orig_mod.', () => {
  assert.equal(stripPrefixes('module._orig_mod.fc', ['module.', '_orig_mod.']), 'fc');
  const src = [...convBn('a', 3, 8), t('fc.weight', [4, 8])];
  const tgt = [...convBn('module.a', 3, 8), t('fc.weight', [4, 8])];
  assert.deepEqual(pairsOf(src, tgt), [
    ['a.conv', 'module.a.conv', 'prefix-rule'], ['a.bn', 'module.a.bn', 'prefix-rule'], ['fc', 'fc', 'name'],
  ]);
  // Without the rule, the wrapped names no longer pair by name; they still align by order and shape.
  assert.deepEqual(pairsOf(src, tgt, []).map((p) => p[2]), ['order+shape', 'order+shape', 'name']);
});

test('strips a checkpoint-dict wrapper key shared by every tensor (state_dict.module.x)', () => {
  const src = [t('conv.weight', [8, 3, 3, 3])];
  const tgt = [t('state_dict.module.conv.weight', [8, 3, 3, 3]), t('state_dict.module.fc.weight', [2, 8])];
  assert.deepEqual(pairsOf(src, tgt), [['conv', 'state_dict.module.conv', 'prefix-rule'], [null, 'state_dict.module.fc', 'none']]);
});

test('keeps a same-named layer with another shape paired (a new classifier head), not hidden', () => {
  const src = [...convBn('a', 3, 8), t('fc.weight', [1000, 8]), t('fc.bias', [1000])];
  const tgt = [...convBn('a', 3, 8), t('fc.weight', [5, 8]), t('fc.bias', [5])];
  assert.deepEqual(pairsOf(src, tgt).at(-1), ['fc', 'fc', 'name']);
});

test('aligns by order and shape around a layer inserted in the middle of the target', () => {
  const src = [...convBn('s1', 3, 8), ...convBn('s2', 8, 16), ...convBn('s3', 16, 32), t('s_fc.weight', [10, 32])];
  const tgt = [...convBn('t1', 3, 8), ...convBn('t2', 8, 16), ...convBn('extra', 16, 16), ...convBn('t3', 16, 32), t('t_fc.weight', [10, 32])];
  assert.deepEqual(pairsOf(src, tgt), [
    ['s1.conv', 't1.conv', 'order+shape'], ['s1.bn', 't1.bn', 'order+shape'],
    ['s2.conv', 't2.conv', 'order+shape'], ['s2.bn', 't2.bn', 'order+shape'],
    [null, 'extra.conv', 'none'], [null, 'extra.bn', 'none'],
    ['s3.conv', 't3.conv', 'order+shape'], ['s3.bn', 't3.bn', 'order+shape'],
    ['s_fc', 't_fc', 'order+shape'],
  ]);
});

test('aligns by order and shape around a layer removed from the middle, listing it source-only in place', () => {
  const src = [...convBn('s1', 3, 8), ...convBn('gone', 8, 8), ...convBn('s2', 8, 16), t('s_fc.weight', [10, 16])];
  const tgt = [...convBn('t1', 3, 8), ...convBn('t2', 8, 16), t('t_fc.weight', [10, 16])];
  assert.deepEqual(pairsOf(src, tgt), [
    ['s1.conv', 't1.conv', 'order+shape'], ['s1.bn', 't1.bn', 'order+shape'],
    ['gone.conv', null, 'none'], ['gone.bn', null, 'none'],
    ['s2.conv', 't2.conv', 'order+shape'], ['s2.bn', 't2.bn', 'order+shape'],
    ['s_fc', 't_fc', 'order+shape'],
  ]);
});

test('pairs a lone leftover of the same kind between the same aligned layers (a replaced head in another framework)', () => {
  const src = [...convBn('s1', 3, 8), t('s_head.weight', [1000, 8])];
  const tgt = [...convBn('t1', 3, 8), t('t_head.weight', [7, 8])];
  assert.deepEqual(pairsOf(src, tgt).at(-1), ['s_head', 't_head', 'order+shape']);
});

test('the alignment is not a zip: a shape mismatch early does not shift every later pair', () => {
  const L = (shapes: number[][]) => groupLayers(shapes.map((s, i) => t(`l${i}.weight`, s)));
  // Zipping would pair [4,4]-[5,5], [5,5]-[6,6], ...; the alignment skips the removed layer.
  const pairs = alignByOrderAndShape(L([[4, 4], [5, 5], [6, 6], [7, 7]]), L([[4, 4], [6, 6], [7, 7]]));
  assert.deepEqual(pairs, [[0, 0], [2, 1], [3, 2]]);
});

test('a Lightning checkpoint (state_dict.model.x) pairs by name with a plain state dict', () => {
  const src = [t('state_dict.model.conv1.weight', [8, 3, 3, 3]), t('state_dict.model.fc.weight', [2, 8])];
  const tgt = [t('conv1.weight', [8, 3, 3, 3]), t('fc.weight', [2, 8])];
  assert.deepEqual(pairsOf(src, tgt), [['state_dict.model.conv1', 'conv1', 'prefix-rule'], ['state_dict.model.fc', 'fc', 'prefix-rule']]);
});

test('a wrapper on one side still pairs by name when the other side adds a layer outside it', () => {
  // Source all under model.; target model.* in another order plus a new head outside the wrapper.
  const src = [t('model.a.weight', [8, 3, 3, 3]), t('model.b.weight', [8, 8, 3, 3]), t('model.fc.weight', [2, 8])];
  const tgt = [t('model.b.weight', [8, 8, 3, 3]), t('model.a.weight', [8, 3, 3, 3]), t('model.fc.weight', [2, 8]), t('head.weight', [5, 8])];
  const pairs = pairsOf(src, tgt);
  for (const n of ['a', 'b', 'fc']) assert.ok(pairs.some((p) => p[0] === `model.${n}` && p[1] === `model.${n}` && p[2] === 'name'), `model.${n} pairs by name: ${JSON.stringify(pairs)}`);
  assert.ok(pairs.some((p) => p[0] === null && p[1] === 'head'));
});
