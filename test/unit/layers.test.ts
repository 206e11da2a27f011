import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupLayers, splitTensorName, roleOfLeaf } from '../../src/core/analysis/layers';
import { DType, TensorInfo } from '../../src/core/common/types';

function t(name: string, shape: number[], dtype: DType = 'F32'): TensorInfo {
  return { name, dtype, shape, location: { kind: 'loader', load: async () => new Uint8Array(0), littleEndian: true } };
}

test('groups PyTorch tensors into layers by name prefix, with roles and kinds', () => {
  const layers = groupLayers([
    t('features.0.weight', [8, 3, 3, 3]), t('features.0.bias', [8]),
    t('features.1.weight', [8]), t('features.1.bias', [8]), t('features.1.running_mean', [8]), t('features.1.running_var', [8]),
    t('features.1.num_batches_tracked', [], 'I64'),
    t('encoder.ln_1.weight', [16]), t('encoder.ln_1.bias', [16]),
    t('token_embedding.weight', [100, 16]),
    t('fc.weight', [10, 16]), t('fc.bias', [10]),
    t('conv1d.weight', [4, 2, 5]), t('conv3d.weight', [4, 2, 3, 3, 3]),
    t('pos', [1, 16]),
  ]);
  assert.deepEqual(layers.map((l) => [l.name, l.kind]), [
    ['features.0', 'conv'], ['features.1', 'bn'], ['encoder.ln_1', 'norm'], ['token_embedding', 'embedding'],
    ['fc', 'linear'], ['conv1d', 'conv'], ['conv3d', 'conv'], ['pos', 'other'],
  ]);
  assert.deepEqual(layers[1].tensors.map((x) => x.role), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.equal(layers[0].parameters, 8 * 27 + 8);
});

test('maps Keras names (kernel, gamma, beta, moving_mean, :0 suffixes) to the PyTorch roles', () => {
  assert.deepEqual(splitTensorName('conv2d/kernel:0'), { layer: 'conv2d', leaf: 'kernel' });
  const layers = groupLayers([
    t('conv2d/kernel:0', [8, 3, 3, 3]), t('conv2d/bias:0', [8]),
    t('batch_normalization/gamma:0', [8]), t('batch_normalization/beta:0', [8]),
    t('batch_normalization/moving_mean:0', [8]), t('batch_normalization/moving_variance:0', [8]),
    t('layer_normalization/gamma:0', [8]), t('layer_normalization/beta:0', [8]),
    t('dense/kernel:0', [10, 8]), t('embedding/embeddings:0', [50, 8]),
    t('dw/depthwise_kernel:0', [8, 1, 3, 3]),
  ]);
  assert.deepEqual(layers.map((l) => [l.name, l.kind, l.tensors.map((x) => x.role).join(',')]), [
    ['conv2d', 'conv', 'weight,bias'],
    ['batch_normalization', 'bn', 'weight,bias,running_mean,running_var'],
    ['layer_normalization', 'norm', 'weight,bias'],
    ['dense', 'linear', 'weight'],
    ['embedding', 'embedding', 'weight'],
    ['dw', 'conv', 'weight'],
  ]);
  assert.equal(roleOfLeaf('in_proj_weight'), 'other:in_proj_weight');
});

test('keeps network order as the tensors appear, or as the file declares it', () => {
  const tensors = [t('b.weight', [2, 2]), t('a.weight', [2, 2]), t('c.weight', [2, 2]), t('c_extra.weight', [2])];
  assert.deepEqual(groupLayers(tensors).map((l) => l.name), ['b', 'a', 'c', 'c_extra']);
  // Declared order a, b, c; c_extra is not declared and stays after c, its predecessor in the file.
  assert.deepEqual(groupLayers(tensors, ['a', 'b', 'c']).map((l) => l.name), ['a', 'b', 'c', 'c_extra']);
  // Keras nests weights under the layer's own name.
  const keras = [t('dense_1/dense_1/kernel:0', [2, 2]), t('dense/dense/kernel:0', [2, 2])];
  assert.deepEqual(groupLayers(keras, ['dense', 'dense_1']).map((l) => l.name), ['dense/dense', 'dense_1/dense_1']);
});
